"""Opening images safely: paths, bytes and uploads, with size limits and readable errors.

Every loader returns an RGB :class:`PIL.Image.Image` or raises ``ValueError`` naming the file,
so that a page, the Gradio demo or the batch captioner can show one line instead of crashing on
a corrupt, truncated or huge file. The pixel count is checked from the header before any pixel
is decoded, so a decompression bomb costs nothing. 16-bit and multi-band rasters (GeoTIFFs) are
read with rasterio and stretched to 8 bits; :func:`read_image` says what was done.

Example::

    image = load_image("scene.tif")                        # a path
    image = load_image(upload.getvalue(), name=upload.name)  # bytes from an upload
    loaded = read_image("sentinel.tif", bands="4,3,2")       # loaded.image, loaded.note
"""

from __future__ import annotations

import errno
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 100 * 1024 * 1024  # refuse files larger than this (100 MB)
MAX_IMAGE_PIXELS = 100_000_000  # refuse images with more pixels than this (10,000 x 10,000)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I", "F")  # Pillow modes of 16/32-bit and float pixels
GDAL_NODATA_TAG = 42113  # the TIFF tag of GDAL's nodata value, which Pillow does not apply


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


@dataclass(frozen=True)
class LoadedImage:
    """An image made ready to show or caption, and what was done to make it so."""

    image: Image.Image  # RGB
    note: str | None = None  # None for an ordinary 8-bit image; else one sentence (bands, bit depth, stretch)


