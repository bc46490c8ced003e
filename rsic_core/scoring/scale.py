"""Scores on the scale papers print them: the one place that multiplies by 100.

Metrics are computed and stored on their 0-1 scale (``metrics.json``, ``predictions.jsonl``,
``val_metrics.jsonl``); tables shown to people print BLEU, METEOR, ROUGE-L, CIDEr, SPICE and
Geo-Sim x100, as the captioning papers do, always with :data:`DECIMALS` decimals::

    as_percent(0.4312)                 # 43.12
    as_percent(runs_table(found))      # a copy with every metric column x100
    as_percent({"CIDEr": 0.9, "step": 20})   # {"CIDEr": 90.0, "step": 20}
    format_score(2.3e-09)              # "0.00": a BLEU-4 with no 4-gram in common, never "0.000000006"
    shown(0.43125)                     # 43.12: the number printed, which a threshold is compared with
    NUMBER_FORMAT                      # "%.2f", for a table column of scores already x100

Light: pandas is not imported here (a table is scaled through its own methods).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Real

from rsic_core.scoring.metrics import ALL_METRICS

PAPER_SCALE = 100  # score x PAPER_SCALE = the number a paper prints
SCALE_NOTE = f"x{PAPER_SCALE}"  # for axis labels and captions: "CIDEr (x100)"
DECIMALS = 2  # decimals of every score shown (x100): "43.12"
NUMBER_FORMAT = f"%.{DECIMALS}f"  # printf-style, for table columns of scores already x100 (Streamlit's NumberColumn)


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


def shown(scores):
    """``scores`` as they are printed: x :data:`PAPER_SCALE`, rounded to :data:`DECIMALS` decimals.

    The rounding is Python's (correctly rounded, as ``format`` rounds), so a value compared here is
    the very number the user reads: ``shown(2.3e-09) == 0.0``.

    Args:
        scores: a number (None and NaN stay as they are) or a pandas Series of 0-1 scores.
    """
    scaled = as_percent(scores)
    if hasattr(scaled, "map"):  # a Series, rounded value by value (numpy's round is not always format's)
        return scaled.map(_rounded)
    return _rounded(scaled)


def format_score(score) -> str:
    """A 0-1 score as text: x100 with :data:`DECIMALS` decimals (``"43.12"``), an en dash when there is none."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "\u2013"
    return f"{as_percent(score):.{DECIMALS}f}"


def _rounded(value):
    return value if value is None or math.isnan(value) else round(value, DECIMALS)


def _names(present: Iterable[str], metrics: Iterable[str] | None) -> list[str]:
    present = list(present)
    if metrics is None:
        return metric_columns(present)
    names = list(metrics)
    missing = [m for m in names if m not in present]
    if missing:
        raise ValueError(f"no {', '.join(map(repr, missing))} to scale (there are: {', '.join(map(str, present))})")
    return names
