"""Where a scene's pixels are: its CRS, pixel -> scene CRS -> WGS84 lon/lat, and back.

Pixel coordinates are (column, row) with (0, 0) the top-left corner of the top-left pixel, so a
pixel's centre is (col + 0.5, row + 0.5). The affine transform of the file (``rasterio.transform``)
takes them to the scene's CRS; ``rasterio.warp.transform`` (PROJ) takes those to WGS84 lon/lat,
the only coordinates RFC 7946 GeoJSON allows. A scene without a CRS has no place on Earth: its
geometries stay in pixel coordinates (x = column, y = row), and :attr:`SceneGeo.georeferenced`
says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class SceneGeo:
    """The georeferencing of a scene: size, affine transform and CRS (None when the file has none)."""

    width: int
    height: int
    transform: Any  # affine.Affine: pixel (col, row) -> scene CRS (x, y)
    crs: Any  # rasterio.crs.CRS, or None

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None

    @property
    def epsg(self) -> int | None:
        """The EPSG code of the CRS, None without CRS or when the CRS has no EPSG code."""
        return self.crs.to_epsg() if self.crs is not None else None

    @property
    def crs_name(self) -> str:
        """``EPSG:32633``, the CRS's WKT when it has no EPSG code, or "none (pixel coordinates)"."""
        if self.crs is None:
            return "none (pixel coordinates)"
        return f"EPSG:{self.epsg}" if self.epsg else self.crs.to_wkt()


def scene_geo(source) -> SceneGeo:
    """The :class:`SceneGeo` of an open rasterio dataset."""
    return SceneGeo(source.width, source.height, source.transform, source.crs)


def pixel_to_crs(geo: SceneGeo, cols, rows) -> tuple[np.ndarray, np.ndarray]:
    """Scene-CRS x, y of pixel coordinates (fractional allowed; pixel coordinates when there is no CRS)."""
    cols, rows = np.asarray(cols, np.float64), np.asarray(rows, np.float64)
    if geo.crs is None:
        return cols, rows
    t = geo.transform
    return t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f


def crs_to_pixel(geo: SceneGeo, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """Fractional pixel (col, row) of scene-CRS coordinates: the inverse of :func:`pixel_to_crs`."""
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    if geo.crs is None:
        return xs, ys
    inverse = ~geo.transform
    return inverse.a * xs + inverse.b * ys + inverse.c, inverse.d * xs + inverse.e * ys + inverse.f


def pixel_to_lonlat(geo: SceneGeo, cols, rows) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon, lat (degrees) of pixel coordinates.

    Raises:
        ValueError: the scene has no CRS.
    """
    _need_crs(geo)
    from rasterio.warp import transform

    xs, ys = pixel_to_crs(geo, cols, rows)
    lon, lat = transform(geo.crs, WGS84, np.ravel(xs).tolist(), np.ravel(ys).tolist())
    return np.reshape(lon, np.shape(xs)), np.reshape(lat, np.shape(ys))


def lonlat_to_pixel(geo: SceneGeo, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Fractional pixel (col, row) of WGS84 lon, lat: the inverse of :func:`pixel_to_lonlat`."""
    _need_crs(geo)
    from rasterio.warp import transform

    xs, ys = transform(WGS84, geo.crs, np.ravel(lon).tolist(), np.ravel(lat).tolist())
    cols, rows = crs_to_pixel(geo, xs, ys)
    return np.reshape(cols, np.shape(lon)), np.reshape(rows, np.shape(lat))


def window_ring(x: float, y: float, width: float, height: float) -> list[tuple[float, float]]:
    """The closed ring of a pixel window's corners: top-left, bottom-left, bottom-right, top-right, top-left."""
    return [(x, y), (x, y + height), (x + width, y + height), (x + width, y), (x, y)]


def polygon(geo: SceneGeo, x: float, y: float, width: float, height: float) -> list[list[list[float]]]:
    """A GeoJSON Polygon's coordinates for a pixel window: lon/lat, or pixels without a CRS.

    The ring runs counter-clockwise on the map (RFC 7946's right-hand rule) whatever the sign of the
    transform's scales.
    """
    ring = window_ring(x, y, width, height)
    cols, rows = [c for c, _ in ring], [r for _, r in ring]
    if geo.crs is None:
        points = [[float(c), float(r)] for c, r in zip(cols, rows)]
        points = points if _signed_area([(c, -r) for c, r in points]) > 0 else points[::-1]  # y down on screen
    else:
        lon, lat = pixel_to_lonlat(geo, cols, rows)
        points = [[float(a), float(b)] for a, b in zip(lon, lat)]
        points = points if _signed_area(points) > 0 else points[::-1]
    return [points]


def crs_bounds(geo: SceneGeo, x: float, y: float, width: float, height: float) -> list[float]:
    """``[minx, miny, maxx, maxy]`` of a pixel window in the scene's CRS (pixels without a CRS)."""
    xs, ys = pixel_to_crs(geo, [x, x + width], [y, y + height])
    return [float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))]


def scene_corners(geo: SceneGeo) -> list[list[float]]:
    """lon/lat of the scene's corners: bottom-left, top-left, top-right, bottom-right (a BitmapLayer's bounds)."""
    cols = [0, 0, geo.width, geo.width]
    rows = [geo.height, 0, 0, geo.height]
    if geo.crs is None:
        return [[float(c), float(r)] for c, r in zip(cols, rows)]
    lon, lat = pixel_to_lonlat(geo, cols, rows)
    return [[float(a), float(b)] for a, b in zip(lon, lat)]


def _signed_area(points) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:]))


def _need_crs(geo: SceneGeo) -> None:
    if geo.crs is None:
        raise ValueError("the scene has no CRS: its coordinates are pixels, not lon/lat")
