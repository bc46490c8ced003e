"""Leaderboard: every run and imported prediction file of one dataset split, scored with one evaluator, against a baseline."""

import streamlit as st

from rsic_core.runs.leaderboard import board_runs
from rsic_core.runs.tables import run_label
from rsic_core.scoring.scale import NUMBER_FORMAT, SCALE_NOTE, as_percent, metric_columns
from ui import bootstrap_cache, runs_cache

st.title("Leaderboard")
boards = board_runs(runs_cache.list_runs(runs_cache.runs_root_input()))
if not boards:
    st.info(
        "No run with predictions yet. Evaluate a model on the Compare page, or `rsic evaluate --model M --data PATH "
        "--eval-split test`, or score a predictions file with `rsic score FILE`."
    )
    st.stop()

left, middle, right = st.columns(3)
name = left.selectbox("Dataset / split", list(boards), key="leaderboard_board")
runs = boards[name]
labels = {str(r.path): run_label(r) for r in runs}
baseline = middle.selectbox(
    "Baseline", list(labels), index=None, format_func=labels.get, key="leaderboard_baseline", placeholder="none"
)
with right:
    groups = bootstrap_cache.groups_input("leaderboard_metrics")
if not groups:
    st.info("Choose at least one metric.")
    st.stop()
metric = "CIDEr" if "cider" in groups else {"bleu": "BLEU-4", "rouge": "ROUGE-L", "meteor": "METEOR"}.get(groups[0])
metric = metric or "Geo-Sim (mean)"

table = bootstrap_cache.board(list(labels), baseline, metric, groups)
for note in table.attrs.get("notes") or []:
    st.warning(note, icon=":material/warning:")
if table.empty:
    st.stop()
metrics = metric_columns(table.columns)
shown = as_percent(table, [*metrics, "vs baseline", "low", "high"])
shown["A wins"] = 100 * shown["A wins"]
# the scores first, so that they stay on screen beside the pinned run name; what the run was comes after them
columns = ["run", "folder", "images", *metrics]
if baseline:
    columns += ["vs baseline", "low", "high", "A wins"]
columns += ["protocol", "kind", "model", "adapter", "source"]
number = st.column_config.NumberColumn(format=NUMBER_FORMAT)
st.dataframe(
    shown[[c for c in columns if c in shown.columns and (c in ("run", "protocol") or shown[c].notna().any())]],
    hide_index=True,
    column_config=dict.fromkeys([*metrics, "vs baseline", "low", "high"], number)
    | {"A wins": st.column_config.NumberColumn("A wins (%)", format="%.1f")}
    | {"run": st.column_config.TextColumn(pinned=True), "protocol": st.column_config.TextColumn(width="medium")},
)
st.caption(
    f"Scores {SCALE_NOTE}, every run scored again here with the same metrics (its own scores may differ), best "
    f"{metric} first; click a column to sort."
    + (
        f" vs baseline: {metric} of the run minus the baseline's, low-high its 95 % interval over 1,000 paired "
        "resamples of the images (seed 0), A wins: the share of resamples where the run beats the baseline."
        if baseline
        else " Choose a baseline for the interval of each run against it."
    )
)
