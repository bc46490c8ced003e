"""Whole scenes: a GeoTIFF captioned tile by tile into GeoJSON, and searched by text.

Lives here:

- ``tiling``: the tile windows over a scene
- ``reads``: a scene's pixels read per tile (or in strips where blocks span the width); GDAL's failures said
- ``geo``: pixels to the scene CRS to lon/lat, and back
- ``caption``: the job (one stretch for the scene, skipped tiles, batches, embeddings)
- ``geojson``: the FeatureCollection and its CSV, written and read back
- ``search``: tiles ranked by a text query, and the class a caption names
- ``demo``: the captioned demo scene the Map page opens on

May import: ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text`` and the bottom layer
(never training, runs or cli).
"""
