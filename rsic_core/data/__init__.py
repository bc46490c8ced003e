"""Datasets of this field and their problems: records, formats, loading, validation, images.

Lives here: ``records`` (ImageRecord, Problem), ``textfiles`` (encodings, JSON, CSV rows), ``formats``
(Karpathy, NWPU, RISC, generic CSV/JSONL readers), ``hub`` (the hub's parquet and ``save_to_disk``
layout) with ``cells`` (one image's bytes by reference), ``detection`` (formats told by their fields),
``datasets`` (``load_dataset``; image paths kept inside their folder), ``roots`` (which dataset paths
the app takes), ``validation``, ``images`` (the one image decoder) with ``rasters`` (16-bit and
multi-band GeoTIFFs), ``thumbnails``, ``subsets`` (a seeded sample of a split stratified by class, for
quick evaluations), ``caption_sets`` (preprocessed captions saved to train on), and ``demo/`` (the
offline demo dataset generator).

May import: ``rsic_core.text`` and ``rsic_core.paths``.
"""
