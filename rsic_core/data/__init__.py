"""Datasets of this field and their problems: records, formats, loading, validation, images.

Lives here: ``records`` (ImageRecord, Problem), ``formats`` (Karpathy, NWPU, RISC, generic CSV/JSONL
readers), ``datasets`` (detection and ``load_dataset``), ``validation``, ``images`` (the one image
decoder), ``thumbnails``, and ``demo/`` (the offline demo dataset generator).

May import: ``rsic_core.text`` and ``rsic_core.paths``.
"""
