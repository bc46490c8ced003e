"""Datasets of this field and their problems: records, formats, loading, validation, images.

Lives here:

- ``records``: ImageRecord, Problem
- ``textfiles``: encodings, JSON, CSV rows, every loss named
- ``formats``: Karpathy, NWPU, RISC, generic CSV/JSONL readers; ``detection``: formats told by their fields
- ``hub``: the hub's parquet and ``save_to_disk`` layout, with ``cells`` (one image's bytes by reference)
- ``datasets``: ``load_dataset`` (image paths kept inside their folder); ``roots``: which paths the app takes
- ``validation``: what is there and what is wrong; ``audit``: leaks between splits, weak references, and which
  standard split each is, with ``standard_splits`` (RSICD, UCM, Sydney split lists in ``splits/``)
- ``images``: the one image decoder and the one image-folder scan, with ``rasters`` (16-bit and multi-band
  GeoTIFFs); ``thumbnails``: gallery JPEGs
- ``subsets``: a seeded sample of a split stratified by class, for quick evaluations
- ``caption_sets``: preprocessed captions saved to train on
- ``mosaic``: scenes made of tiles (demo tiles or a dataset's photos) as a GeoTIFF and its truth
- ``demo/``: the offline demo dataset generator

May import: ``rsic_core.text`` and ``rsic_core.paths``.
"""
