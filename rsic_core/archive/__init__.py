"""Whole archives: batch captioning of many images on Ray Data, written as resumable parquet shards.

- :mod:`~rsic_core.archive.sources`: what ``rsic caption SOURCE...`` names (image files, folders,
  datasets of any format the project reads, parquet files with image bytes) as a list of
  :class:`~rsic_core.archive.sources.ImageRef`.
- :mod:`~rsic_core.archive.shards`: the archive folder (``archive.json``, ``shard-*.parquet``): which
  images are done, atomic shard writes, refusing a folder made with other settings, reading it back.
- :mod:`~rsic_core.archive.ray_engine`: the only module that imports ray (inside its functions):
  a Ray Dataset of image references, ``map_batches`` with one captioner actor per worker.
- :mod:`~rsic_core.archive.evaluation`: ``rsic evaluate --engine ray``, captions through the engine,
  then the usual scoring and run folder.
- :mod:`~rsic_core.archive.reaper`: the processes of a local Ray that its driver started, ended when the
  driver dies (no ray imported).

Importing this package (or any module of it) never imports ray.

May import: models, data, runs, scoring and the layers below them.
"""
