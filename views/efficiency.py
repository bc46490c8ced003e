"""Efficiency: what each run's model costs, against how well it captions."""

import streamlit as st

from rsic_core.runs import plots, tables
from rsic_core.scoring.scale import NUMBER_FORMAT, SCALE_NOTE, as_percent, metric_columns
from ui import runs_cache

COSTS = list(tables.COST_COLUMNS)
LATENCY_HELP = (
    "Median time of one generate() call on the timed batch, divided by its images: a batch average per image, "
    "not one image captioned alone (unless the timed batch is 1)."
)

st.title("Efficiency")
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
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in COSTS}
    | {"latency (ms/image)": st.column_config.NumberColumn(format="%.1f", help=LATENCY_HELP)}
    | {m: st.column_config.NumberColumn(format=NUMBER_FORMAT) for m in metrics},
)
st.caption(f"latency (ms/image): {LATENCY_HELP} Scores {SCALE_NOTE}.")
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
