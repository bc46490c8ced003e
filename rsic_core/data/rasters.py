"""Rasters that are not 8-bit RGB (16-bit, float, multi-band GeoTIFFs) shown as 8-bit RGB, saying how.

Remote-sensing imagery often has 12-bit values in 16-bit bands and four or more bands (blue, green,
red, near infrared...). Pillow keeps the high byte of such files (nearly black) or cannot open them,
so :func:`rsic_core.data.images.read_image` hands them to :func:`read_raster` (rasterio/GDAL).

What is done, and said in the note:

- bands: the ones asked for (1-based, 1 or 3 of them), else red, green and blue where the file's
  colour interpretation names them ("RGB from metadata"), else the first three (one band: grey);
- 8-bit bands are shown as they are; other bands are stretched one by one: the 2nd and 98th
  percentiles of the band's valid pixels (``numpy.percentile``, linear) map to 0 and 255, values
  outside are clipped, ``round((v - p2) / (p98 - p2) * 255)``;
- nodata pixels (the file's nodata value or mask) are left out of the percentiles and shown black.

Refused, one sentence naming the file: an image whose every pixel is nodata (NaN, infinite or the
file's nodata value: there is nothing to caption, and a black picture would be captioned as if real),
and complex-valued bands (radar SLC), which have no brightness to show until converted to amplitude.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

STRETCH_PERCENTILES = (2.0, 98.0)  # each band's low and high percentile map to 0 and 255
RASTER_DRIVERS = ["GTiff", "PNG"]  # GDAL drivers allowed: never VRT or others that open further files


@dataclass(frozen=True)
class Raster:
    """Bands chosen from one raster, ready to stretch."""

    bands: np.ma.MaskedArray  # (n, height, width), n = 1 or 3, masked where nodata
    numbers: tuple[int, ...]  # which bands of the file (1-based)
    how: str  # why these bands: "chosen", "RGB from metadata", "the first three", ...
    count: int  # bands in the file
    dtype: str  # numpy dtype of the file's bands
    label: str = "<image>"  # the file, for messages


def parse_bands(bands: str | Sequence[int] | None, label: str) -> tuple[int, ...] | None:
    """1-based band numbers from ``"4,3,2"`` or ``[4, 3, 2]``; None when none were asked for.

    Raises:
        ValueError: not whole numbers, or not 1 or 3 of them.
    """
    if bands is None or (isinstance(bands, str) and not bands.strip()):
        return None
    items = re.split(r"[,\s]+", bands.strip()) if isinstance(bands, str) else list(bands)
    try:
        numbers = tuple(int(b) for b in items if b != "")
    except (TypeError, ValueError):
        raise ValueError(f"{label}: bands must be 1-based band numbers such as 4,3,2 (got {bands!r})") from None
    if len(numbers) not in (1, 3):
        raise ValueError(f"{label}: give 1 band (grey) or 3 bands (red, green, blue), got {len(numbers)}")
    return numbers


def choose_bands(count: int, interpretation: Sequence[str], wanted: tuple[int, ...] | None, label: str):
    """(band numbers, how) to show for a raster of ``count`` bands.

    Args:
        count: bands in the file.
        interpretation: each band's colour interpretation, lower case ("red", "gray", "undefined"...).
        wanted: band numbers asked for (1-based), or None for the default.
        label: the file, for messages.

    Raises:
        ValueError: a band number out of range, naming the file and its band count.
    """
    if wanted is not None:
        for number in wanted:
            if not 1 <= number <= count:
                plural = "band" if count == 1 else "bands"
                raise ValueError(
                    f"{label}: there is no band {number}: the image has {count} {plural} (numbered 1-{count})"
                )
        return wanted, "chosen"
    names = [str(n).lower() for n in interpretation]
    if all(c in names for c in ("red", "green", "blue")):
        return tuple(names.index(c) + 1 for c in ("red", "green", "blue")), "RGB from metadata"
    if count >= 3:
        return (1, 2, 3), "the first three"
    return (1,), "the first band" if count > 1 else "the only band"


def check_dtype(dtype: str, label: str) -> None:
    """Refuse band values that are no brightness: complex numbers (radar SLC).

    Raises:
        ValueError: complex-valued bands, naming the file and the type.
    """
    if np.dtype(dtype).kind == "c":
        raise ValueError(
            f"{label}: complex-valued pixels ({dtype}) are not an image; convert them to amplitude (the absolute value) first"
        )


def no_data_left(mask: np.ndarray, label: str, what: str = "show or caption") -> None:
    """Refuse an image whose every pixel is nodata (``mask`` True everywhere).

    Raises:
        ValueError: one sentence naming the file.
    """
    if mask.size and bool(np.all(mask)):
        raise ValueError(
            f"{label}: every pixel is nodata (NaN, infinite or the file's nodata value): nothing to {what}"
        )


def read_raster(
    data: bytes, label: str, wanted: tuple[int, ...] | None, check_size: Callable[[tuple[int, int]], None]
) -> Raster:
    """Read the chosen bands of a TIFF/PNG held in ``data`` with rasterio.

    Args:
        data: the file's bytes.
        label: the file, for messages.
        wanted: band numbers asked for (1-based), or None for the default.
        check_size: called with (width, height) from the header before any pixel is read; raises
            ``ValueError`` for an image too large.

    Raises:
        ValueError: too many pixels, a band out of range, or a file GDAL cannot read.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), MemoryFile(data) as memory:
                with memory.open(driver=RASTER_DRIVERS) as source:
                    check_size((source.width, source.height))
                    interpretation = [c.name for c in source.colorinterp]
                    numbers, how = choose_bands(source.count, interpretation, wanted, label)
                    check_dtype(source.dtypes[numbers[0] - 1], label)
                    bands = source.read(list(numbers), masked=True)
                    return Raster(bands, numbers, how, source.count, str(source.dtypes[numbers[0] - 1]), label)
        except RasterioError:
            raise ValueError(f"{label}: not a readable image (corrupt or truncated raster)") from None


