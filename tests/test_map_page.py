"""The Scene map page (AppTest): the demo scene on its place, tiles coloured by the model's classes, search, refusals, no CRS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = "views/map.py"


def _open(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _deck(at: AppTest) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def _layer(deck: dict, kind: str) -> dict:
    return next(layer for layer in deck["layers"] if layer["@@type"] == kind)


def test_the_demo_scene_on_its_place_with_its_tiles(demo_scene_geojson):
    at = _open()
    assert not at.error, [e.value for e in at.error]
    assert any("64 of 64 tiles captioned; CRS EPSG:32633" in c.value for c in at.caption)
    deck = _deck(at)
    spec = at.get("deck_gl_json_chart")[0].proto.json
    assert "cartocdn" not in spec and "mapbox" not in spec and deck.get("mapStyle") in (None, "__MAP_STYLE__"), (
        "no basemap"
    )
    bitmap, tiles = _layer(deck, "BitmapLayer"), _layer(deck, "PolygonLayer")
    assert bitmap["image"].startswith("data:image/jpeg;base64,")
    lons = [c[0] for c in bitmap["bounds"]]
    assert 13.7 < min(lons) < max(lons) < 13.75  # UTM 33N, easting 400 km: near Trieste
    assert len(tiles["data"]) == 64
    assert {t["class"] for t in tiles["data"]} >= {"storagetanks", "harbor", "airport"}
    assert "{caption}" in json.loads(at.get("deck_gl_json_chart")[0].proto.tooltip)["html"], "the caption on hover"
    assert at.get("download_button"), "a GeoJSON download"


def test_search_highlights_the_top_tiles(demo_scene_geojson):
    at = _open()
    at.text_input(key="map_query").set_value("storage tanks").run()
    at.number_input(key="map_top").set_value(4).run()
    tiles = _layer(_deck(at), "PolygonLayer")["data"]
    highlighted = [t for t in tiles if t["width"] == 4]
    assert len(highlighted) == 4 and all(t["class"] == "storagetanks" for t in highlighted)
    table = at.dataframe[0].value
    assert list(table["rank"]) == [1, 2, 3, 4] and table["caption"].str.contains("storage tanks").all()


def test_colour_by_a_word(demo_scene_geojson):
    at = _open()
    at.radio(key="map_colour_by").set_value("a word of the caption").run()
    at.text_input(key="map_word").set_value("harbor").run()
    tiles = _layer(_deck(at), "PolygonLayer")["data"]
    orange = [t for t in tiles if t["fill"][:3] == [255, 127, 14]]
    assert orange and len(orange) == sum("harbor" in t["caption"] for t in tiles)


def test_a_file_outside_the_data_roots_and_an_empty_collection_are_refused(demo_scene_geojson, tmp_path):
    at = _open(map_path="/etc/passwd")
    assert any("is outside the folders the app reads from" in e.value for e in at.error)
    empty = Path(os.environ["RSIC_HOME"]) / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    at = _open(map_path=str(empty))
    assert [e.value for e in at.error] == [f"{empty}: the FeatureCollection has no features: nothing to search or show"]


def test_a_scene_without_crs_in_pixel_coordinates(demo_captioner, one_thread):
    from rsic_core.scenes.caption import caption_scene
    from rsic_core.scenes.geojson import feature_collection, write_scene
    from tests.support.scenes import demo_tile
    from tests.support.scenes import write_scene as write_raster

    folder = Path(os.environ["RSIC_HOME"]) / "plain-scene"
    folder.mkdir(exist_ok=True)
    pixels = np.concatenate([demo_tile("river"), demo_tile("airport")], axis=1).transpose(2, 0, 1)
    scene = write_raster(folder / "plain.tif", np.ascontiguousarray(pixels), crs=None)
    geojson, _ = write_scene(feature_collection(caption_scene(scene, demo_captioner)), folder / "plain.geojson")
    at = _open(map_path=str(geojson))
    assert not at.error, [e.value for e in at.error]
    assert any("coordinates are pixels (x = column, y = row), not lon/lat" in c.value for c in at.caption)
    deck = _deck(at)
    assert deck["views"][0]["@@type"] == "OrthographicView"
    assert _layer(deck, "BitmapLayer")["bounds"] == [0.0, 224.0, 448.0, 0.0]


CARD_CLASSES = ["airplane", "denseresidential", "tenniscourt"]  # not the demo model's classes
REFERENCES = {  # one image's references per class: "houses" only for denseresidential, so the word is tied to it
    "airplane": ["a plane is parked at the airport", "two planes are near the runway"],
    "denseresidential": ["lots of houses are densely arranged", "many houses with trees"],
    "tenniscourt": ["a tennis court is surrounded by trees", "two tennis courts beside a road"],
}
CAPTIONS = [
    "many houses are arranged neatly",  # no class by name: the tied object
    "many planes are parked at the airport",
    "two tennis courts beside a road",
    "a dense residential area",
    "an aerial image of a harbor",  # a demo class, not one of the card's
]


def _scene_by(model: Path, demo_scene: Path, name: str) -> Path:
    """The demo scene's tiles with CAPTIONS on the first five, as if ``model`` had captioned them."""
    collection = json.loads(demo_scene.read_text())
    for feature, caption in zip(collection["features"], CAPTIONS):
        feature["properties"]["caption"] = caption
    collection["rsic_scene"]["model"] = str(model)
    path = Path(os.environ["RSIC_HOME"]) / name
    path.write_text(json.dumps(collection))
    return path


