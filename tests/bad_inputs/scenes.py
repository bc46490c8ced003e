"""Bad inputs of whole scenes: ``rsic scene caption`` and ``rsic scene search``.

Every refusal comes before the model is loaded (a bad scene, band, tile, transform, tile budget or --out costs
nothing). One case is no refusal: a CRS with no transformation to WGS84 is captioned in pixel coordinates, and
its sentence is the note that says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.bad_inputs import BadInput, Outcome, cli, page_outcome
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
        lambda scene: _caption(scene, "--image-bands", "5,3,2"),
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


# --- issue 23: geometry that is not what it says, rankings of nothing, hangs, messages that name nothing ------------

LOCAL_CRS = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'  # no transformation to WGS84


def _placed(tmp: Path, crs: str, origin=(500_000.0, 5_000_000.0), transform=None) -> Path:
    """A 300 px 3-band scene in ``crs`` at ``origin`` (0.5 units a pixel), or with the affine ``transform`` given."""
    import warnings

    import rasterio
    from affine import Affine

    bands = np.random.default_rng(0).integers(0, 255, (3, 300, 300)).astype(np.uint8)
    if transform is None:
        return write_scene(tmp / "scene.tif", bands, crs=crs, origin=origin)
    profile = {"driver": "GTiff", "count": 3, "height": 300, "width": 300, "dtype": "uint8"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(tmp / "scene.tif", "w", **profile, crs=crs, transform=Affine(*transform)) as dst:
            dst.write(bands)
    return tmp / "scene.tif"


def _the_note(scene: Path) -> Outcome:
    """``rsic scene caption`` of a scene that has a CRS with no way to WGS84: written in pixels, the note says why."""
    outcome = cli(["scene", "caption", scene, "--out", scene.with_suffix(".geojson"), "--model", "demo"])
    assert outcome.exit_code == 0, outcome.output[-800:]
    info = json.loads(scene.with_suffix(".geojson").read_text())["rsic_scene"]
    assert info["coordinates"].startswith("pixels") and "no transformation to WGS84" in info["coordinates"]
    notes = [line for line in outcome.output.splitlines() if line.startswith("rsic: note:")]
    return Outcome(message="\n".join(notes), exit_code=0, output=outcome.output)


def _sparse(tmp: Path, side: int) -> Path:
    """A GeoTIFF whose header declares ``side`` x ``side`` px in a few kB (tiled, sparse)."""
    import warnings

    import rasterio

    path = tmp / "huge.tif"
    profile = {"driver": "GTiff", "count": 3, "height": side, "width": side, "dtype": "uint8"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", **profile, tiled=True, sparse_ok=True):
            pass
    return path


def _png_bomb(tmp: Path, side: int = 20_000) -> Path:
    """A grey PNG of ``side`` x ``side`` zeros, a few hundred kB on disk (written row by row: no big array)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    squeeze, row, parts = zlib.compressobj(6), b"\0" * (side + 1), []
    for _ in range(side):
        parts.append(squeeze.compress(row))
    parts.append(squeeze.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path = tmp / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )
    return path


