"""Runs: every evaluation and training run with its corpus metrics side by side."""

import plotly.express as px
import streamlit as st

from rsic_core.runs import tables
from rsic_core.scoring.metrics import ALL_METRICS
from ui import runs_cache

st.title("Runs")
found = runs_cache.list_runs(runs_cache.runs_root_input())
if not found:
    st.info(
        "No runs yet. Evaluate a model first: `rsic evaluate --model M --data PATH --split test` "
        "(a zero-shot baseline is a run without `--adapter`)."
    )
    st.stop()

table = tables.runs_table(found)
metrics = [m for m in ALL_METRICS if m in table.columns]
scale = st.toggle("Scores x100 (as papers print them)", value=True)
shown = table.copy()
if scale:
    shown[metrics] = shown[metrics] * 100
columns = ["run", "folder", "kind", "model", "adapter", "data", "lora_r", "lora_alpha", "split", "images", *metrics]
# LoRA columns only once a training run exists; split and images always, beside the scores
columns = [c for c in columns if c in ("split", "images") or shown[c].notna().any()]
if warning := tables.image_set_warning(found):
    st.warning(warning, icon=":material/warning:")
st.dataframe(
    shown[columns], hide_index=True, column_config={m: st.column_config.NumberColumn(format="%.2f") for m in metrics}
)

chosen = st.multiselect(
    "Metrics in the chart", metrics, default=[m for m in ("BLEU-4", "METEOR", "ROUGE-L", "CIDEr") if m in metrics]
)
if chosen:
    long = shown.melt(id_vars=["folder"], value_vars=chosen, var_name="metric", value_name="score")
    st.plotly_chart(
        px.bar(
            long,
            x="metric",
            y="score",
            color="folder",
            barmode="group",
            labels={"score": "score (x100)" if scale else "score (0-1)"},
        ),
        width="stretch",
    )

for run in found:
    notes = [*(run.metrics.get("notes") or []), *(f"{k}: {v}" for k, v in (run.metrics.get("skipped") or {}).items())]
    if notes or run.problems:
        with st.expander(f"Notes on {run.path.name}"):
            st.markdown("\n".join(f"- {n}" for n in [*notes, *run.problems]))
