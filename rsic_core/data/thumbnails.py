"""Gallery thumbnails: small JPEGs made fast (JPEG draft decoding) for the dataset explorer."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError


def thumbnail_bytes(path: str | Path, size: int = 192, quality: int = 85) -> bytes:
    """JPEG bytes of ``path`` scaled to fit ``size``×``size``.

    Raises:
        ValueError: the file is missing or is not a readable image (the message names it).
    """
    try:
        with Image.open(path) as im:
            im.draft("RGB", (size, size))  # JPEG: decode at reduced scale; no-op for other formats
            im = im.convert("RGB")
            im.thumbnail((size, size))
    except FileNotFoundError as e:
        raise ValueError(f"{path}: image file is missing") from e
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"{path}: cannot read image ({e})") from e
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
