"""Runs: every evaluation and training run with its corpus metrics side by side."""

import streamlit as st

from rsic_core.runs import plots, tables
from rsic_core.scoring.scale import DECIMALS, NUMBER_FORMAT, SCALE_NOTE, as_percent, metric_columns
from ui import prediction_import, runs_cache

st.title("Runs")
root = runs_cache.runs_root_input()

with st.expander("Import predictions", icon=":material/upload_file:"):
    prediction_import.import_form(root)
found = runs_cache.list_runs(root)
if not found:
    st.info(
        "No runs yet. Evaluate a model on the Compare page (Evaluate a model on the loaded dataset), or "
        "`rsic evaluate --model M --data PATH --eval-split test` (a zero-shot baseline is a run without `--adapter`)."
    )
    st.stop()

table = tables.runs_table(found)
metrics = metric_columns(table.columns)
shown = as_percent(table)
# LoRA columns only once a training run exists; what tells runs apart (data, split, model, adapter) always
always = ("run", "folder", "status", "data", "split", "model", "adapter", "images")
columns = [c for c in (*tables.RUN_COLUMNS, *metrics) if c in always or shown[c].notna().any()]
if leaky := [r.path.name for r in found if r.config.get("leakage")]:  # scored on images they trained on
    st.warning(f"Trained on the split they are scored on (leakage; their scores measure memory): {', '.join(leaky)}")
if warning := tables.image_set_warning(found):
    st.warning(warning, icon=":material/warning:")
st.dataframe(
    shown[columns],
    hide_index=True,
    column_config={m: st.column_config.NumberColumn(format=NUMBER_FORMAT) for m in metrics}
    # the folder names and a training run's adapter path are long: cut short, they no longer push captions and
    # scores off the screen (widen a column to read all of it); the run's name stays in view when scrolling
    | {c: st.column_config.TextColumn(width="medium") for c in ("folder", "adapter")}
    | {"run": st.column_config.TextColumn(pinned=True)},
)
st.caption(f"Scores {SCALE_NOTE}, as papers print them, with {DECIMALS} decimals.")

chosen = st.multiselect(
    "Metrics in the chart",
    metrics,
    default=[m for m in ("BLEU-4", "METEOR", "ROUGE-L", "CIDEr") if m in metrics],
    key="runs_chart_metrics",
)
if chosen:
    st.plotly_chart(plots.scores_figure(table, chosen), width="stretch")

for run in found:
    notes = [*(run.metrics.get("notes") or []), *(f"{k}: {v}" for k, v in (run.metrics.get("skipped") or {}).items())]
    if notes or run.problems:
        with st.expander(f"Notes on {run.path.name}"):
            st.markdown("\n".join(f"- {n}" for n in [*notes, *run.problems]))
