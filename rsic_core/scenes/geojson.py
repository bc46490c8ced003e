"""A captioned scene as an RFC 7946 GeoJSON FeatureCollection, a CSV beside it, and both read back.

One Feature per captioned tile: a Polygon in WGS84 lon/lat (counter-clockwise), and properties::

    {"caption": "an aerial image of storage tanks", "row": 3, "col": 5,
     "window": [1120, 672, 224, 224],                # pixel x, y, width, height
     "bounds": [500560.0, 4999552.0, 500672.0, 4999664.0], "epsg": 32633,   # in the scene's CRS
     "valid": 1.0,                                   # share of the tile's pixels holding data
     "embedding": [0.0123, ...]}                     # the caption's unit sentence embedding, for search

The collection carries what was done in a foreign member ``rsic_scene`` (scene file, size, CRS,
tiling, bands and stretch, model, embedder, counts of captioned and skipped tiles). A scene without
a CRS keeps its geometries in pixel coordinates (x = column, y = row from the top-left corner):
``rsic_scene.coordinates`` says so, and such a file is not valid RFC 7946 (which allows only lon/lat);
so does a scene whose CRS has no transformation to WGS84, with the reason. A lon/lat collection is
checked against RFC 7946 before it is written (:func:`check_rfc7946`).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from rsic_core.scenes.caption import SceneResult
from rsic_core.scenes.geo import LAT_RANGE, LON_RANGE, crs_bounds, polygon, scene_corners

LONLAT = "WGS84 lon/lat"
IN_PIXELS = "pixels (x = column, y = row from the top-left corner): "
PIXELS = IN_PIXELS + "the scene has no CRS"
EMBEDDING_DECIMALS = 5  # cosine similarities stay within 1e-4 of the full-precision ones
CSV_COLUMNS = ["row", "col", "x", "y", "width", "height", "caption", "center_x", "center_y"]
CSV_COLUMNS += ["minx", "miny", "maxx", "maxy", "epsg", "valid"]


def feature_collection(result: SceneResult) -> dict:
    """The GeoJSON FeatureCollection of ``result`` (a plain dict, ready for ``json.dump``)."""
    geo, features = result.geo, []
    for i, tile_caption in enumerate(result.tiles):
        t = tile_caption.tile
        properties = {
            "caption": tile_caption.caption,
            "row": t.row,
            "col": t.col,
            "window": list(t.window),
            "bounds": crs_bounds(geo, *t.window),
            "epsg": geo.epsg,
            "valid": round(tile_caption.valid, 4),
        }
        if result.embeddings is not None:
            properties["embedding"] = [round(float(v), EMBEDDING_DECIMALS) for v in result.embeddings[i]]
        geometry = {"type": "Polygon", "coordinates": polygon(geo, *t.window)}
        features.append({"type": "Feature", "id": f"r{t.row}c{t.col}", "geometry": geometry, "properties": properties})
    corners = scene_corners(geo)
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return {
        "type": "FeatureCollection",
        "bbox": [min(xs), min(ys), max(xs), max(ys)],
        "rsic_scene": {
            "scene": result.path,
            "width": geo.width,
            "height": geo.height,
            "crs": geo.crs_name,
            "epsg": geo.epsg,
            "coordinates": LONLAT if geo.georeferenced else IN_PIXELS + geo.pixels_reason,
            "corners": corners,  # bottom-left, top-left, top-right, bottom-right
            "tile": result.config.tile,
            "overlap": result.config.overlap,
            "edges": result.config.edges,
            "bands": list(result.bands),
            "stretch": result.stretch,
            "model": result.model,
            "adapter": result.adapter,
            "embedder": result.embedder,
            "tiles": result.total,
            "captioned": len(result.tiles),
            "skipped_nodata": result.skipped["nodata"],
            "skipped_empty": result.skipped["empty"],
            "seconds": round(result.seconds, 2),
            "notes": result.notes,
        },
        "features": features,
    }


def in_pixels(info: dict) -> bool:
    """Whether a collection's ``rsic_scene`` says its geometries are pixels, not lon/lat."""
    return str(info.get("coordinates", "")).startswith(IN_PIXELS)


def check_rfc7946(collection: dict) -> None:
    """Refuse to write lon/lat geometries that RFC 7946 does not allow (non-finite, out of range, open rings).

    Raises:
        ValueError: one sentence naming the feature.
    """
    if in_pixels(collection.get("rsic_scene", {})):
        return
    for feature in collection["features"]:
        for ring in feature["geometry"]["coordinates"]:
            points = np.asarray(ring, np.float64)
            if len(points) < 4 or not np.array_equal(points[0], points[-1]):
                raise ValueError(f"feature {feature['id']}: its polygon is not a closed ring of 4 or more positions")
            lon, lat = points[:, 0], points[:, 1]
            inside = (LON_RANGE[0] <= lon) & (lon <= LON_RANGE[1]) & (LAT_RANGE[0] <= lat) & (lat <= LAT_RANGE[1])
            if not inside.all():  # NaN compares false: also refused
                bad = points[~inside][0]
                raise ValueError(
                    f"feature {feature['id']}: position {bad[0]:g}, {bad[1]:g} is not a WGS84 longitude, latitude "
                    "(RFC 7946); nothing was written"
                )


