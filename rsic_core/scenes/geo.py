"""Where a scene's pixels are: its CRS, pixel -> scene CRS -> WGS84 lon/lat, and back.

Pixel coordinates are (column, row) with (0, 0) the top-left corner of the top-left pixel, so a
pixel's centre is (col + 0.5, row + 0.5). The affine transform of the file (``rasterio.transform``)
takes them to the scene's CRS; ``rasterio.warp.transform`` (PROJ) takes those to WGS84 lon/lat,
the only coordinates RFC 7946 GeoJSON allows. A scene without a CRS has no place on Earth: its
geometries stay in pixel coordinates (x = column, y = row), and :attr:`SceneGeo.georeferenced`
says so; so does a scene whose CRS has no transformation to WGS84 (a local engineering CRS, another
planet), with the reason in :attr:`SceneGeo.pixels_because`.

:func:`checked_geo` refuses, before anything is read or written, a transform that is not finite or
gives pixels no area (every tile would collapse to a point), and a scene that its CRS and transform
put outside WGS84's longitude and latitude range (RFC 7946 allows nothing else).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

WGS84 = "EPSG:4326"
LON_RANGE, LAT_RANGE = (-180.0, 180.0), (-90.0, 90.0)  # RFC 7946: WGS84 longitude and latitude, degrees
EDGE_SAMPLES = 9  # points along each edge of the scene checked for a place on Earth (a projection bends edges)


@dataclass(frozen=True)
class SceneGeo:
    """The georeferencing of a scene: size, affine transform and CRS (None when the file has none)."""

    width: int
    height: int
    transform: Any  # affine.Affine: pixel (col, row) -> scene CRS (x, y)
    crs: Any  # rasterio.crs.CRS, or None
    pixels_because: str = ""  # why the geometries are pixels although there is a CRS ("" when they are lon/lat)

    @property
    def georeferenced(self) -> bool:
        """Whether the scene's geometries are WGS84 lon/lat (it has a CRS that PROJ takes to WGS84)."""
        return self.crs is not None and not self.pixels_because

    @property
    def pixels_reason(self) -> str:
        """Why the geometries are pixels, a phrase ("the scene has no CRS"); "" when they are lon/lat."""
        if self.crs is None:
            return "the scene has no CRS"
        return self.pixels_because

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


def checked_geo(geo: SceneGeo, label: str) -> SceneGeo:
    """``geo`` once its transform and its place on Earth make sense; in pixels (with the reason) when its CRS
    has no transformation to WGS84.

    Raises:
        ValueError: a transform holding a non-finite number or giving pixels no area, or a scene whose
            corners or edges fall outside longitude -180..180 or latitude -90..90; one sentence naming ``label``.
    """
    if geo.crs is None:
        return geo
    t = geo.transform
    values = (t.a, t.b, t.c, t.d, t.e, t.f)
    if not all(math.isfinite(v) for v in values):
        shown = ", ".join(f"{v:g}" for v in values)
        raise ValueError(
            f"{label}: its transform holds a value that is not a finite number ({shown}); fix the file's transform"
        )
    if t.determinant == 0:
        raise ValueError(
            f"{label}: its transform gives the pixels no area (pixel size {math.hypot(t.a, t.d):g} x "
            f"{math.hypot(t.b, t.e):g}): every tile would be a point; fix the file's transform"
        )
    from rasterio._err import CPLE_BaseError  # GDAL's errors ("Cannot find coordinate operations"): no public name
    from rasterio.errors import CRSError

    steps = np.linspace(0.0, 1.0, EDGE_SAMPLES)
    cols = np.concatenate([steps, np.ones_like(steps), steps, np.zeros_like(steps)]) * geo.width
    rows = np.concatenate([np.zeros_like(steps), steps, np.ones_like(steps), steps]) * geo.height
    try:
        lon, lat = pixel_to_lonlat(geo, cols, rows)
    except (CRSError, CPLE_BaseError):
        return replace(geo, pixels_because=f"the scene's CRS ({_crs_label(geo.crs)}) has no transformation to WGS84")
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise ValueError(
            f"{label}: its georeferencing gives points with no finite longitude or latitude in WGS84 "
            f"(CRS {_crs_label(geo.crs)}); fix the file's transform or CRS"
        )
    if lon.min() < LON_RANGE[0] or lon.max() > LON_RANGE[1] or lat.min() < LAT_RANGE[0] or lat.max() > LAT_RANGE[1]:
        raise ValueError(
            f"{label}: its georeferencing puts it at longitude {lon.min():g} to {lon.max():g}, latitude "
            f"{lat.min():g} to {lat.max():g}: outside WGS84's -180..180 and -90..90 (RFC 7946); "
            "fix the file's transform or CRS"
        )
    return geo


def _crs_label(crs) -> str:
    """``EPSG:32633``, else the name in the CRS's WKT (``site grid``), else its string."""
    if crs.to_epsg():
        return f"EPSG:{crs.to_epsg()}"
    named = re.search(r'"([^"]+)"', crs.to_wkt())
    return named.group(1) if named else crs.to_string()


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
    if not geo.georeferenced:
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
    if not geo.georeferenced:
        return [[float(c), float(r)] for c, r in zip(cols, rows)]
    lon, lat = pixel_to_lonlat(geo, cols, rows)
    return [[float(a), float(b)] for a, b in zip(lon, lat)]


def _signed_area(points) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:]))


def _need_crs(geo: SceneGeo) -> None:
    if geo.crs is None:
        raise ValueError("the scene has no CRS: its coordinates are pixels, not lon/lat")
    if geo.pixels_because:
        raise ValueError(f"the scene's coordinates are pixels, not lon/lat: {geo.pixels_because}")
