"""Scores of predictions: coco-caption metrics, Geo-Sim, error analysis, efficiency.

Lives here: ``coco`` (pycocoevalcap runners and the Java check), ``metrics`` (``score()``,
Geo-Sim), ``error_analysis`` (per-image error kinds and breakdowns), ``efficiency`` (parameters,
GFLOPs, latency, memory, size).

May import: ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text``, ``rsic_core.paths``.
"""
