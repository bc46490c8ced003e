"""Hostile scenes (issue 23): strip reads of PNGs, a truncated file named by its tile, scenes of nothing, RFC 7946.

The refusals that fit one sentence before the model is loaded are in ``tests/bad_inputs/scenes.py``; these
are the ones that need a model, a timing or a look at the pixels read.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

import rsic_core.scenes.reads as reads
from rsic_core.scenes.caption import SceneConfig, _open, caption_scene, open_scene
from rsic_core.scenes.geojson import write_scene
from rsic_core.scenes.tiling import tile_windows
from tests.bad_inputs.scenes import _png_bomb
from tests.support.scenes import write_scene as write_raster


def _tiles(path, config: SceneConfig) -> list[np.ndarray]:
    opened = open_scene(path, config)
    windows = tile_windows(opened.geo.width, opened.geo.height, config.tile, config.overlap, config.edges)
    with _open(opened.path) as source:
        read = reads.tile_bands(source, opened.path, opened.bands, opened.dtype, windows)
        return [np.ma.filled(bands, 0) for _, bands in read]


def test_a_png_read_in_strips_gives_the_tiles_that_windows_give(tmp_path, monkeypatch):
    pixels = np.random.default_rng(0).integers(0, 255, (700, 1000, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "scene.png")
    config = SceneConfig(tile=160, overlap=40)
    strips = _tiles(tmp_path / "scene.png", config)
    monkeypatch.setattr(reads, "STRIP_BYTES", 0)  # one window read per tile
    windows = _tiles(tmp_path / "scene.png", config)
    assert len(strips) == len(windows) == 48  # 6 rows x 8 columns, overlapping, padded at the edges
    assert all(np.array_equal(a, b) for a, b in zip(strips, windows))
    assert np.array_equal(strips[9], pixels[120:280, 120:280].transpose(2, 0, 1))  # row 1, column 1


def test_a_20000_px_png_is_read_once_not_once_per_tile(tmp_path):
    bomb = _png_bomb(tmp_path)  # a window per tile decoded the PNG from the top each time: minutes per row
    started = time.perf_counter()
    tiles = _tiles(bomb, SceneConfig(tile=448, max_tiles=10_000))
    assert len(tiles) == 45 * 45 and time.perf_counter() - started < 60


def test_a_truncated_scene_names_the_file_and_the_tile(tmp_path, demo_captioner, one_thread):
    pixels = np.random.default_rng(0).integers(0, 255, (3, 600, 600)).astype(np.uint8)
    path = write_raster(tmp_path / "scene.tif", pixels, tiled=True, blockxsize=256, blockysize=256)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    with pytest.raises(ValueError, match=r"scene\.tif: cannot be read at tile r1c2 \(pixels x 448, y 224\) \(corrupt"):
        caption_scene(path, demo_captioner, embed=False)


def test_an_8_bit_scene_of_nodata_only_is_refused(tmp_path, demo_captioner, one_thread):
    path = write_raster(tmp_path / "scene.tif", np.full((3, 300, 300), 9, np.uint8), nodata=9)
    with pytest.raises(ValueError, match=r"scene\.tif: every tile is nodata .*nothing to caption; nothing was written"):
        caption_scene(path, demo_captioner, embed=False)


def test_lonlat_outside_wgs84_is_not_written(tmp_path):
    ring = [[500.0, 40.0], [500.0, 39.0], [501.0, 39.0], [501.0, 40.0], [500.0, 40.0]]
    feature = {"type": "Feature", "id": "r0c0", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    collection = {"type": "FeatureCollection", "rsic_scene": {"coordinates": "WGS84 lon/lat"}, "features": [feature]}
    with pytest.raises(ValueError, match=r"feature r0c0: position 500, 40 is not a WGS84 longitude, latitude"):
        write_scene(collection, tmp_path / "scene.geojson")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("value", [0, -3, True, 2.5])
def test_the_tile_budget_is_a_whole_number(value):
    with pytest.raises(ValueError, match=r"--max-tiles must be a whole number of 1 or more"):
        SceneConfig(max_tiles=value)
