"""Bad inputs of images: 16-bit and multi-band rasters, band choices, and the broken files that held up before.

A 12-bit GeoTIFF is a "silently wrong result" case: it came out nearly black; its case checks that
the image now uses the full 0-255 range and that the note says what was done. The broken dataset
images (corrupt, truncated, empty, a bomb, a text file named .jpg) are each the only problem of a
two-image dataset validated with its images decoded. Images with no information (every pixel NaN or
nodata) and complex-valued rasters get an error like a corrupt file, and in ``rsic caption`` and
``rsic evaluate`` the other images go on.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from tests.bad_inputs import BadInput, Outcome
from tests.bad_inputs.data import karpathy_dataset, png_file, validated
from tests.bad_inputs.runs import _leaves_no_run

# --- inputs ----------------------------------------------------------------------------------------------------


def _image_file(tmp: Path, kind: str) -> Path:
    """A one-image dataset whose image is broken in one way (what held up before, and must stay so)."""
    folder = karpathy_dataset(tmp / "ds", ["a.png", "b.jpg"], png=False)
    png_file(folder / "images" / "a.png")
    image = folder / "images" / "b.jpg"
    if kind == "corrupt":
        image.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    elif kind == "truncated":
        Image.new("RGB", (64, 64), (200, 10, 10)).save(image, "JPEG")
        image.write_bytes(image.read_bytes()[:300])
    elif kind == "empty":
        image.write_bytes(b"")
    elif kind == "bomb":
        Image.new("1", (12000, 12000)).save(image, "PNG")  # 144 megapixels in a few kB, named .jpg
    elif kind == "mislabelled":
        image.write_text("this is a text file named .jpg\n")
    return folder


def _rasters(tmp: Path, count: int = 4, height: int = 24, width: int = 24, write: bool = True) -> Path:
    """A 12-bit ``count``-band uint16 GeoTIFF."""
    import numpy as np
    import rasterio

    path = tmp / "scene.tif"
    profile = {"driver": "GTiff", "count": count, "height": height, "width": width, "dtype": "uint16"}
    if not write:
        profile |= {"tiled": True, "sparse_ok": True}  # the header of a huge image, a few kB on disk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(path, "w", **profile) as dst:
            if write:
                dst.write(np.random.default_rng(0).integers(0, 4096, size=(count, height, width)).astype(np.uint16))
    return path


def _truncated_raster(tmp: Path) -> Path:
    path = _rasters(tmp)
    path.write_bytes(path.read_bytes()[:2000])
    return path


# --- the way to give them to the project ------------------------------------------------------------


def _image(path, **kwargs) -> Outcome:
    """The note of ``read_image`` (checked to use the full 0-255 range), or its refusal."""
    import numpy as np

    from rsic_core.data.images import read_image

    try:
        loaded = read_image(path, **kwargs)
    except ValueError as e:
        return Outcome(message=str(e))
    pixels = np.asarray(loaded.image)
    assert pixels.min() == 0 and pixels.max() == 255, "a 12-bit image must not come out nearly black"
    return Outcome(message=loaded.note or "")


# --- cases -----------------------------------------------------------------------------------------------------

CASES = [
    BadInput(
        "image: a 12-bit 4-band GeoTIFF (was nearly black)",
        _rasters,
        _image,
        r"^16-bit, 4 bands: showed bands 1,2,3 \(the first three\), stretched each band 2-98 % \(b1 [\d.]+-\d+, b2 ",
    ),
    BadInput(
        "image: a 12-bit 3-band GeoTIFF (was nearly black)",
        lambda tmp: _rasters(tmp, count=3),
        _image,
        r"^16-bit, 3 bands: showed bands 1,2,3 .*stretched each band 2-98 %",
    ),
    BadInput(
        "image: band 5 of a 4-band image",
        _rasters,
        lambda path: _image(path, bands="5,3,2"),
        r"scene\.tif: there is no band 5: the image has 4 bands \(numbered 1-4\)",
    ),
    BadInput(
        "image: bands given as names",
        _rasters,
        lambda path: _image(path, bands="red,green,blue"),
        r"scene\.tif: bands must be 1-based band numbers such as 4,3,2",
    ),
    BadInput(
        "image: two bands asked for", _rasters, lambda path: _image(path, bands="4,3"), r"give 1 band \(grey\) or 3"
    ),
    BadInput(
        "image: a truncated 4-band GeoTIFF",
        _truncated_raster,
        _image,
        r"scene\.tif: not a readable image \(corrupt or truncated",
    ),
    BadInput(
        "image: a 4-band GeoTIFF whose header claims 20000 x 20000 pixels",
        lambda tmp: _rasters(tmp, height=20000, width=20000, write=False),
        _image,
        r"scene\.tif: 20000 x 20000 pixels is larger than the limit of 100 megapixels",
    ),
] + [
    BadInput(
        f"dataset image: {kind}",
        lambda tmp, kind=kind: _image_file(tmp, kind),
        validated,
        r"b\.jpg: " + expected,
        good=("a.png",),
    )
    for kind, expected in {
        "corrupt": r"image b\.jpg: not a readable image",
        "truncated": r"image b\.jpg: not a readable image \(corrupt or truncated",
        "empty": r"image b\.jpg: the file is empty",
        "bomb": r"image b\.jpg: 12000 x 12000 pixels is larger than the limit",
        "mislabelled": r"image b\.jpg: not a readable image \(unknown format or corrupt file\)",
    }.items()
]


# --- images with no information, and pixels that are no image (issue 23) ---------------------------------------


def _filled(tmp: Path, value, dtype: str, count: int = 3, nodata=None, name: str = "empty.tif") -> Path:
    """A ``count``-band GeoTIFF whose every pixel is ``value`` (NaN, the nodata value, a complex number)."""
    import numpy as np
    import rasterio

    path = tmp / name
    profile = {"driver": "GTiff", "count": count, "height": 32, "width": 32, "dtype": dtype, "nodata": nodata}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.full((count, 32, 32), value, dtype=dtype))
    return path


def _folder_with(tmp: Path, value, dtype: str, nodata=None) -> dict:
    """A folder of a good PNG and one raster of ``value`` pixels: the batch must go on past the raster."""
    (tmp / "scenes").mkdir()
    Image.new("RGB", (48, 48), (90, 140, 60)).save(tmp / "scenes" / "field.png")
    _filled(tmp / "scenes", value, dtype, nodata=nodata, name="odd.tif")
    return {"folder": tmp / "scenes", "out": tmp / "preds.jsonl"}


def _caption_folder(built: dict) -> Outcome:
    """``rsic caption FOLDER --out preds.jsonl``: the odd raster's error line; the good image must be captioned."""
    import json

    from tests.bad_inputs import cli

    outcome = cli(["caption", built["folder"], "--model", "demo", "--gen-max-new-tokens", 4, "--out", built["out"]])
    lines = [json.loads(line) for line in built["out"].read_text().splitlines()] if built["out"].exists() else []
    good = [line for line in lines if line["image"].endswith("field.png") and line["caption"] and not line["error"]]
    assert len(lines) == 2 and good, f"the batch did not go on past the bad raster: {lines}"
    return outcome


