"""The offline demo scene: a mosaic of demo tiles written as a georeferenced GeoTIFF, with its truth.

    python -c "from rsic_core.data.demo.mosaic import generate_demo_scene as g; print(g('demo-scene'))"

``OUT_DIR/scene.tif`` is a ``grid`` x ``grid`` mosaic of 224 x 224 demo scenes (one class each,
drawn by :func:`rsic_core.data.demo.dataset.render_scene`), 8-bit RGB, in UTM zone 33N
(EPSG:32633) with a 0.5 m pixel, its top-left corner at easting 400,000 m, northing 5,050,000 m
(near Trieste). Every class appears ``grid * grid // 12`` or one more times (5 or 6 on the default
8 x 8 grid), in an order shuffled by the seed. ``OUT_DIR/truth.geojson`` holds each tile's polygon
in WGS84 lon/lat with ``properties.class``, written by :func:`rsic_core.data.mosaic.write_mosaic` as
the real-photo mosaic's is; its feature ids (``r3c5``) are those ``rsic scene caption --tile 224``
gives the same tiles. The same seed and grid give the same scene.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rsic_core.data.demo.dataset import DEMO_CLASSES, render_scene, sample_scene
from rsic_core.data.mosaic import MAX_GRID, write_mosaic

SCENE_EPSG = 32633  # WGS 84 / UTM zone 33N
SCENE_ORIGIN = (400_000.0, 5_050_000.0)  # easting, northing of the top-left corner (m)
SCENE_PIXEL = 0.5  # metres
TILE = 224  # pixels per demo tile


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
    if not 1 <= grid <= MAX_GRID:
        raise ValueError(f"--grid must be from 1 to {MAX_GRID} tiles a side (got {grid})")
    if seed < 0:
        raise ValueError(f"--seed must be 0 or more (got {seed})")
    classes = scene_classes(grid, seed)

    def pixels(i: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 2**42, i])
        return np.asarray(render_scene(sample_scene(classes[i], rng), rng, TILE))

    tiles = [{"class": c} for c in classes]
    return write_mosaic(out_dir, tiles, pixels, grid, TILE, (SCENE_EPSG, SCENE_ORIGIN, SCENE_PIXEL), progress)
