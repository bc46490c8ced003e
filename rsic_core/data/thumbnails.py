"""Gallery thumbnails: small JPEGs for the dataset explorer, read by the one image reader."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rsic_core.data.images import read_image


@dataclass(frozen=True)
class Thumbnail:
    data: bytes  # JPEG
    note: str | None  # what was done to show the image (16-bit, bands...), None for an ordinary image


def make_thumbnail(
    path: str | Path, size: int = 192, quality: int = 85, bands: str | Sequence[int] | None = None
) -> Thumbnail:
    """A JPEG of ``path`` scaled to fit ``size``×``size``, read as :func:`rsic_core.data.images.read_image` reads it.

    Raises:
        ValueError: the file is missing, too large or not a readable image (the message names it).
    """
    loaded = read_image(path, bands=bands)
    image = loaded.image
    image.thumbnail((size, size))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return Thumbnail(buf.getvalue(), loaded.note)


def thumbnail_bytes(path: str | Path, size: int = 192, quality: int = 85) -> bytes:
    """JPEG bytes of ``path`` scaled to fit ``size``×``size`` (see :func:`make_thumbnail`)."""
    return make_thumbnail(path, size, quality).data