def _truncated(tmp: Path) -> Path:
    scene = write_scene(tmp / "scene.tif", np.random.default_rng(0).integers(0, 4096, (3, 600, 600)).astype(np.uint16))
    scene.write_bytes(scene.read_bytes()[: scene.stat().st_size // 3])
    return scene


def _embedded(tmp: Path, vectors) -> Path:
    """Features whose embeddings start with ``vectors`` (zeros up to MiniLM's 384 dimensions, which search uses)."""
    vectors = [list(v) + [0.0] * (384 - len(v)) for v in vectors]
    features = [
        {"type": "Feature", "id": f"r0c{i}", "geometry": None, "properties": {"caption": "a", "embedding": v}}
        for i, v in enumerate(vectors)
    ]
    return _json(tmp, json.dumps({"type": "FeatureCollection", "features": features}))


def _map_page(typed: str):
    def run(tmp: Path) -> Outcome:
        from streamlit.testing.v1 import AppTest

        from tests.bad_inputs.sidebar import _data_roots

        with _data_roots(tmp):  # the case's folder is the app's data root
            at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
            at.session_state["map_path"] = typed.format(tmp=tmp)
            at.run()
            at.switch_page("views/map.py").run()
        return page_outcome(at)

    return run


CASES += [
    BadInput(
        "rsic scene caption: an EPSG:4326 transform that puts the scene at longitude 500",
        lambda tmp: _placed(tmp, "EPSG:4326", origin=(500.0, 40.0)),
        _caption,
        r"scene\.tif: its georeferencing puts it at longitude 500 to 650, latitude -110 to 40: outside WGS84's "
        r"-180\.\.180 and -90\.\.90 \(RFC 7946\); fix the file's transform or CRS",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a transform whose pixel size is 0 (every tile a point)",
        lambda tmp: _placed(tmp, "EPSG:32633", transform=(0.0, 0.0, 500000.0, 0.0, 0.0, 5000000.0)),
        _caption,
        r"scene\.tif: its transform gives the pixels no area \(pixel size 0 x 0\): every tile would be a point; "
        r"fix the file's transform",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a transform holding NaN",
        lambda tmp: _placed(tmp, "EPSG:32633", transform=(float("nan"), 0.0, 500000.0, 0.0, -1.0, 5000000.0)),
        _caption,
        r"scene\.tif: its transform holds a value that is not a finite number .*; fix the file's transform",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a local engineering CRS with no transformation to WGS84 (was a traceback)",
        lambda tmp: _placed(tmp, LOCAL_CRS, origin=(0.0, 150.0)),
        _the_note,
        r"scene\.tif: the scene's CRS \(site grid\) has no transformation to WGS84: the GeoJSON is in pixel coordinates",
        exit_code=0,
        writes=("scene.geojson", "scene.csv"),
    ),
    BadInput(
        "rsic scene caption: a float scene whose every pixel is NaN",
        lambda tmp: write_scene(tmp / "scene.tif", np.full((3, 300, 300), np.nan, np.float32)),
        _caption,
        r"scene\.tif: every pixel is nodata \(NaN, infinite or the file's nodata value\): nothing to caption",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a complex-valued scene",
        lambda tmp: write_scene(tmp / "scene.tif", np.full((1, 300, 300), 1 + 2j, np.complex64)),
        _caption,
        r"scene\.tif: complex-valued pixels \(complex64\) are not an image; convert them to amplitude",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a truncated 16-bit GeoTIFF (said 'Read failed. See previous exception')",
        _truncated,
        _caption,
        r"scene\.tif: cannot be read \(corrupt or truncated\)",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a header of 100,000 x 100,000 px with --tile 16 (39 M tiles: ran on)",
        lambda tmp: _sparse(tmp, 100_000),
        lambda scene: _caption(scene, "--tile", "16"),
        r"huge\.tif: 100000 x 100000 px in tiles of 16 px makes 39,062,500 tiles \(6250 rows x 6250 columns\), "
        r"more than --max-tiles 5,000; give a larger --tile, crop the scene or raise --max-tiles",
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a PNG whose header declares 20,000 x 20,000 px (ran on)",
        _png_bomb,
        _caption,
        r"bomb\.png: 20000 x 20000 px in tiles of 224 px makes 8,100 tiles \(90 rows x 90 columns\), "
        r"more than --max-tiles 5,000",
        exit_code=2,
    ),
    BadInput(
        "rsic scene search: NaN in the caption embeddings",
        lambda tmp: _embedded(tmp, [[0.6, 0.8], [float("nan"), 0.1]]),
        lambda path: cli(["scene", "search", path, "storage tanks"]),
        r"scene\.geojson: feature 1's caption embedding holds NaN or infinite values: nothing to rank by; "
        r"write the file again with rsic scene caption",
        exit_code=2,
    ),
    BadInput(
        "rsic scene search: all-zero caption embeddings",
        lambda tmp: _embedded(tmp, [[0.0, 0.0], [0.0, 0.0]]),
        lambda path: cli(["scene", "search", path, "storage tanks"]),
        r"scene\.geojson: feature 0's caption embedding is all zeros: nothing to rank by",
        exit_code=2,
    ),
    BadInput(
        "Scene map page: a path with a 200-character folder name (was a traceback)",
        lambda tmp: tmp,
        _map_page("{tmp}/" + "é" * 200 + "/scene.geojson"),
        r"the file name is too long \(a name may have at most 255 bytes\)",
    ),
]
