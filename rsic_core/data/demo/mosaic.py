"""The offline demo scene: a mosaic of demo tiles written as a georeferenced GeoTIFF, with its truth.

    python -c "from rsic_core.data.demo.mosaic import generate_demo_scene as g; print(g('demo-scene'))"

``OUT_DIR/scene.tif`` is a ``grid`` x ``grid`` mosaic of 224 x 224 demo scenes (one class each,
drawn by :func:`rsic_core.data.demo.dataset.render_scene`), 8-bit RGB, in UTM zone 33N
(EPSG:32633) with a 0.5 m pixel, its top-left corner at easting 400,000 m, northing 5,050,000 m
(near Trieste). Every class appears ``grid * grid // 12`` or one more times (5 or 6 on the default
8 x 8 grid), in an order shuffled by the seed. ``OUT_DIR/truth.geojson`` holds each tile's polygon
in WGS84 lon/lat with ``properties.class`` (and ``row``, ``col``, ``window``); its feature ids
(``r3c5``) are those ``rsic scene caption --tile 224`` gives the same tiles. The file is written
tile by tile, so a large grid never sits in memory. The same seed and grid give the same scene.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rsic_core.data.demo.dataset import DEMO_CLASSES, render_scene, sample_scene

SCENE_EPSG = 32633  # WGS 84 / UTM zone 33N
SCENE_ORIGIN = (400_000.0, 5_050_000.0)  # easting, northing of the top-left corner (m)
SCENE_PIXEL = 0.5  # metres
TILE = 224  # pixels per demo tile
SCENE_NAME, TRUTH_NAME = "scene.tif", "truth.geojson"


def scene_classes(grid: int, seed: int) -> list[str]:
    """The class of each tile, row by row: every class as often as the grid allows, shuffled by ``seed``."""
    n = grid * grid
    classes = [DEMO_CLASSES[i % len(DEMO_CLASSES)] for i in range(n)]
    order = np.random.default_rng([seed, 2**41]).permutation(n)
    return [classes[i] for i in order]


def generate_demo_scene(
    out_dir: str | Path, grid: int = 8, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Write ``OUT_DIR/scene.tif`` and ``OUT_DIR/truth.geojson``; return the scene's path.

    Args:
        out_dir: folder to write into (created; the two files are replaced).
        grid (8): tiles a side (``grid * 224`` pixels a side).
        seed (0): the same seed and grid give the same pixels.
        progress (None): ``callable(done, total)`` after each tile.

    Raises:
        ValueError: a grid under 1 or over 64, or a negative seed.
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    if not 1 <= grid <= 64:
        raise ValueError(f"--grid must be from 1 to 64 tiles a side (got {grid})")
    if seed < 0:
        raise ValueError(f"--seed must be 0 or more (got {seed})")
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    side = grid * TILE
    transform = from_origin(*SCENE_ORIGIN, SCENE_PIXEL, SCENE_PIXEL)
    profile = {
        "driver": "GTiff",
        "width": side,
        "height": side,
        "count": 3,
        "dtype": "uint8",
        "crs": f"EPSG:{SCENE_EPSG}",
        "transform": transform,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
        "compress": "deflate",
        "photometric": "RGB",
    }
    classes = scene_classes(grid, seed)
    partial = out / f".{SCENE_NAME}.partial"
    with rasterio.open(partial, "w", **profile) as dst:
        for i, cls in enumerate(classes):
            rng = np.random.default_rng([seed, 2**42, i])
            pixels = np.asarray(render_scene(sample_scene(cls, rng), rng, TILE))
            row, col = divmod(i, grid)
            dst.write(np.moveaxis(pixels, -1, 0), window=Window(col * TILE, row * TILE, TILE, TILE))
            if progress is not None:
                progress(i + 1, len(classes))
    partial.replace(out / SCENE_NAME)
    (out / TRUTH_NAME).write_text(json.dumps(_truth(classes, grid, transform)), encoding="utf-8")
    return out / SCENE_NAME


def _truth(classes: list[str], grid: int, transform) -> dict:
    """The FeatureCollection of the tiles' lon/lat polygons with their class."""
    from rasterio.transform import xy
    from rasterio.warp import transform as warp

    features = []
    for i, cls in enumerate(classes):
        row, col = divmod(i, grid)
        x0, y0 = col * TILE, row * TILE
        ring = [(x0, y0), (x0, y0 + TILE), (x0 + TILE, y0 + TILE), (x0 + TILE, y0), (x0, y0)]  # counter-clockwise
        xs, ys = xy(transform, [r for _, r in ring], [c for c, _ in ring], offset="ul")
        lon, lat = warp(f"EPSG:{SCENE_EPSG}", "EPSG:4326", list(xs), list(ys))
        features.append(
            {
                "type": "Feature",
                "id": f"r{row}c{col}",
                "geometry": {"type": "Polygon", "coordinates": [[[a, b] for a, b in zip(lon, lat)]]},
                "properties": {"class": cls, "row": row, "col": col, "window": [x0, y0, TILE, TILE]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def read_truth(path: str | Path) -> dict[str, str]:
    """Feature id -> class of a ``truth.geojson``."""
    collection = json.loads(Path(path).read_text(encoding="utf-8"))
    return {f["id"]: f["properties"]["class"] for f in collection["features"]}
