"""Scores on the scale papers print them: the one place that multiplies by 100.

Metrics are computed and stored on their 0-1 scale (``metrics.json``, ``predictions.jsonl``,
``val_metrics.jsonl``); tables shown to people print BLEU, METEOR, ROUGE-L, CIDEr, SPICE and
Geo-Sim x100, as the captioning papers do::

    as_percent(0.4312)                 # 43.12
    as_percent(runs_table(found))      # a copy with every metric column x100
    as_percent({"CIDEr": 0.9, "step": 20})   # {"CIDEr": 90.0, "step": 20}

Light: pandas is not imported here (a table is scaled through its own methods).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Real

from rsic_core.scoring.metrics import ALL_METRICS

PAPER_SCALE = 100  # score x PAPER_SCALE = the number a paper prints
SCALE_NOTE = f"x{PAPER_SCALE}"  # for axis labels and captions: "CIDEr (x100)"


def metric_columns(columns: Iterable[str]) -> list[str]:
    """The metric names among ``columns`` (a table's columns, a dict's keys), in :data:`ALL_METRICS` order."""
    present = set(columns)
    return [m for m in ALL_METRICS if m in present]


def as_percent(scores, metrics: Iterable[str] | None = None):
    """``scores`` x :data:`PAPER_SCALE`; the input is not changed.

    Args:
        scores: a number (None and NaN stay as they are), a mapping of name -> score, a pandas
            Series of scores, or a DataFrame with metric columns.
        metrics (the names in :data:`ALL_METRICS`): the keys or columns to scale, for a mapping
            or a DataFrame; the others (step, seconds, image counts) are kept as they are.

    Returns:
        The same kind of value, scaled.

    Raises:
        ValueError: a name in ``metrics`` is not a key or column of ``scores``.
        TypeError: ``scores`` is none of these.
    """
    if scores is None:
        return None
    if isinstance(scores, Real) and not isinstance(scores, bool):
        return float(scores) * PAPER_SCALE if not math.isnan(scores) else float(scores)
    if isinstance(scores, Mapping):
        names = _names(scores.keys(), metrics)
        return {k: as_percent(v) if k in names else v for k, v in scores.items()}
    if hasattr(scores, "columns"):  # a DataFrame
        names = _names(scores.columns, metrics)
        scaled = scores.copy()
        if names:
            scaled[names] = scaled[names] * PAPER_SCALE
        return scaled
    if hasattr(scores, "mul"):  # a Series
        return scores * PAPER_SCALE
    raise TypeError(f"as_percent: expected a number, mapping, Series or DataFrame, got {type(scores).__name__}")


def _names(present: Iterable[str], metrics: Iterable[str] | None) -> list[str]:
    present = list(present)
    if metrics is None:
        return metric_columns(present)
    names = list(metrics)
    missing = [m for m in names if m not in present]
    if missing:
        raise ValueError(f"no {', '.join(map(repr, missing))} to scale (there are: {', '.join(map(str, present))})")
    return names
