"""Scenes made of tiles: a mosaic GeoTIFF and its truth, of demo tiles or of a dataset's real photos.

    rsic data mosaic data/ucm-captions --split val --grid 8 --out ucm-mosaic/    # then:
    rsic scene caption ucm-mosaic/scene.tif --tile 256 --out ucm-mosaic/scene.geojson --model ucm

``OUT_DIR/scene.tif`` is a ``grid`` x ``grid`` mosaic of square tiles, 8-bit RGB, tiled and deflated,
in a real CRS (a UTM zone); ``OUT_DIR/truth.geojson`` holds each tile's polygon in WGS84 lon/lat with
``properties.class`` (and ``row``, ``col``, ``window``; ``image``, the photo's id, for a photo
mosaic), and its feature ids (``r3c5``) are those ``rsic scene caption --tile TILE`` gives the same
tiles. The file is written tile by tile, so a large grid never sits in memory.

:func:`photo_mosaic` lays a dataset's photos of one split side by side, each as it is (no resizing):
photos of the split's most common square size, chosen with a seed so that every class appears as
often as the grid allows (each class ``grid * grid // classes`` or one more times, while it has
photos left), at UC Merced's 1 foot (0.3048 m) pixel in UTM zone 10N (EPSG:32610), near Merced,
California. The place is made up: the photos come from many US cities, but the sizes and CRS are
real, so the scene reads and maps like any aerial GeoTIFF.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rsic_core.data.datasets import CaptionDataset
from rsic_core.data.records import ImageRecord

SCENE_NAME, TRUTH_NAME = "scene.tif", "truth.geojson"
PHOTO_EPSG = 32610  # WGS 84 / UTM zone 10N
PHOTO_ORIGIN = (720_000.0, 4_132_000.0)  # easting, northing of the top-left corner (m): near Merced, California
PHOTO_PIXEL = 0.3048  # metres: UC Merced's 1 foot
MAX_GRID = 64


def write_mosaic(
    out_dir: str | Path,
    tiles: Sequence[dict],
    pixels: Callable[[int], np.ndarray],
    grid: int,
    tile: int,
    crs: tuple[int, tuple[float, float], float],
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``OUT_DIR/scene.tif`` and ``OUT_DIR/truth.geojson``; return the scene's path.

    Args:
        out_dir: folder to write into (created; the two files are replaced).
        tiles: the truth properties of each tile, row by row (``class``, and anything else to keep).
        pixels: ``pixels(i)`` -> the (tile, tile, 3) uint8 pixels of tile ``i``.
        grid: tiles a side.
        tile: pixels a tile side.
        crs: (EPSG code, easting and northing of the top-left corner, pixel size in metres).
        progress (None): ``callable(done, total)`` after each tile.
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    epsg, origin, pixel = crs
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    transform = from_origin(*origin, pixel, pixel)
    profile = {
        "driver": "GTiff",
        "width": grid * tile,
        "height": grid * tile,
        "count": 3,
        "dtype": "uint8",
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "tiled": True,
        "blockxsize": 16 * -(-tile // 16),  # GeoTIFF blocks are multiples of 16 pixels
        "blockysize": 16 * -(-tile // 16),
        "compress": "deflate",
        "photometric": "RGB",
    }
    partial = out / f".{SCENE_NAME}.partial"
    with rasterio.open(partial, "w", **profile) as dst:
        for i in range(len(tiles)):
            row, col = divmod(i, grid)
            dst.write(np.moveaxis(pixels(i), -1, 0), window=Window(col * tile, row * tile, tile, tile))
            if progress is not None:
                progress(i + 1, len(tiles))
    partial.replace(out / SCENE_NAME)
    (out / TRUTH_NAME).write_text(json.dumps(_truth(tiles, grid, tile, transform, epsg)), encoding="utf-8")
    return out / SCENE_NAME


def _truth(tiles: Sequence[dict], grid: int, tile: int, transform, epsg: int) -> dict:
    """The FeatureCollection of the tiles' lon/lat polygons with their properties."""
    from rasterio.transform import xy
    from rasterio.warp import transform as warp

    features = []
    for i, properties in enumerate(tiles):
        row, col = divmod(i, grid)
        x0, y0 = col * tile, row * tile
        ring = [(x0, y0), (x0, y0 + tile), (x0 + tile, y0 + tile), (x0 + tile, y0), (x0, y0)]  # counter-clockwise
        xs, ys = xy(transform, [r for _, r in ring], [c for c, _ in ring], offset="ul")
        lon, lat = warp(f"EPSG:{epsg}", "EPSG:4326", list(xs), list(ys))
        features.append(
            {
                "type": "Feature",
                "id": f"r{row}c{col}",
                "geometry": {"type": "Polygon", "coordinates": [[[a, b] for a, b in zip(lon, lat)]]},
                "properties": dict(properties) | {"row": row, "col": col, "window": [x0, y0, tile, tile]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def read_truth(path: str | Path) -> dict[str, str]:
    """Feature id -> class of a ``truth.geojson``."""
    collection = json.loads(Path(path).read_text(encoding="utf-8"))
    return {f["id"]: f["properties"]["class"] for f in collection["features"]}


def photo_mosaic(
    dataset: CaptionDataset,
    out_dir: str | Path,
    split: str = "val",
    grid: int = 8,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Lay ``grid`` x ``grid`` photos of a split side by side as a GeoTIFF, with its truth; return its path.

    Args:
        dataset: a dataset whose photos have scene classes (e.g. UCM-captions).
        out_dir: folder to write ``scene.tif`` and ``truth.geojson`` into.
        split ("val"): the split the photos come from.
        grid (8): tiles a side.
        seed (0): the same seed, dataset and grid give the same scene.
        progress (None): ``callable(done, total)`` after each tile.

    Raises:
        ValueError: a grid under 1 or over 64, a negative seed, a split without images or classes, or a grid
            that needs more photos than the split has.
    """
    if not 1 <= grid <= MAX_GRID:
        raise ValueError(f"--grid must be from 1 to {MAX_GRID} tiles a side (got {grid})")
    if seed < 0:
        raise ValueError(f"--seed must be 0 or more (got {seed})")
    records = [r for r in dataset.select(split=split) if r.has_image]
    if not records:
        splits = ", ".join(f"{s} ({n})" for s, n in dataset.split_counts().items())
        raise ValueError(f"{dataset.name} has no images in the {split!r} split (its splits: {splits or 'none'})")
    unlabelled = sum(not r.label for r in records)
    if unlabelled:
        raise ValueError(
            f"{unlabelled} of the {len(records)} {split} images of {dataset.name} have no scene class, "
            "so a mosaic of them would have no truth: choose a dataset with classes (UCM, RSICD, NWPU)"
        )
    sizes = {r.image_id: _size(r) for r in records}
    square = Counter(s for s in sizes.values() if s is not None and s[0] == s[1])
    if not square:
        raise ValueError(f"no {split} image of {dataset.name} is square, so none can be a tile as it is")
    (tile, _), _ = square.most_common(1)[0]
    usable = [r for r in records if sizes[r.image_id] == (tile, tile)]
    if grid * grid > len(usable):
        raise ValueError(
            f"a grid of {grid} needs {grid * grid} photos and the {split} split of {dataset.name} has "
            f"{len(usable)} of {tile} x {tile} px: choose --grid {int(len(usable) ** 0.5)} or less"
        )
    chosen = _deal(usable, grid * grid, np.random.default_rng([seed, 2**43]))

    def pixels(i: int) -> np.ndarray:
        return np.asarray(chosen[i].load_image(), np.uint8)

    tiles = [{"class": r.label, "image": r.image_id} for r in chosen]
    return write_mosaic(out_dir, tiles, pixels, grid, tile, (PHOTO_EPSG, PHOTO_ORIGIN, PHOTO_PIXEL), progress)


def _size(record: ImageRecord) -> tuple[int, int] | None:
    """(width, height) of a photo from its header (decoded when it is no plain file); None when unreadable."""
    from PIL import Image

    try:
        with Image.open(record.path) as image:
            return image.size
    except OSError:
        try:
            return record.load_image().size
        except ValueError:
            return None


def _deal(records: list[ImageRecord], n: int, rng: np.random.Generator) -> list[ImageRecord]:
    """``n`` records, every class in turn while it has photos left (shuffled within and across classes), in shuffled places."""
    by_class: dict[str, list[ImageRecord]] = defaultdict(list)
    for r in records:
        by_class[r.label].append(r)
    queues = [[by_class[c][i] for i in rng.permutation(len(by_class[c]))] for c in sorted(by_class)]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    chosen: list[ImageRecord] = []
    while len(chosen) < n:
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop())
    return [chosen[i] for i in rng.permutation(n)]
