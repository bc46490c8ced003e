"""Efficiency: what each run's model costs, against how well it captions."""

import plotly.express as px
import streamlit as st

from rsic_core import runs
from rsic_core.metrics import ALL_METRICS
from ui import runs_cache

COSTS = ["GFLOPs/image", "latency (ms/image)", "params (M)", "trainable (M)", "size (MB)", "peak memory (MB)"]

st.title("Efficiency")
found = runs_cache.list_runs(runs_cache.runs_root_input())
table = runs.runs_table(found) if found else None
if table is None or table[[c for c in COSTS if c in table.columns]].isna().all().all():
    st.info("No run has an efficiency report yet: `rsic evaluate` writes one (efficiency.json) for each run.")
    st.stop()

metrics = [m for m in ALL_METRICS if m in table.columns]
st.dataframe(table[["run", "model", "adapter", *COSTS, "images"]], hide_index=True,
             column_config={c: st.column_config.NumberColumn(format="%.3f") for c in COSTS})
c1, c2 = st.columns(2)
cost = c1.selectbox("Cost", COSTS)
metric = c2.selectbox("Metric", metrics, index=metrics.index("CIDEr") if "CIDEr" in metrics else 0) if metrics else None
points = table.dropna(subset=[cost, *([metric] if metric else [])])
if metric and len(points):
    figure = px.scatter(points, x=cost, y=metric, text="run", hover_data=["model", "adapter"])
    figure.update_traces(textposition="top center", marker={"size": 12})
    st.plotly_chart(figure, width="stretch")
    st.caption(f"Up and to the left is better: more {metric} for less {cost}.")
else:
    st.caption(f"No run has both {cost} and a score to plot.")
