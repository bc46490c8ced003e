"""Bad inputs of whole scenes: ``rsic scene caption`` and ``rsic scene search``.

Every one is refused before the model is loaded (a bad scene, band, tile or --out costs nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.bad_inputs import BadInput, cli
from tests.support.scenes import write_scene


def _scene(tmp: Path, side: int = 300, count: int = 3) -> Path:
    return write_scene(tmp / "scene.tif", np.full((count, side, side), 7, np.uint8))


def _text_named_tif(tmp: Path) -> Path:
    path = tmp / "scene.tif"
    path.write_text("this is not a raster\n")
    return path


def _json(tmp: Path, content) -> Path:
    path = tmp / "scene.geojson"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _foreign_out(tmp: Path) -> Path:
    _scene(tmp)
    (tmp / "keep").mkdir()
    (tmp / "keep" / "notes.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    return tmp


def _caption(scene: Path, *options) -> object:
    return cli(["scene", "caption", scene, "--out", scene.with_suffix(".geojson"), *options])


CASES = [
    BadInput(
        "rsic scene caption: a text file named .tif",
        _text_named_tif,
        _caption,
        r"scene\.tif: not a raster that can be read \(a GeoTIFF or PNG is expected\)",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: no such scene",
        lambda tmp: tmp / "missing.tif",
        _caption,
        r"missing\.tif: no such scene file",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: band 5 of a 3-band scene",
        _scene,
        lambda scene: _caption(scene, "--bands", "5,3,2"),
        r"scene\.tif: there is no band 5: the image has 3 bands \(numbered 1-3\)",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a tile larger than the scene",
        lambda tmp: _scene(tmp, side=100),
        _caption,
        r"scene\.tif: a tile of 224 px is larger than the scene \(100 x 100 px\); give a smaller --tile",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: an overlap as large as the tile",
        _scene,
        lambda scene: _caption(scene, "--tile", "64", "--overlap", "64"),
        r"--overlap must be 0 or more and less than the tile size 64 \(got 64\)",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: --out names a GeoJSON that rsic did not write",
        _foreign_out,
        lambda tmp: cli(["scene", "caption", tmp / "scene.tif", "--out", tmp / "keep" / "notes.geojson"]),
        r"notes\.geojson exists and is not a GeoJSON of rsic scene caption; name another file",
        exit_code=2,
    ),
    BadInput(
        "rsic scene search: a FeatureCollection without features",
        lambda tmp: _json(tmp, {"type": "FeatureCollection", "features": []}),
        lambda path: cli(["scene", "search", path, "storage tanks"]),
        r"scene\.geojson: the FeatureCollection has no features: nothing to search or show",
        exit_code=2,
    ),
    BadInput(
        "rsic scene search: a GeoJSON without caption embeddings (truth.geojson)",
        lambda tmp: _json(
            tmp,
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"caption": "a", "class": "x"}}],
            },
        ),
        lambda path: cli(["scene", "search", path, "storage tanks"]),
        r"scene\.geojson: feature 0 has no caption embedding; write the file with rsic scene caption",
        exit_code=2,
    ),
    BadInput(
        "rsic scene search: not JSON",
        lambda tmp: _json(tmp, "{not json"),
        lambda path: cli(["scene", "search", path, "storage tanks"]),
        r"scene\.geojson: not a GeoJSON file \(invalid JSON at line 1, column 2\)",
        exit_code=2,
    ),
]
