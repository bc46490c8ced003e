"""Scores of predictions: coco-caption metrics, Geo-Sim, error analysis, efficiency, the x100 scale.

Lives here: ``coco`` (pycocoevalcap runners and the Java check), ``metrics`` (``score()``,
Geo-Sim), ``error_analysis`` (per-image error kinds and breakdowns), ``efficiency`` (parameters,
GFLOPs, latency, memory, size), ``scale`` (scores x100 as papers print them: the one place).

May import: ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text``, ``rsic_core.paths``.
"""
