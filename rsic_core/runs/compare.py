"""The Compare page's view of one run: which images to show, worst first.

A run's predictions table (:meth:`rsic_core.runs.records.Run.predictions_frame` with the columns
of :func:`rsic_core.scoring.error_analysis.analyze_run`) is filtered by scene class, split, a
score threshold and error kinds, then sorted by a metric::

    table = analyze_run(load_run(folder).predictions_frame())
    worst = filter_predictions(table, CompareFilter(sort_by="CIDEr", labels=("harbor",)))
    zeros = filter_predictions(table, CompareFilter(sort_by="BLEU-4", at_most=0))  # every BLEU-4 shown as 0.00

The threshold is on the scale the page shows (x100, :mod:`rsic_core.scoring.scale`) and is
compared with each score *as shown* (rounded to :data:`~rsic_core.scoring.scale.DECIMALS`
decimals), not with the stored value: BLEU-4 of a caption with no 4-gram in common comes out of
the scorer as about 1e-9, is printed 0.00, and "at most 0" must keep it. The files keep the
scorer's unrounded values (rounding them when written would change every score read back and
every rescore); rounding happens only where a score meets a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsic_core.scoring.error_analysis import ERROR_KINDS
from rsic_core.scoring.scale import metric_columns, shown


@dataclass(frozen=True)
class CompareFilter:
    """Which images of a run to show, and in which order."""

    sort_by: str = "image_id"  # a metric column (image_id when the run has no scores)
    worst_first: bool = True  # lowest scores first (unscored images before them)
    at_most: float | None = None  # only images whose ``sort_by`` score, as shown (x100, rounded), is at most this
    labels: tuple[str, ...] = ()  # only these scene classes (empty: all)
    splits: tuple[str, ...] = ()  # only these splits (empty: all)
    error_kinds: tuple[str, ...] = ()  # only images showing every one of these error kinds


@dataclass(frozen=True)
class FilterChoices:
    """What a :class:`CompareFilter` can name for one table (the options of the page's widgets)."""

    metrics: list[str]  # metric columns, in ALL_METRICS order
    sort_by: list[str]  # the metrics, or ["image_id"] when there is none
    labels: list[str]
    splits: list[str]
    error_kinds: tuple[str, ...] = ERROR_KINDS


def filter_choices(table) -> FilterChoices:
    """The metrics, classes and splits present in a predictions table."""
    metrics = metric_columns(table.columns)
    return FilterChoices(
        metrics=metrics,
        sort_by=metrics or ["image_id"],
        labels=sorted(table["label"].dropna().unique()),
        splits=sorted(table["split"].dropna().unique()),
    )


def filter_predictions(table, view: CompareFilter):
    """The rows of ``table`` that ``view`` keeps, sorted by ``view.sort_by``.

    Args:
        table: a run's analysed predictions table (one row per image).
        view: what to keep and how to sort.

    Returns:
        A DataFrame (the same columns), images with no ``sort_by`` score first.

    Raises:
        ValueError: ``view`` names a column the table lacks, or a threshold without a metric to sort by.

    ``view.at_most`` is compared with the scores as they are shown (see the module docstring).
    """
    if view.sort_by not in table.columns:
        raise ValueError(f"cannot sort by {view.sort_by!r}: the run has no such column")
    missing = [k for k in view.error_kinds if k not in table.columns]
    if missing:
        raise ValueError(f"no error analysis for {', '.join(missing)}: analyse the run first (analyze_run)")
    rows = table
    if view.labels:
        rows = rows[rows["label"].isin(view.labels)]
    if view.splits:
        rows = rows[rows["split"].isin(view.splits)]
    if view.at_most is not None:
        if view.sort_by not in metric_columns(table.columns):
            raise ValueError(f"a score threshold needs a metric to sort by, not {view.sort_by!r}")
        rows = rows[shown(rows[view.sort_by]) <= view.at_most]
    for kind in view.error_kinds:
        rows = rows[rows[kind].astype(bool)]
    return rows.sort_values(view.sort_by, ascending=view.worst_first, na_position="first")


def errors_by_class(view):
    """Images per scene class (rows) and error kind (columns), every kind a column even when no image is left.

    Args:
        view: an analysed predictions table, filtered or not (may be empty).
    """
    import pandas as pd

    counts = {kind: view.groupby("label", dropna=False)[kind].sum().astype(int) for kind in ERROR_KINDS}
    table = pd.DataFrame(counts, columns=list(ERROR_KINDS))
    table.index.name = "label"
    return table


def time_label(seconds: float | None, batch_size: int | None) -> str | None:
    """How long one image took, said honestly: a batch's time shared out is a batch average.

    Args:
        seconds: the image's share of its batch's captioning time (``PredictionRow.seconds``).
        batch_size: the run's ``caption.batch_size`` (None: not known).

    Returns:
        ``"212 ms"`` (batch size 1: this image alone), ``"212 ms per image, batch average (batch size 8)"``,
        or None when there is no time.
    """
    if seconds is None or seconds != seconds:  # None or NaN
        return None
    ms = f"{seconds * 1000:.0f} ms"
    if batch_size == 1:
        return ms
    return f"{ms} per image, batch average" + (f" (batch size {batch_size})" if batch_size else "")
