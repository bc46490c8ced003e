"""The one image reader: 8-bit files as before, 16-bit and multi-band GeoTIFFs stretched and explained."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rsic_core.data.images import LoadedImage, load_image, read_image
from rsic_core.data.thumbnails import thumbnail_bytes

HEIGHT, WIDTH = 20, 50  # 1000 pixels per band


def _geotiff(path: Path, bands: np.ndarray, colorinterp=None, nodata=None, georeferenced=False, photometric=None):
    """Write ``bands`` (count, height, width) as a GeoTIFF with rasterio."""
    import rasterio
    from affine import Affine

    profile = {"driver": "GTiff", "count": bands.shape[0], "height": bands.shape[1], "width": bands.shape[2]}
    profile |= {"dtype": str(bands.dtype), "nodata": nodata}
    if georeferenced:
        profile |= {"crs": "EPSG:32633", "transform": Affine(10, 0, 500000, 0, -10, 4600000)}
    if photometric:
        profile["photometric"] = photometric
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NotGeoreferencedWarning for the plain ones
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(bands)
            if colorinterp:
                dst.colorinterp = colorinterp
    return path


def _twelve_bit(count: int, seed: int = 0) -> np.ndarray:
    """Bands of 12-bit values (0-4095) stored as uint16, each band on its own range."""
    rng = np.random.default_rng(seed)
    bands = [rng.integers(100 + 300 * b, 1500 + 600 * b, size=(HEIGHT, WIDTH)) for b in range(count)]
    return np.stack(bands).astype(np.uint16)


def _expected_stretch(band: np.ndarray) -> np.ndarray:
    low, high = np.percentile(band, [2, 98])
    return np.clip(np.rint((band.astype(np.float64) - low) / (high - low) * 255), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("count", [3, 4])
def test_twelve_bit_tiffs_use_the_full_range_instead_of_black(tmp_path, count):
    bands = _twelve_bit(count)
    loaded = read_image(_geotiff(tmp_path / "scene.tif", bands))
    pixels = np.asarray(loaded.image)
    assert loaded.image.mode == "RGB" and pixels.shape == (HEIGHT, WIDTH, 3)
    for channel in range(3):  # every channel spans 0-255, its middle is mid-grey (Pillow gave 0-15)
        assert pixels[..., channel].min() == 0 and pixels[..., channel].max() == 255
        assert 80 < np.median(pixels[..., channel]) < 180
    assert loaded.note.startswith(f"16-bit, {count} bands: showed bands 1,2,3 (the first three), stretched")


def test_the_stretch_maps_each_bands_2nd_and_98th_percentiles_to_0_and_255(tmp_path):
    ramp = np.arange(HEIGHT * WIDTH, dtype=np.uint16).reshape(HEIGHT, WIDTH)  # 0..999
    bands = np.stack([ramp, ramp * 2 + 1000, ramp * 4]).astype(np.uint16)
    loaded = read_image(_geotiff(tmp_path / "ramp.tif", bands))
    pixels = np.asarray(loaded.image)
    for channel in range(3):
        assert np.array_equal(pixels[..., channel], _expected_stretch(bands[channel]))
    # 2nd percentile of 0..999 (linear) = 19.98, 98th = 979.02; round((v - 19.98) / 959.04 * 255)
    red = pixels[..., 0].ravel()
    assert (red[:22] == 0).all() and red[22] == 1 and red[500] == 128  # 480.02 / 959.04 * 255 = 127.6
    assert red[977] == 254 and (red[978:] == 255).all()
    assert "(b1 20-979, b2 1040-2958, b3 79.9-3916)" in loaded.note


def test_bands_are_chosen_by_their_1_based_numbers(tmp_path):
    bands = _twelve_bit(4)
    path = _geotiff(tmp_path / "four.tif", bands)
    as_text = read_image(path, bands="4,3,2")
    as_list = read_image(path, bands=[4, 3, 2])
    assert np.array_equal(np.asarray(as_text.image), np.asarray(as_list.image))
    assert np.array_equal(np.asarray(as_text.image)[..., 0], _expected_stretch(bands[3]))
    assert np.array_equal(np.asarray(as_text.image)[..., 2], _expected_stretch(bands[1]))
    assert "showed bands 4,3,2 (chosen)" in as_text.note and "b4 " in as_text.note
    grey = np.asarray(read_image(path, bands="4").image)
    assert np.array_equal(grey[..., 0], grey[..., 2]) and np.array_equal(grey[..., 1], _expected_stretch(bands[3]))
    assert np.array_equal(np.asarray(load_image(path, bands="4,3,2")), np.asarray(as_text.image))


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("5,3,2", r"four\.tif: there is no band 5: the image has 4 bands \(numbered 1-4\)"),
        ("0,1,2", r"there is no band 0: the image has 4 bands"),
        ("4,3", r"give 1 band \(grey\) or 3 bands"),
        ("red", r"bands must be 1-based band numbers such as 4,3,2"),
    ],
)
def test_a_band_out_of_range_names_the_file_and_the_band_count(tmp_path, bands, message):
    path = _geotiff(tmp_path / "four.tif", _twelve_bit(4))
    with pytest.raises(ValueError, match=message):
        read_image(path, bands=bands)


def test_rgb_is_taken_from_the_colour_metadata(tmp_path):
    from rasterio.enums import ColorInterp

    bands = _twelve_bit(4)  # stored blue, green, red, near infrared (as many satellites deliver)
    order = [ColorInterp.blue, ColorInterp.green, ColorInterp.red, ColorInterp.undefined]
    loaded = read_image(_geotiff(tmp_path / "bgrn.tif", bands, colorinterp=order))
    assert "showed bands 3,2,1 (RGB from metadata)" in loaded.note
    assert np.array_equal(np.asarray(loaded.image)[..., 0], _expected_stretch(bands[2]))
    rgb = read_image(_geotiff(tmp_path / "rgb.tif", _twelve_bit(3), photometric="RGB"))
    assert "showed bands 1,2,3 (RGB from metadata)" in rgb.note


def test_a_georeferenced_tiff_reads_like_any_other(tmp_path):
    bands = _twelve_bit(4, seed=3)
    geo = read_image(_geotiff(tmp_path / "geo.tif", bands, georeferenced=True))
    plain = read_image(_geotiff(tmp_path / "plain.tif", bands))
    assert np.array_equal(np.asarray(geo.image), np.asarray(plain.image)) and geo.note == plain.note


def test_nodata_is_left_out_of_the_percentiles_and_shown_black(tmp_path):
    bands = _twelve_bit(3)
    bands[:, :5, :] = 0  # a nodata border (5 rows = 250 pixels)
    loaded = read_image(_geotiff(tmp_path / "edge.tif", bands, nodata=0))
    pixels = np.asarray(loaded.image)
    assert (pixels[:5] == 0).all()
    valid = bands[0, 5:]
    low, high = np.percentile(valid, [2, 98])
    expected = np.clip(np.rint((valid.astype(float) - low) / (high - low) * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(pixels[5:, :, 0], expected)
    assert loaded.note.endswith("; 250 nodata pixels left out and shown black")


def test_sixteen_bit_grey_and_float_rasters_are_stretched(tmp_path):
    ramp = np.arange(HEIGHT * WIDTH).reshape(HEIGHT, WIDTH)
    Image.fromarray(ramp.astype(np.uint16)).save(tmp_path / "grey.png")
    grey = read_image(tmp_path / "grey.png")
    assert np.array_equal(np.asarray(grey.image)[..., 1], _expected_stretch(ramp))
    assert grey.note.startswith("16-bit, 1 band: showed band 1 as grey (the only band), stretched 2-98 %")
    floats = read_image(_geotiff(tmp_path / "float.tif", (_twelve_bit(3) / 4095).astype(np.float32)))
    assert floats.note.startswith("32-bit float, 3 bands") and np.asarray(floats.image).max() == 255


def test_eight_bit_images_decode_exactly_as_pillow_does(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "scene.jpg", quality=90)
    Image.fromarray(pixels).save(tmp_path / "scene.png")
    Image.fromarray(pixels).save(tmp_path / "scene.tif")
    for name in ("scene.jpg", "scene.png", "scene.tif"):
        loaded = read_image(tmp_path / name)
        with Image.open(tmp_path / name) as reference:
            assert np.array_equal(np.asarray(loaded.image), np.asarray(reference.convert("RGB")))
        assert loaded.note is None and isinstance(loaded, LoadedImage)
    transparent = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert load_image(transparent).getpixel((0, 0)) == (255, 255, 255)  # on white, as before


def test_bomb_corrupt_truncated_empty_and_mislabelled_files_give_one_line(tmp_path):
    Image.new("1", (12000, 12000)).save(tmp_path / "bomb.png")  # 144 megapixels in a few kB
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "empty.tif").write_bytes(b"")
    tiff = _geotiff(tmp_path / "whole.tif", _twelve_bit(4)).read_bytes()
    (tmp_path / "truncated.tif").write_bytes(tiff[: len(tiff) // 2])
    (tmp_path / "header.tif").write_bytes(tiff[:100])
    (tmp_path / "text.tif").write_text("these are not pixels\n")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    (tmp_path / "png.tif").write_bytes(buffer.getvalue())  # a PNG named .tif
    expected = {
        "bomb.png": "12000 x 12000 pixels is larger than the limit",
        "broken.jpg": "not a readable image",
        "empty.tif": "the file is empty",
        "truncated.tif": "not a readable image (corrupt or truncated",
        "header.tif": "not a readable image",
        "text.tif": "not a readable image (unknown format or corrupt file)",
    }
    for name, message in expected.items():
        with pytest.raises(ValueError) as error:
            read_image(tmp_path / name)
        text = str(error.value)
        assert text.startswith(f"{tmp_path / name}: ") and message in text and "\n" not in text
    assert load_image(tmp_path / "png.tif").getpixel((0, 0)) == (1, 2, 3)


def test_a_multiband_bomb_is_refused_from_its_header(tmp_path):
    path = _geotiff(tmp_path / "wide.tif", _twelve_bit(4))
    with pytest.raises(ValueError, match=r"50 x 20 pixels is larger than the limit"):
        read_image(path, max_pixels=999)


def test_thumbnails_go_through_the_same_reader(tmp_path):
    path = _geotiff(tmp_path / "scene.tif", _twelve_bit(4))
    with Image.open(io.BytesIO(thumbnail_bytes(path, size=32))) as thumb:
        assert thumb.size == (32, 13) and np.asarray(thumb).max() > 200  # not black
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match="broken.tif: not a readable image"):
        thumbnail_bytes(tmp_path / "broken.tif")


def test_rsic_caption_and_the_archive_find_the_same_images_in_a_folder(tmp_path):
    from rsic_core.archive.sources import collect_sources
    from rsic_core.data.images import collect_images

    for name in ("b/2.PNG", "a.jpg", "b/1.tif", "notes.txt", "b/c/3.JpEg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    images = collect_images([str(tmp_path)])
    assert [p.relative_to(tmp_path).as_posix() for p in images] == ["a.jpg", "b/1.tif", "b/2.PNG", "b/c/3.JpEg"]
    assert [r.key for r in collect_sources([str(tmp_path)])] == [str(p.resolve()) for p in images]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image found in .*empty"):
        collect_images([str(tmp_path / "empty")])
