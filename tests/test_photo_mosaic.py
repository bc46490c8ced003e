"""Real photos as a scene (``rsic data mosaic``), captioned by ``rsic scene caption``; model cards' class keywords.

The UCM tests read ../shared/data/ucm-captions (skipped where absent); the refusals use the demo dataset.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rsic_core.data.formats import UCM_CLASSES
from rsic_core.data.mosaic import photo_mosaic, read_truth


@pytest.fixture(scope="module")
def ucm(shared_data):
    from rsic_core.data.datasets import load_dataset

    return load_dataset(shared_data / "ucm-captions")


def _class_of(image_id: str) -> str:
    """UCM-captions image N is of class (N-1)//100 (alphabetical): from the file name, not the loader."""
    return UCM_CLASSES[(int(Path(image_id).stem) - 1) // 100]


def test_a_mosaic_of_ucm_val_photos(ucm, tmp_path):
    import rasterio
    from PIL import Image

    scene = photo_mosaic(ucm, tmp_path, split="val", grid=5, seed=0)
    truth = json.loads((tmp_path / "truth.geojson").read_text())["features"]
    with rasterio.open(scene) as source:
        assert source.crs.to_epsg() == 32610 and (source.width, source.height) == (1280, 1280)
        assert source.res == pytest.approx((0.3048, 0.3048)) and source.count == 3
        pixels = source.read()
    assert len(truth) == 25 and len({f["properties"]["image"] for f in truth}) == 25, "25 different photos"
    assert {f["properties"]["class"] for f in truth} == set(UCM_CLASSES), "every class on a grid of 25 tiles"
    val = {r.image_id for r in ucm.select(split="val")}
    for f in truth:
        p = f["properties"]
        assert p["image"] in val and p["class"] == _class_of(p["image"])
        x, y, w, h = p["window"]
        assert (x, y) == (256 * p["col"], 256 * p["row"]) and f["id"] == f"r{p['row']}c{p['col']}"
        photo = np.asarray(Image.open(ucm.image_dir / p["image"]).convert("RGB"))
        assert np.array_equal(pixels[:, y : y + h, x : x + w].transpose(1, 2, 0), photo), "the photo as it is"
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and all(-121 < lon < -120 and 37 < lat < 38 for lon, lat in ring)  # near Merced
    again = photo_mosaic(ucm, tmp_path / "again", grid=5, seed=0)
    other = photo_mosaic(ucm, tmp_path / "other", grid=5, seed=1)
    assert read_truth(again.with_name("truth.geojson")) == read_truth(scene.with_name("truth.geojson"))
    images = [json.loads(p.with_name("truth.geojson").read_text()) for p in (scene, other)]
    assert [f["properties"]["image"] for f in images[0]["features"]] != [
        f["properties"]["image"] for f in images[1]["features"]
    ], "another seed, other photos"


def test_every_class_as_often_as_the_grid_allows(ucm, tmp_path):
    scene = photo_mosaic(ucm, tmp_path, grid=8, seed=3)
    counts = Counter(read_truth(scene.with_name("truth.geojson")).values())
    assert len(counts) == 21 and set(counts.values()) <= {3, 4}  # 64 tiles over 21 classes


def test_refusals(demo_dir, tmp_path):
    from rsic_core.data.datasets import load_dataset

    demo = load_dataset(demo_dir)
    val = len([r for r in demo.select(split="val") if r.has_image])
    with pytest.raises(ValueError, match=rf"^a grid of 4 needs 16 photos and the val split of .* has {val} of 224 x"):
        photo_mosaic(demo, tmp_path, grid=4)
    with pytest.raises(ValueError, match=r"has no images in the 'nope' split \(its splits: train \(96\), val"):
        photo_mosaic(demo, tmp_path, split="nope", grid=2)
    with pytest.raises(ValueError, match=r"--grid must be from 1 to 64"):
        photo_mosaic(demo, tmp_path, grid=0)
    assert not (tmp_path / "scene.tif").exists(), "nothing written"


def test_the_command_line_mosaic_captioned_as_a_scene(ucm, tmp_path, capsys, one_thread):
    from rsic_core.cli import main
    from rsic_core.scenes.geojson import read_scene

    assert main(["data", "mosaic", str(ucm.annotation_file), "--grid", "3", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert "(768 x 768 px, 9 val photos of" in said and "EPSG:32610" in said and "--tile 256" in said
    out = tmp_path / "scene.geojson"
    assert main(["scene", "caption", str(tmp_path / "scene.tif"), "--tile", "256", "--out", str(out)]) == 0
    collection = read_scene(out)  # checks a caption and an embedding on every feature
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    truth = {f["id"]: f for f in json.loads((tmp_path / "truth.geojson").read_text())["features"]}
    assert collection["rsic_scene"]["epsg"] == 32610 and collection["rsic_scene"]["captioned"] == 9
    for feature in collection["features"]:
        ring = feature["geometry"]["coordinates"][0]
        area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
        assert ring[0] == ring[-1] and area > 0, "RFC 7946: closed, counter-clockwise"
        expected = truth[feature["id"]]["geometry"]["coordinates"][0]
        assert np.allclose(sorted(ring[:-1]), sorted(expected[:-1]), atol=1e-9), "the tile is the truth's photo"
        assert feature["properties"]["window"] == truth[feature["id"]]["properties"]["window"]


def test_a_cards_class_keywords(tmp_path):
    from rsic_core.models.cards import model_card
    from rsic_core.paths import DEMO_MODEL

    card = {"knows": "two classes", "classes": ["airplane", "harbor"], "class_keywords": {"airport": "airplane"}}
    card["class_keywords"]["sea"] = "beach"  # a class the model does not list
    (tmp_path / "training.json").write_text(json.dumps(card))
    read = model_card(str(tmp_path))
    assert read.classes == ("airplane", "harbor") and read.class_keywords == {"airport": "airplane"}
    assert model_card(str(DEMO_MODEL)).class_keywords == {} and len(model_card("demo").classes) == 12
