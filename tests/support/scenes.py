"""Scenes written with rasterio for the scene tests: demo tiles in 12-bit bands, nodata, no CRS."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

TILE = 224


def demo_tile(cls: str, seed: int = 0) -> np.ndarray:
    """A (224, 224, 3) uint8 demo scene of class ``cls``."""
    from rsic_core.data.demo.dataset import render_scene, sample_scene

    rng = np.random.default_rng([seed, 99])
    return np.asarray(render_scene(sample_scene(cls, rng), rng, TILE))


def write_scene(
    path: Path, bands: np.ndarray, crs: str | None = "EPSG:32633", origin=(500_000.0, 5_000_000.0), **profile
) -> Path:
    """``bands`` (count, height, width) as a GeoTIFF with a 0.5 m pixel at ``origin`` (no georeferencing when ``crs`` is None)."""
    import rasterio
    from rasterio.transform import from_origin

    count, height, width = bands.shape
    options = {"driver": "GTiff", "count": count, "height": height, "width": width, "dtype": str(bands.dtype)}
    if crs is not None:
        options |= {"crs": crs, "transform": from_origin(*origin, 0.5, 0.5)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(path, "w", **options, **profile) as dst:
            dst.write(bands)
    return path


def twelve_bit_scene(path: Path) -> Path:
    """A 12-bit 4-band scene (blue, green, red, near infrared) of five tiles in a row: storage tanks, a harbor,
    a tile of nodata (0, the file's nodata value), a flat tile (every band one value) and a tile half at the
    lowest level, half at the highest, so that the 2-98 % stretch gives back the 8-bit levels exactly."""
    rgb = [demo_tile("storagetanks"), demo_tile("harbor")]
    bands = np.zeros((4, TILE, 5 * TILE), np.uint16)
    for i, tile in enumerate(rgb):
        values = tile.astype(np.uint16) * 16 + 8  # 8-bit levels spread over 12 bits (8..4088)
        bands[:3, :, i * TILE : (i + 1) * TILE] = values[..., ::-1].transpose(2, 0, 1)  # stored as B, G, R
        bands[3, :, i * TILE : (i + 1) * TILE] = values[..., 1]  # a stand-in for near infrared
    bands[:, :, 3 * TILE : 4 * TILE] = 2000
    bands[:, :, 4 * TILE : 4 * TILE + TILE // 2] = 8
    bands[:, :, 4 * TILE + TILE // 2 :] = 4088
    return write_scene(path, bands, nodata=0)