def read_image(
    source: Any,
    name: str | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    bands: str | Sequence[int] | None = None,
) -> LoadedImage:
    """Open an image as RGB, refusing corrupt, truncated and huge files, and say how it was shown.

    8-bit images that Pillow reads (JPEG, PNG, RGB TIFF...) are decoded by Pillow as they are.
    16-bit, float and multi-band rasters (GeoTIFFs: 12-bit data, 4+ bands) are read with rasterio,
    their bands chosen and stretched to 8 bits as :mod:`rsic_core.data.rasters` describes.

    Args:
        source: a path, raw bytes, a binary file-like object (a Streamlit ``UploadedFile``, a
            Gradio upload path) or a PIL image; a path ``<file>.parquet#row=N`` (or ``.arrow``) is
            the image cell of a hub dataset (:mod:`rsic_core.data.cells`).
        name (None): how to call the image in error messages (default: the path or upload name).
        max_bytes (100 MB): largest file accepted.
        max_pixels (100 M): largest width x height accepted.
        bands (None): 1-based band numbers to show, ``"4,3,2"`` or ``[4, 3, 2]`` (1 or 3 of them);
            default: red, green and blue from the file's metadata, else the first three.

    Returns:
        The RGB image and a note (None for an ordinary 8-bit RGB image shown as it is).

    Raises:
        ValueError: the file is missing, too large, not an image or cannot be decoded, or a band
            number is out of range; the message names the file.
    """
    from rsic_core.data import rasters

    label = image_name(source, name)
    wanted = rasters.parse_bands(bands, label)
    if isinstance(source, Image.Image):
        check_pixels(source.size, label, max_pixels)
        if wanted is None and source.mode not in HIGH_BIT_MODES:
            return LoadedImage(_to_rgb(source))
        return _from_pixels(source, label, wanted)
    data = _read_bytes(source, label, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data": a bad file raises below
            with Image.open(io.BytesIO(data)) as image:
                check_pixels(image.size, label, max_pixels)
                reader = _reader_for(image, data, wanted)
                if reader == "raster":
                    return _shown(
                        rasters.read_raster(data, label, wanted, lambda size: check_pixels(size, label, max_pixels))
                    )
                image.load()
                return _from_pixels(image, label, wanted) if reader == "pixels" else LoadedImage(_to_rgb(image))
    except ValueError:
        raise
    except Image.DecompressionBombError:
        raise ValueError(
            f"{label}: too many pixels (over {max_pixels / 1e6:.0f} megapixels); resize or crop it first"
        ) from None
    except UnidentifiedImageError:
        if _is_tiff(data):  # multi-band and float TIFFs that Pillow does not know
            return _shown(rasters.read_raster(data, label, wanted, lambda size: check_pixels(size, label, max_pixels)))
        raise ValueError(f"{label}: not a readable image (unknown format or corrupt file)") from None
    except (OSError, SyntaxError) as e:
        raise ValueError(f"{label}: not a readable image (corrupt or truncated: {e})") from None


def load_image(
    source: Any,
    name: str | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    bands: str | Sequence[int] | None = None,
) -> Image.Image:
    """The RGB image of :func:`read_image` (same arguments), without the note."""
    return read_image(source, name=name, max_bytes=max_bytes, max_pixels=max_pixels, bands=bands).image


def _is_tiff(data: bytes) -> bool:
    return data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF and BigTIFF


def _reader_for(image: Image.Image, data: bytes, wanted) -> str:
    """How to decode ``image``: "pillow" (as it is), "pixels" (Pillow's pixels, stretched) or "raster" (GDAL).

    Pillow reads 16-bit RGB files keeping only the high byte (12-bit data comes out nearly black)
    and drops or misreads bands beyond RGB: those files go to rasterio. So do TIFFs with a nodata
    value, which Pillow would show as if it were data.
    """
    rawmodes = [str(getattr(tile, "args", None) or "") for tile in image.tile]
    truncated = image.mode not in HIGH_BIT_MODES and any(re.search(r";(16|32)", raw) for raw in rawmodes)
    samples = image.tag_v2.get(277, 1) if image.format == "TIFF" else 1
    extra_bands = samples > 3 and "A" not in image.mode and image.mode != "CMYK"  # RGBX, RGB + NIR...
    nodata = image.format == "TIFF" and GDAL_NODATA_TAG in image.tag_v2
    special = wanted is not None or image.mode in HIGH_BIT_MODES or truncated or extra_bands or nodata
    if special and _is_tiff(data) or truncated:
        return "raster"
    return "pixels" if special else "pillow"


def _from_pixels(image: Image.Image, label: str, wanted) -> LoadedImage:
    """Bands of an image Pillow decoded correctly (16-bit grey, float, or bands asked for), stretched."""
    import numpy as np

    from rsic_core.data import rasters

    plain = image if image.mode in (*HIGH_BIT_MODES, "L", "RGB") else _to_rgb(image)
    return _shown(rasters.raster_of_array(np.asarray(plain), plain.getbands(), label, wanted))


def _shown(raster) -> LoadedImage:
    from rsic_core.data import rasters

    pixels, note = rasters.stretch(raster)
    return LoadedImage(Image.fromarray(pixels, mode="RGB"), note)


def _read_bytes(source: Any, label: str, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        data = _read_file(Path(source).expanduser(), label, max_bytes)
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


def _read_file(path: Path, label: str, max_bytes: int) -> bytes:
    try:
        if not path.is_file():
            from rsic_core.data.cells import image_bytes

            data = image_bytes(path, label)  # ``data/train.parquet#row=3``: a hub dataset's image
            if data is None:
                raise ValueError(f"{label}: no such image file")
            return data
        size = path.stat().st_size
        if size > max_bytes:
            raise ValueError(
                f"{label}: file is {size / 2**20:.0f} MB, larger than the {max_bytes / 2**20:.0f} MB limit"
            )
        return path.read_bytes()
    except OSError as e:  # a name over 255 bytes, no permission
        reason = "the file name is too long" if e.errno == errno.ENAMETOOLONG else e.strerror or str(e)
        raise ValueError(f"{label}: cannot be read ({reason})") from None


def check_pixels(size: tuple[int, int], label: str, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ValueError(
            f"{label}: {width} x {height} pixels is larger than the limit of {max_pixels / 1e6:.0f} megapixels; "
            "resize or crop it first"
        )
    if width < 1 or height < 1:
        raise ValueError(f"{label}: the image has no pixels")


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of an 8-bit ``image``; transparent parts on white."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def images_under(folder: Path) -> list[Path]:
    """The image files (by :data:`IMAGE_EXTENSIONS`, any case) anywhere under ``folder``, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)


def collect_images(paths: list[str]) -> list[Path]:
    """The files named, with folders expanded to the images they hold (sorted); files are kept as named.

    A missing or broken file is kept, so that it gets its own error line when read instead of a crash.

    Raises:
        FileNotFoundError: nothing at all was found.
    """
    found = []
    for name in paths:
        path = Path(name).expanduser()
        found += images_under(path) if path.is_dir() else [path]
    if not found:
        raise FileNotFoundError(f"no image found in {', '.join(paths)}")
    return found
