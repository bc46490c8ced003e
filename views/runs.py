"""Runs: every evaluation and training run with its corpus metrics side by side."""

from pathlib import Path

import streamlit as st

from rsic_core.runs import plots, tables
from rsic_core.scoring.scale import DECIMALS, NUMBER_FORMAT, SCALE_NOTE, as_percent, metric_columns
from ui import runs_cache

st.title("Runs")
root = runs_cache.runs_root_input()


def _import_predictions(root: str) -> None:
    """Score a prediction file (uploaded, or a path under the data folders) and keep it as an imported run."""
    from rsic_core import paths
    from rsic_core.data.caption_sets import file_sha256
    from rsic_core.data.roots import dataset_under_roots, file_under_roots
    from rsic_core.runs.imports import import_predictions
    from rsic_core.scoring.metrics import METRIC_GROUPS, ScoreConfig
    from ui import state

    upload = st.file_uploader("Prediction file", type=["json", "jsonl", "csv", "tsv", "txt"], key="import_upload")
    typed = st.text_input("or its path under the data folders", key="import_path")
    data = st.text_input("Dataset or coco annotations file (empty: the loaded dataset)", key="import_data")
    split = st.text_input("Split", value="test", key="import_split")
    groups = st.multiselect("Metrics", METRIC_GROUPS[:5], default=list(METRIC_GROUPS[:5]), key="import_metrics")
    allow_missing = st.checkbox("Leave out images without a prediction (else scored as empty)", key="import_missing")
    if not st.button("Score and keep as a run", key="import_go") or not (upload or typed.strip()):
        return
    try:
        if upload is not None:  # kept under RSIC_HOME so that the run's source path stays readable
            folder = paths.rsic_home() / "imports"
            folder.mkdir(parents=True, exist_ok=True)
            source = folder / Path(upload.name).name
            source.write_bytes(upload.getvalue())
            source = source.rename(folder / f"{file_sha256(source)[:12]}-{upload.name}")
        else:
            source = file_under_roots(typed)
        dataset = (
            file_under_roots(data)
            if data.strip().endswith(".json")
            else dataset_under_roots(data.strip() or state.dataset_path())
        )
        with st.spinner("Scoring..."):
            run, scores, report = import_predictions(
                source,
                dataset,
                split.strip(),
                ScoreConfig(score_metrics=tuple(groups)),
                allow_missing,
                root=root,
            )
    except (ValueError, OSError) as e:
        st.error(str(e))
        return
    st.success(f"Scored {scores.n_images:,} images into {run.name}: " + "; ".join(report.lines()))


with st.expander("Import predictions", icon=":material/upload_file:"):
    _import_predictions(root)
found = runs_cache.list_runs(root)
if not found:
    st.info(
        "No runs yet. Evaluate a model on the Compare page (Evaluate a model on the loaded dataset), or "
        "`rsic evaluate --model M --data PATH --split test` (a zero-shot baseline is a run without `--adapter`)."
    )
    st.stop()

table = tables.runs_table(found)
metrics = metric_columns(table.columns)
shown = as_percent(table)
# LoRA columns only once a training run exists; what tells runs apart (data, split, model, adapter) always
always = ("run", "folder", "status", "data", "split", "model", "adapter", "images")
columns = [c for c in (*tables.RUN_COLUMNS, *metrics) if c in always or shown[c].notna().any()]
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