def raster_of_array(array: np.ndarray, names: Sequence[str], label: str, wanted: tuple[int, ...] | None) -> Raster:
    """A :class:`Raster` from pixels already decoded (a PIL image as ``(height, width[, bands])``)."""
    planes = array[np.newaxis] if array.ndim == 2 else np.moveaxis(array, -1, 0)
    interpretation = [{"R": "red", "G": "green", "B": "blue"}.get(n, "undefined") for n in names]
    numbers, how = choose_bands(planes.shape[0], interpretation, wanted, label)
    check_dtype(str(planes.dtype), label)
    bands = np.ma.masked_array(planes[[n - 1 for n in numbers]])
    return Raster(bands, numbers, how, planes.shape[0], str(planes.dtype), label)


def stretch(raster: Raster) -> tuple[np.ndarray, str]:
    """(height x width x 3 uint8 pixels, one sentence of what was done) for ``raster``.

    Raises:
        ValueError: every pixel is nodata (see :func:`no_data_left`).
    """
    dtype = np.dtype(raster.dtype)
    bands = np.ma.masked_invalid(raster.bands) if dtype.kind == "f" else raster.bands
    no_data_left(np.ma.getmaskarray(bands).all(axis=0), raster.label)  # no band holds data anywhere
    planes, ranges = [], []
    for band in bands:
        mask = np.ma.getmaskarray(band)
        if dtype == np.uint8:
            planes.append(np.where(mask, 0, band.filled(0)).astype(np.uint8))
            continue
        valid = band.compressed()
        low, high = np.percentile(valid, STRETCH_PERCENTILES) if valid.size else (0.0, 0.0)
        ranges.append((float(low), float(high)))
        values = band.filled(low).astype(np.float64)
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        planes.append(np.where(mask, 0, np.clip(np.rint(scaled), 0, 255)).astype(np.uint8))
    pixels = np.stack(planes * 3 if len(planes) == 1 else planes, axis=-1)
    return pixels, _note(raster, dtype, ranges)


def _note(raster: Raster, dtype: np.dtype, ranges: list[tuple[float, float]]) -> str:
    depth = f"{dtype.itemsize * 8}-bit" + {"f": " float", "i": " signed"}.get(dtype.kind, "")
    plural = "band" if raster.count == 1 else "bands"
    numbers = ",".join(str(n) for n in raster.numbers)
    shown = f"showed band {numbers} as grey" if len(raster.numbers) == 1 else f"showed bands {numbers}"
    note = f"{depth}, {raster.count} {plural}: {shown} ({raster.how})"
    if ranges:
        low, high = STRETCH_PERCENTILES
        spans = ", ".join(f"b{n} {_number(lo)}-{_number(hi)}" for n, (lo, hi) in zip(raster.numbers, ranges))
        each = "each band " if len(ranges) > 1 else ""
        note += f", stretched {each}{low:g}-{high:g} % ({spans})"
    masked = int(np.ma.getmaskarray(raster.bands).any(axis=0).sum())
    if masked:
        note += f"; {masked} nodata pixels left out and shown black"
    return note


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"
