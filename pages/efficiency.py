"""Efficiency: what each run's model costs, against how well it captions."""

import plotly.express as px
import streamlit as st

from rsic_core.runs import tables
from rsic_core.scoring.metrics import ALL_METRICS
from ui import runs_cache

COSTS = ["GFLOPs/image", "latency (ms/image)", "params (M)", "trainable (M)", "size (MB)", "peak memory (MB)"]


def _axis_range(values) -> list[float]:
    """From 0 (or the lowest value, if negative) to the highest value, with room for the labels."""
    low, high = min(0.0, float(values.min())), max(float(values.max()), 0.0)
    pad = (high - low) * 0.15 or max(abs(high), 1.0) * 0.15
    return [low - (pad if low < 0 else 0), high + pad]


st.title("Efficiency")
found = runs_cache.list_runs(runs_cache.runs_root_input())
table = tables.runs_table(found) if found else None
if table is None or table[[c for c in COSTS if c in table.columns]].isna().all().all():
    st.info("No run has an efficiency report yet: `rsic evaluate` writes one (efficiency.json) for each run.")
    st.stop()

metrics = [m for m in ALL_METRICS if m in table.columns]
table[metrics] = table[metrics] * 100  # the Runs page's scale
st.dataframe(
    table[["run", "folder", "model", "adapter", *COSTS, "split", "images", *metrics]],
    hide_index=True,
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in COSTS}
    | {m: st.column_config.NumberColumn(format="%.2f") for m in metrics},
)
if warning := tables.image_set_warning(found):
    st.warning(warning, icon=":material/warning:")
c1, c2 = st.columns(2)
cost = c1.selectbox("Cost", COSTS)
metric = c2.selectbox("Metric", metrics, index=metrics.index("CIDEr") if "CIDEr" in metrics else 0) if metrics else None
points = table.dropna(subset=[cost, *([metric] if metric else [])])
if metric and len(points):
    figure = px.scatter(
        points,
        x=cost,
        y=metric,
        text="run",
        hover_data=["folder", "model", "adapter", "split", "images"],
        labels={metric: f"{metric} (x100)"},
    )
    figure.update_traces(textposition="top center", marker={"size": 12}, cliponaxis=False)
    figure.update_xaxes(range=_axis_range(points[cost]))
    figure.update_yaxes(range=_axis_range(points[metric]))
    figure.update_layout(margin={"l": 60, "r": 60, "t": 40, "b": 50})
    st.plotly_chart(figure, width="stretch")
    st.caption(f"Up and to the left is better: more {metric} for less {cost}. Scores are x100, as on the Runs page.")
else:
    st.caption(f"No run has both {cost} and a score to plot.")
