"""Opening images safely: paths, bytes and uploads, with size limits and readable errors.

Every loader returns an RGB :class:`PIL.Image.Image` or raises ``ValueError`` naming the file,
so that a page, the Gradio demo or the batch captioner can show one line instead of crashing on
a corrupt, truncated or huge file. The pixel count is checked from the header before any pixel
is decoded, so a decompression bomb costs nothing.

Example::

    image = load_image("scene.tif")                        # a path
    image = load_image(upload.getvalue(), name=upload.name)  # bytes from an upload
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 100 * 1024 * 1024  # refuse files larger than this (100 MB)
MAX_IMAGE_PIXELS = 100_000_000  # refuse images with more pixels than this (10,000 x 10,000)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def image_name(source: Any, name: str | None = None) -> str:
    """A short name for an image source, used in messages and results."""
    if name:
        return str(name)
    if isinstance(source, (str, Path)):
        return str(source)
    for attr in ("name", "filename"):
        value = getattr(source, attr, None)
        if isinstance(value, str) and value:
            return value
    return "<image>"


def load_image(
    source: Any,
    name: str | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> Image.Image:
    """Open an image as RGB, refusing corrupt, truncated and huge files.

    Args:
        source: a path, raw bytes, a binary file-like object (a Streamlit ``UploadedFile``, a
            Gradio upload path) or a PIL image.
        name (None): how to call the image in error messages (default: the path or upload name).
        max_bytes (100 MB): largest file accepted.
        max_pixels (100 M): largest width x height accepted.

    Returns:
        The decoded image in RGB mode.

    Raises:
        ValueError: the file is missing, too large, not an image or cannot be decoded; the
            message names the file.
    """
    label = image_name(source, name)
    if isinstance(source, Image.Image):
        _check_pixels(source.size, label, max_pixels)
        return _to_rgb(source)
    data = _read_bytes(source, label, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            with Image.open(io.BytesIO(data)) as image:
                _check_pixels(image.size, label, max_pixels)
                image.load()
                return _to_rgb(image)
    except ValueError:
        raise
    except Image.DecompressionBombError:
        raise ValueError(
            f"{label}: too many pixels (over {max_pixels / 1e6:.0f} megapixels); resize or crop it first"
        ) from None
    except UnidentifiedImageError:
        raise ValueError(f"{label}: not a readable image (unknown format or corrupt file)") from None
    except (OSError, SyntaxError) as e:
        raise ValueError(f"{label}: not a readable image (corrupt or truncated: {e})") from None


def _read_bytes(source: Any, label: str, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ValueError(f"{label}: no such image file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ValueError(
                f"{label}: file is {size / 2**20:.0f} MB, larger than the {max_bytes / 2**20:.0f} MB limit"
            )
        data = path.read_bytes()
    elif hasattr(source, "getvalue"):
        data = source.getvalue()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
    else:
        raise ValueError(f"{label}: cannot read an image from a {type(source).__name__}")
    if len(data) > max_bytes:
        raise ValueError(f"{label}: file is larger than the {max_bytes / 2**20:.0f} MB limit")
    if not data:
        raise ValueError(f"{label}: the file is empty")
    return data


def _check_pixels(size: tuple[int, int], label: str, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ValueError(
            f"{label}: {width} x {height} pixels is larger than the limit of {max_pixels / 1e6:.0f} megapixels; "
            "resize or crop it first"
        )
    if width < 1 or height < 1:
        raise ValueError(f"{label}: the image has no pixels")


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of ``image``; 16-bit and float rasters (GeoTIFF bands) are stretched to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        array = np.asarray(image, dtype=np.float32)
        low, high = np.percentile(array, [1, 99]) if array.size else (0.0, 1.0)
        scaled = np.clip((array - low) / max(float(high - low), 1e-6) * 255, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, mode="L").convert("RGB")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")
