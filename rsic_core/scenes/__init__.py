"""Whole scenes: a GeoTIFF captioned tile by tile into GeoJSON, and searched by text.

``tiling`` cuts the scene into windows, ``geo`` turns pixels into lon/lat, ``caption`` runs the job
(windowed reads, stretch, skipped tiles, batches, embeddings), ``geojson`` writes and reads the
FeatureCollection and its CSV, ``search`` ranks tiles by a text query, ``demo`` keeps the captioned
demo scene that the Map page opens on.

May import: ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text`` and the bottom layer
(never training, runs or cli).
"""
