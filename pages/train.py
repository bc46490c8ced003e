"""Train: start a LoRA run in its own process, follow its loss and validation scores, cancel it."""

import pandas as pd
import streamlit as st

from rsic_core.scoring.scale import SCALE_NOTE
from rsic_core.training import jobs
from ui import state, train_cache

st.title("Train a LoRA adapter")


def widget(column, f: train_cache.FormField):
    """The input of one TrainConfig field (its label, help, default and choices come from the field)."""
    if f.widget == "select":
        return column.selectbox(f.label, f.choices, help=f.help)
    if f.widget == "checkbox":
        return column.checkbox(f.label, f.default, help=f.help)
    if f.widget == "number":
        return column.number_input(f.label, value=f.default, help=f.help, **f.bounds)
    return column.text_input(f.label, f.default, help=f.help)


with st.form("train_form", enter_to_submit=False):  # Enter in a field must not start a run
    columns = st.columns(4)
    config = {f.name: widget(columns[i % 4], f) for i, f in enumerate(train_cache.form_fields())}
    started = st.form_submit_button("Start training", type="primary")
if started:
    try:
        st.session_state["train_run"] = str(jobs.start({**config, "data": state.dataset_path()}))
    except ValueError as e:
        st.error(str(e))

past = jobs.training_runs()
if not past:
    st.info("No training run yet: fill in the form and press Start training (or run `rsic train` in a terminal).")
    st.stop()
names = [str(p) for p in past]
chosen = st.selectbox(
    "Run",
    names,
    index=names.index(st.session_state["train_run"]) if st.session_state.get("train_run") in names else 0,
    format_func=lambda p: p.rsplit("/", 1)[-1],
)


@st.fragment(run_every=2)
def live(run_dir: str) -> None:
    view = train_cache.run_view(run_dir)
    st.markdown(f"**{view['state']}**: {view['message']}")
    st.progress(view["fraction"], text=f"step {view['step']} of {view['max_steps'] or '?'}")
    if view["state"] in jobs.ACTIVE and st.button("Cancel run", key=f"cancel-{run_dir}"):
        jobs.cancel(run_dir)
        st.toast("Cancelling: the run stops after this step and saves a checkpoint.")
    if not view["log"].empty:
        st.line_chart(view["log"], x="step", y="loss", height=260)
    if not view["validation"].empty:
        st.markdown(f"Validation scores ({SCALE_NOTE})")
        st.dataframe(view["validation"], hide_index=True)
    st.subheader("Training runs")  # inside the fragment: states follow status.json without a page reload
    st.dataframe(pd.DataFrame(train_cache.runs_overview(jobs.training_runs())), hide_index=True)


live(chosen)
st.page_link("pages/compare.py", label="Compare predictions of finished runs", icon=":material/compare:")
