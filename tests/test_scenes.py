"""Whole scenes: pixels to lon/lat, tiles, a 12-bit 4-band scene with nodata, no CRS, GeoJSON, search, the CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from rsic_core.data.demo.dataset import DEMO_CLASSES
from rsic_core.data.mosaic import read_truth
from rsic_core.paths import DEMO_MODEL
from rsic_core.scenes.caption import SceneConfig, caption_scene, open_scene
from rsic_core.scenes.geo import lonlat_to_pixel, pixel_to_lonlat, scene_geo
from rsic_core.scenes.geojson import PIXELS, csv_path, feature_collection, read_scene, write_scene
from rsic_core.scenes.search import caption_classes, precision_at_k, search_scene
from rsic_core.scenes.tiling import tile_windows
from rsic_core.scoring.confusion import SceneNames
from rsic_core.text.words import words
from tests.support.scenes import TILE, twelve_bit_scene
from tests.support.scenes import write_scene as write_raster


def _geo(tmp_path, crs="EPSG:32633"):
    import rasterio

    path = write_raster(tmp_path / "g.tif", np.zeros((1, 400, 300), np.uint8), crs=crs)
    with rasterio.open(path) as source:
        return scene_geo(source)


def test_pixels_to_lonlat_and_back_to_1e7_degrees(tmp_path):
    geo = _geo(tmp_path)
    assert geo.epsg == 32633
    lon, lat = pixel_to_lonlat(geo, [0.0], [0.0])  # easting 500,000 m is the zone's central meridian, 15 degrees E
    assert abs(lon[0] - 15.0) < 1e-9 and 45.0 < lat[0] < 45.3
    rng = np.random.default_rng(0)
    lons, lats = 15.0 + rng.uniform(0, 0.0019, 200), 45.147 + rng.uniform(-0.0017, 0, 200)
    cols, rows = lonlat_to_pixel(geo, lons, lats)
    back_lon, back_lat = pixel_to_lonlat(geo, cols, rows)
    assert np.abs(back_lon - lons).max() < 1e-7 and np.abs(back_lat - lats).max() < 1e-7
    cols = rng.uniform(0, 300, 200)
    rows = rng.uniform(0, 400, 200)
    again = lonlat_to_pixel(geo, *pixel_to_lonlat(geo, cols, rows))
    assert np.abs(again[0] - cols).max() < 1e-4 and np.abs(again[1] - rows).max() < 1e-4  # 0.05 mm on the ground


@pytest.mark.parametrize("width,height,tile,overlap", [(1000, 600, 224, 0), (448, 448, 224, 0), (450, 230, 224, 0)])
def test_padded_tiles_cover_every_pixel_exactly_once(width, height, tile, overlap):
    cover = np.zeros((height, width), int)
    for t in tile_windows(width, height, tile, overlap, edges="pad"):
        cover[t.y : t.y + t.height, t.x : t.x + t.width] += 1
    assert (cover == 1).all()
    dropped = np.zeros((height, width), int)
    for t in tile_windows(width, height, tile, overlap, edges="drop"):
        assert (t.width, t.height) == (tile, tile)  # only whole tiles
        dropped[t.y : t.y + t.height, t.x : t.x + t.width] += 1
    whole_w, whole_h = width // tile * tile, height // tile * tile
    assert (dropped[:whole_h, :whole_w] == 1).all() and dropped.sum() == whole_w * whole_h


def test_overlapping_tiles_reach_the_edges():
    tiles = tile_windows(1000, 500, 224, 24)
    cover = np.zeros((500, 1000), int)
    for t in tiles:
        cover[t.y : t.y + t.height, t.x : t.x + t.width] += 1
    assert cover.min() >= 1 and cover.max() <= 4
    assert tiles[1].x == 200  # stride = tile - overlap


def test_a_tile_larger_than_the_scene_is_refused(tmp_path):
    path = write_raster(tmp_path / "small.tif", np.ones((3, 100, 300), np.uint8))
    with pytest.raises(ValueError, match=r"small\.tif: a tile of 224 px is larger than the scene \(300 x 100 px\)"):
        open_scene(path, SceneConfig())


def test_a_12_bit_4_band_scene_with_nodata(tmp_path, demo_captioner, one_thread):
    path = twelve_bit_scene(tmp_path / "scene.tif")
    result = caption_scene(path, demo_captioner, SceneConfig(bands="3,2,1"))
    assert result.skipped == {"nodata": 1, "empty": 1}
    assert caption_classes([t.caption for t in result.tiles[:2]], result.model).named == ["storagetanks", "harbor"]
    assert "16-bit: captioned bands 3,2,1 (chosen), each band stretched 2-98 % over the whole scene" in result.stretch
    assert "(b3 8-4088, b2 8-4088, b1 8-4088)" in result.stretch
    collection = feature_collection(result)
    write_scene(collection, tmp_path / "scene.geojson")
    read = read_scene(tmp_path / "scene.geojson")
    assert read["rsic_scene"]["skipped_nodata"] == 1 and read["rsic_scene"]["epsg"] == 32633
    first = read["features"][0]["properties"]
    assert first["window"] == [0, 0, TILE, TILE] and first["epsg"] == 32633
    assert first["bounds"] == [500_000.0, 5_000_000.0 - 112, 500_112.0, 5_000_000.0]  # 224 px of 0.5 m
    ring = read["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and abs(ring[0][0] - 15.0) < 1e-9  # closed, starts at the top-left corner
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
    assert area > 0, "RFC 7946: exterior rings run counter-clockwise"
    assert len(csv_path(tmp_path / "scene.geojson").read_text().splitlines()) == 4  # header + 3 tiles


def test_a_scene_without_crs_stays_in_pixels(tmp_path, demo_captioner, one_thread):
    from tests.support.scenes import demo_tile

    pixels = np.concatenate([demo_tile("forest"), demo_tile("beach")], axis=1).transpose(2, 0, 1)
    path = write_raster(tmp_path / "plain.tif", np.ascontiguousarray(pixels), crs=None)
    collection = feature_collection(caption_scene(path, demo_captioner))
    info = collection["rsic_scene"]
    assert info["coordinates"] == PIXELS and info["epsg"] is None and info["crs"] == "none (pixel coordinates)"
    second = collection["features"][1]
    assert second["geometry"]["coordinates"][0][0] == [224.0, 0.0]  # pixel column, row
    assert second["properties"]["bounds"] == [224.0, 0.0, 448.0, 224.0]
    captions = [f["properties"]["caption"] for f in collection["features"]]
    assert caption_classes(captions, info["model"]).named == ["forest", "beach"]


def test_the_demo_model_names_the_true_class_and_search_finds_it(demo_scene_geojson):
    collection = read_scene(demo_scene_geojson)
    truth = read_truth(demo_scene_geojson.with_name("truth.geojson"))
    assert len(collection["features"]) == len(truth) == 64
    found = caption_classes([f["properties"]["caption"] for f in collection["features"]], str(DEMO_MODEL))
    assert found.classes == tuple(DEMO_CLASSES), "the demo model's card lists the demo classes"
    named = [c == truth[f["id"]] for c, f in zip(found.named, collection["features"])]
    assert sum(named) / len(named) >= 0.8
    for cls, query in (("storagetanks", "storage tanks"), ("harbor", "a harbor with boats"), ("forest", "trees")):
        k = sum(c == cls for c in truth.values())
        assert precision_at_k(search_scene(collection, query, top=k), truth, cls) >= 0.8, query


@pytest.mark.parametrize(
    "caption,expected",
    [
        ("an aerial image of a storage tank", "storagetanks"),
        ("Two tennis courts next to a road .", "tenniscourt"),
        ("cars in a parking lot", "parking"),
        ("an aerial image of a bridge over a river", "bridge"),
        ("a riverside path", "(none)"),
        ("lots of houses are densely arranged", "residential"),  # no class by name: the object tied to one
    ],
)
def test_the_class_a_caption_names(caption, expected):
    names = SceneNames.of_keywords([*DEMO_CLASSES, "park"], {"house": "residential", "lake": "no such class"})
    assert names.keywords == {"house": "residential"}, "keywords of classes it does not have are left out"
    assert names.scene(words(caption)) == expected


def test_command_line_end_to_end(tmp_path, capsys):
    from rsic_core.cli import main

    assert main(["data", "demo-scene", str(tmp_path / "demo"), "--grid", "2", "--seed", "3"]) == 0
    out = tmp_path / "demo" / "scene.geojson"
    assert main(["scene", "caption", str(tmp_path / "demo" / "scene.tif"), "--out", str(out), "--batch-size", "4"]) == 0
    captured = capsys.readouterr()
    assert "4 of 4 tiles captioned; CRS EPSG:32633" in captured.err
    umask = os.umask(0o022)
    os.umask(umask)
    for written in (out, out.with_suffix(".csv")):  # readable by others, as any new file (not mkstemp's 0600)
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask, oct(written.stat().st_mode)
    assert main(["scene", "search", str(out), "an airport", "--top", "2", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [f["properties"]["rank"] for f in found["features"]] == [1, 2]
    assert "embedding" not in found["features"][0]["properties"] and "score" in found["features"][0]["properties"]
    assert main(["scene", "search", str(out), "an airport", "--top", "2"]) == 0
    assert "rank  score" in capsys.readouterr().out