def csv_path(geojson_path: str | Path) -> Path:
    """The CSV written beside a GeoJSON: same name, ``.csv``."""
    return Path(geojson_path).with_suffix(".csv")


def write_scene(collection: dict, out: str | Path) -> tuple[Path, Path]:
    """Write ``collection`` to ``out`` and its table to :func:`csv_path`; each file replaced whole.

    Returns:
        The GeoJSON path and the CSV path.
    """
    check_rfc7946(collection)
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    _replace(out, lambda f: json.dump(collection, f, separators=(",", ":")))
    table = csv_path(out)
    _replace(table, lambda f: _write_rows(collection, f))
    return out, table


def summary(collection: dict) -> str:
    """One sentence of what a scene file holds: tiles captioned and skipped, CRS, coordinates."""
    info = collection.get("rsic_scene", {})
    skipped = info.get("skipped_nodata", 0) + info.get("skipped_empty", 0)
    text = f"{info.get('captioned', len(collection['features']))} of {info.get('tiles', '?')} tiles captioned"
    if skipped:
        text += f", {skipped} skipped ({info.get('skipped_nodata', 0)} nodata, {info.get('skipped_empty', 0)} empty)"
    text += f"; CRS {info.get('crs', '?')}"
    if in_pixels(info):
        why = str(info["coordinates"])[len(IN_PIXELS) :]
        text += f"; coordinates are pixels (x = column, y = row), not lon/lat: {why}"
    return text


def read_scene(path: str | Path) -> dict:
    """A FeatureCollection written by :func:`write_scene`, checked enough to search and map it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, not a FeatureCollection, no features, or a feature without caption or
            embedding, or whose embedding is not finite numbers or all zeros (nothing to rank by); one
            sentence naming the file (and the feature).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such GeoJSON file")
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a GeoJSON file (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a GeoJSON file (invalid JSON at line {e.lineno}, column {e.colno})") from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise ValueError(f"{path}: the FeatureCollection has no features: nothing to search or show")
    for i, feature in enumerate(features):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict) or not isinstance(properties.get("caption"), str):
            raise ValueError(f"{path}: feature {i} has no caption; write the file with rsic scene caption")
        if not isinstance(properties.get("embedding"), list) or not properties["embedding"]:
            raise ValueError(f"{path}: feature {i} has no caption embedding; write the file with rsic scene caption")
        _check_embedding(properties["embedding"], f"{path}: feature {i}'s caption embedding")
    return collection


def _check_embedding(values: list, label: str) -> None:
    again = "nothing to rank by; write the file again with rsic scene caption"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{label} holds values that are not numbers: {again}")
    vector = np.asarray(values, np.float64)
    if not np.isfinite(vector).all():
        raise ValueError(f"{label} holds NaN or infinite values: {again}")
    if not vector.any():
        raise ValueError(f"{label} is all zeros: {again}")


def embeddings(collection: dict) -> np.ndarray:
    """(features, d) float32 caption embeddings of a collection read by :func:`read_scene`.

    Raises:
        ValueError: the embeddings are not all of one length.
    """
    vectors = [f["properties"]["embedding"] for f in collection["features"]]
    if len({len(v) for v in vectors}) != 1:
        raise ValueError(
            "the caption embeddings are not all of one length; write the file again with rsic scene caption"
        )
    return np.asarray(vectors, np.float32)


def _write_rows(collection: dict, f) -> None:
    writer = csv.writer(f)
    writer.writerow(CSV_COLUMNS)
    for feature in collection["features"]:
        p = feature["properties"]
        ring = feature["geometry"]["coordinates"][0][:-1]
        centre = (sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring))
        writer.writerow(
            [p["row"], p["col"], *p["window"], p["caption"], f"{centre[0]:.7f}", f"{centre[1]:.7f}"]
            + [f"{v:.3f}" for v in p["bounds"]]
            + [p["epsg"] if p["epsg"] is not None else "", p["valid"]]
        )


def _replace(path: Path, write) -> None:
    """Write a file beside ``path`` and rename it over ``path``: the old file stays until the new one is complete.

    The file gets the usual mode of a new file (0644 under the common umask 022), not mkstemp's private 0600.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