CASES += [
    BadInput(
        "image: a float GeoTIFF whose every pixel is NaN (was captioned as a black image)",
        lambda tmp: _filled(tmp, float("nan"), "float32"),
        _image,
        r"empty\.tif: every pixel is nodata \(NaN, infinite or the file's nodata value\): nothing to show or caption",
    ),
    BadInput(
        "image: a 16-bit GeoTIFF whose every pixel is the nodata value",
        lambda tmp: _filled(tmp, 0, "uint16", nodata=0),
        _image,
        r"empty\.tif: every pixel is nodata",
    ),
    BadInput(
        "image: an 8-bit GeoTIFF whose every pixel is the nodata value",
        lambda tmp: _filled(tmp, 255, "uint8", nodata=255),
        _image,
        r"empty\.tif: every pixel is nodata",
    ),
    BadInput(
        "image: a complex-valued raster (radar SLC)",
        lambda tmp: _filled(tmp, 1 + 2j, "complex64", count=1),
        _image,
        r"empty\.tif: complex-valued pixels \(complex64\) are not an image; convert them to amplitude",
    ),
    BadInput(
        "rsic caption: a complex-valued raster in a folder (lost the whole batch)",
        lambda tmp: _folder_with(tmp, 1 + 2j, "complex64"),
        _caption_folder,
        r"odd\.tif: complex-valued pixels \(complex64\) are not an image",
        exit_code=1,
        writes=("preds.jsonl",),
    ),
    BadInput(
        "rsic caption: an all-NaN raster in a folder (was captioned and scored as real)",
        lambda tmp: _folder_with(tmp, float("nan"), "float32"),
        _caption_folder,
        r"odd\.tif: every pixel is nodata",
        exit_code=1,
        writes=("preds.jsonl",),
    ),
]


def _nan_split(tmp: Path) -> Path:
    """A dataset whose only test image is an all-NaN float GeoTIFF."""
    folder = karpathy_dataset(tmp / "ds", ["odd.tif"], splits=["test"], png=False)
    _filled(folder / "images", float("nan"), "float32", name="odd.tif")
    return folder


CASES += [
    BadInput(
        "rsic evaluate: a split whose only image is all NaN (was captioned and scored as real)",
        _nan_split,
        lambda data: _leaves_no_run(["evaluate", "--data", data, "--model", "demo", "--no-eval-efficiency"]),
        r"none of the 1 images of split 'test' could be read \(.*odd\.tif: every pixel is nodata.*\); no run was written",
        exit_code=2,
    ),
]
