"""Plotly figures of a runs table (:func:`rsic_core.runs.tables.runs_table`), no Streamlit here.

Scores come in on their 0-1 scale and are drawn x100 (:func:`rsic_core.scoring.scale.as_percent`),
the scale the Runs page prints::

    table = runs_table(list_runs())
    efficiency_figure(table, "latency (ms/image)", "CIDEr")   # cost against score, one point per run
    scores_figure(table, ["BLEU-4", "CIDEr"])                  # metrics side by side, one bar per run
"""

from __future__ import annotations

from collections.abc import Sequence

from rsic_core.scoring.scale import SCALE_NOTE, as_percent

HOVER = ["folder", "data", "split", "model", "adapter", "images"]


def axis_range(values) -> list[float]:
    """From 0 (or the lowest value, if negative) to the highest value, with room for the labels."""
    low, high = min(0.0, float(min(values))), max(float(max(values)), 0.0)
    pad = (high - low) * 0.15 or max(abs(high), 1.0) * 0.15
    return [low - (pad if low < 0 else 0), high + pad]


def efficiency_figure(table, cost: str, metric: str):
    """A scatter of ``cost`` against ``metric`` (x100): one labelled point per run that has both.

    Both axes start at 0, so distances read as ratios, and the run names are not clipped at the edges.

    Raises:
        ValueError: no run has both a ``cost`` and a ``metric`` (the message says so), or the table
            has no such column.
    """
    import plotly.express as px

    missing = [c for c in (cost, metric) if c not in table.columns]
    if missing:
        raise ValueError(f"the runs table has no {' or '.join(missing)} column")
    points = as_percent(table.dropna(subset=[cost, metric]), [metric])
    if points.empty:
        raise ValueError(f"No run has both {cost} and a {metric} score to plot.")
    figure = px.scatter(
        points,
        x=cost,
        y=metric,
        text="run",
        hover_data=[c for c in HOVER if c in points.columns],
        labels={metric: f"{metric} ({SCALE_NOTE})"},
    )
    figure.update_traces(textposition="top center", marker={"size": 12}, cliponaxis=False)
    figure.update_xaxes(range=axis_range(points[cost]))
    figure.update_yaxes(range=axis_range(points[metric]))
    figure.update_layout(margin={"l": 60, "r": 60, "t": 40, "b": 50})
    return figure


def scores_figure(table, metrics: Sequence[str], percent: bool = True):
    """Grouped bars of ``metrics``, one colour per run folder (x100 unless ``percent`` is False)."""
    import plotly.express as px

    shown = as_percent(table, metrics) if percent else table
    long = shown.melt(id_vars=["folder"], value_vars=list(metrics), var_name="metric", value_name="score")
    return px.bar(
        long,
        x="metric",
        y="score",
        color="folder",
        barmode="group",
        labels={"score": f"score ({SCALE_NOTE})" if percent else "score (0-1)"},
    )