def test_tiles_coloured_by_the_classes_of_the_models_card_as_compare_reads_them(demo_scene_geojson):
    import pandas as pd

    from rsic_core.scoring.confusion import scene_confusion, scene_names
    from rsic_core.scoring.error_analysis import analyze_run

    captions = [f["properties"]["caption"] for f in json.loads(demo_scene_geojson.read_text())["features"]]
    captions = CAPTIONS + captions[len(CAPTIONS) :]
    labels = [CARD_CLASSES[i % 3] for i in range(len(captions))]
    run = pd.DataFrame({"label": labels, "prediction": captions, "references": [REFERENCES[c] for c in labels]})
    keywords = scene_names(run).keywords  # what the trainer writes into the card
    assert keywords.get("house") == "denseresidential"
    model = Path(os.environ["RSIC_HOME"]) / "card-model"
    model.mkdir(exist_ok=True)
    card = {"knows": "three classes", "classes": CARD_CLASSES, "class_keywords": keywords}
    (model / "training.json").write_text(json.dumps(card))

    at = _open(map_path=str(_scene_by(model, demo_scene_geojson, "card-scene.geojson")))
    assert not at.error, [e.value for e in at.error]
    tiles = _layer(_deck(at), "PolygonLayer")["data"]
    assert [t["class"] for t in tiles[:5]] == ["denseresidential", "airplane", "tenniscourt", "denseresidential"] + [
        "(none)"
    ]
    assert [t["fill"][:3] for t in tiles[:5]] == [[255, 127, 14], [31, 119, 180], [44, 160, 44], [255, 127, 14]] + [
        [128, 128, 128]
    ], "the palette in the card's order; grey for a caption that names none of its classes"
    assert [t["class"] for t in tiles] == list(analyze_run(run)["scene"]), "the Compare page reads them alike"
    assert "(none)" in scene_confusion(analyze_run(run)).columns
    legend = " ".join(m.value for m in at.markdown)
    for c in [*CARD_CLASSES, "(none)"]:
        assert f"</span> {c} ({sum(t['class'] == c for t in tiles)})" in legend, "each of the card's classes, counted"
    assert "harbor" not in legend
    assert any("among the 3 classes of the card-model model's card (and" in c.value for c in at.caption)


def test_without_a_card_the_loaded_datasets_classes(demo_scene_geojson):
    model = Path(os.environ["RSIC_HOME"]) / "cardless-model"
    model.mkdir(exist_ok=True)
    at = _open(map_path=str(_scene_by(model, demo_scene_geojson, "cardless-scene.geojson")))
    assert not at.error, [e.value for e in at.error]
    tiles = _layer(_deck(at), "PolygonLayer")["data"]
    assert [t["class"] for t in tiles[3:5]] == ["residential", "harbor"]  # the demo dataset's classes
    assert any("the 12 classes of the dataset (the model has no card" in c.value for c in at.caption)
    folder = Path(os.environ["RSIC_HOME"]) / "unlabelled"
    folder.mkdir(exist_ok=True)
    (folder / "captions.csv").write_text("image,caption\na.jpg,a road beside a field\n")
    at = _open(dataset_path=str(folder), map_path=str(_scene_by(model, demo_scene_geojson, "cardless-scene.geojson")))
    assert not at.error and not at.radio, "no classes anywhere: no choice of colouring"
    assert any(
        "Neither the model that wrote these captions nor the loaded dataset lists" in c.value for c in at.caption
    )
    at.text_input(key="map_word").set_value("harbor").run()
    assert [t["fill"][:3] for t in _layer(_deck(at), "PolygonLayer")["data"]][4] == [255, 127, 14], "coloured by word"
