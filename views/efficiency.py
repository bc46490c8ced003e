"""Efficiency: what each run's model costs, against how well it captions; the study's cost table beside ours."""

import streamlit as st

from rsic_core.runs import plots, tables
from rsic_core.scoring import costs
from rsic_core.scoring.scale import NUMBER_FORMAT, SCALE_NOTE, as_percent, metric_columns
from ui import costs_cache, runs_cache

COSTS = list(tables.COST_COLUMNS)
LATENCY_HELP = (
    "Median time of one generate() call on the timed batch, divided by its images: a batch average per image, "
    "not one image captioned alone (unless the timed batch is 1)."
)
MISSING = "n/a"  # what an empty cell shows (Streamlit's default is "None")
COMPARISON_ORDER = (
    "model",
    "shape",
    "note",
    *(c for c in costs.comparison_rows([])[0] if c not in ("model", "shape", "note")),
)


def missing_note(rows: list[dict]) -> str:
    """What the n/a cells of the model comparison mean, said under the table (the reason beside the gap)."""
    unpublished = [r["model"] for r in rows if any(v is None for k, v in r.items() if k.startswith("study:"))]
    uncounted = [r["model"] for r in rows if r["measured: total"] is None]
    parts = []
    if unpublished:
        parts.append(f"{MISSING} in a study column: the study published no such figure ({', '.join(unpublished)})")
    if uncounted:
        parts.append(
            f"{MISSING} in a measured column: not counted ({', '.join(uncounted)}); pick the models above and press "
            "**Count parameters and MACs**"
        )
    return "; ".join(parts) + "." if parts else ""


st.title("Efficiency")
runs_tab, models_tab = st.tabs(["Runs", "Model comparison"])

with models_tab:
    st.caption(
        "The BLIP-2 study's cost table as published beside our count of the same architectures, built with random "
        f"weights on the meta device (`rsic efficiency --shape NAME` prints the same). {costs.CONVENTIONS}"
    )
    shapes = costs.shape_names()
    chosen = st.multiselect("Models to count", shapes, default=shapes, key="efficiency_shapes")
    if st.button("Count parameters and MACs", key="efficiency_count"):
        st.session_state["efficiency_counted"] = True
    counted, errors = costs_cache.measured(chosen) if st.session_state.get("efficiency_counted") else ([], [])
    for error in errors:
        st.error(error)
    rows = costs.comparison_rows(counted)
    st.dataframe(
        rows,
        hide_index=True,
        placeholder=MISSING,
        column_order=COMPARISON_ORDER,  # the note beside the model: as the last of 11 columns it sat off-screen
        column_config={"model": st.column_config.TextColumn(pinned=True)}
        | {c: st.column_config.NumberColumn(format="localized") for c in ("measured: total", "measured: trainable")}
        | {c: st.column_config.NumberColumn(format="%.2f") for c in ("measured: GMACs", "measured: GFLOPs (2/MAC)")},
    )
    st.caption(missing_note(rows))
    st.caption(
        "Trainable: what full training trains after the family's default freezing (PureT: all but the Swin-L "
        "backbone; BITA: all but the CLIP and OPT towers; BLIP-2 and PaliGemma freeze no tower, so every "
        "parameter). PureT with the COCO vocabulary (9,487 words), as the study counted it: each word adds 1,025."
    )

with runs_tab:
    found = runs_cache.list_runs(runs_cache.runs_root_input())
    table = tables.runs_table(found) if found else None
    if table is None or table[[c for c in COSTS if c in table.columns]].isna().all().all():
        st.info("No run has an efficiency report yet: `rsic evaluate` writes one (efficiency.json) for each run.")
        st.stop()

    metrics = metric_columns(table.columns)
    shown = as_percent(table)  # the Runs page's scale
    st.dataframe(
        shown[["run", "folder", "data", "split", "model", "adapter", *COSTS, tables.LATENCY_BATCH, "images", *metrics]],
        hide_index=True,
        placeholder=MISSING,
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in COSTS}
        | {"latency (ms/image)": st.column_config.NumberColumn(format="%.1f", help=LATENCY_HELP)}
        | {m: st.column_config.NumberColumn(format=NUMBER_FORMAT) for m in metrics},
    )
    st.caption(
        f"latency (ms/image): {LATENCY_HELP} Scores {SCALE_NOTE}. {MISSING}: no adapter (a zero-shot run), or not in "
        "the run's efficiency report."
    )
    if warning := tables.image_set_warning(found):
        st.warning(warning, icon=":material/warning:")
    c1, c2 = st.columns(2)
    cost = c1.selectbox("Cost", COSTS, key="efficiency_cost")
    if not metrics:
        st.caption(f"No run has both {cost} and a score to plot.")
        st.stop()
    metric = c2.selectbox(
        "Metric", metrics, index=metrics.index("CIDEr") if "CIDEr" in metrics else 0, key="efficiency_metric"
    )
    try:
        figure = plots.efficiency_figure(table, cost, metric)
    except ValueError as e:
        st.caption(str(e))
    else:
        st.plotly_chart(figure, width="stretch")
        st.caption(
            f"Up and to the left is better: more {metric} for less {cost}. Scores are {SCALE_NOTE}, as on the Runs page."
        )
