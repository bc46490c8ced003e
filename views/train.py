"""Train: start a run (LoRA or full, cross-entropy or SCST) in its own process, follow its loss, reward and scores."""

import streamlit as st

from rsic_core.models.cards import model_card
from rsic_core.runs.layout import RunLayout
from rsic_core.scoring.scale import NUMBER_FORMAT, SCALE_NOTE, metric_columns
from rsic_core.training import checks, jobs
from ui import state, train_cache

st.title("Train a LoRA adapter")  # or the whole model: the Train mode field
dataset = state.dataset_or_stop()
where = "the offline demo dataset" if state.is_demo() else f"`{state.dataset_path()}`"
counts = ", ".join(f"{split} {n}" for split, n in dataset.split_counts().items())
st.markdown(f"Dataset: **{dataset.name}** ({where}; images per split: {counts}). Load another in the sidebar.")


def widget(column, f: train_cache.FormField):
    """The input of one TrainConfig field (its label, help, default and choices come from the field)."""
    if f.widget == "select":
        return column.selectbox(f.label, f.choices, index=f.choices.index(f.default), help=f.help)
    if f.widget == "checkbox":
        return column.checkbox(f.label, f.default, help=f.help)
    if f.widget == "number":
        return column.number_input(f.label, value=f.default, help=f.help, **f.bounds)
    return column.text_input(f.label, f.default, help=f.help)


with st.form("train_form", enter_to_submit=False):  # Enter in a field must not start a run
    splits = train_cache.split_fields(list(dataset.split_counts()))
    *split_columns, captions_column = st.columns(len(splits) + 1)
    config = {f.name: widget(column, f) for column, f in zip(split_columns, splits)}
    captions = train_cache.caption_choices(dataset)
    chosen_captions = captions_column.selectbox(
        "Training captions",
        list(captions),
        help=train_cache.CAPTIONS_HELP,
        key=state.widget_key("train_captions", *captions),
    )
    config["train_captions"] = captions[chosen_captions]
    columns = st.columns(4)
    config |= {f.name: widget(columns[i % 4], f) for i, f in enumerate(train_cache.form_fields())}
    started = st.form_submit_button("Start training", type="primary")
st.caption(train_cache.validation_images(dataset, config))  # as last submitted (a form's values wait for it)
if leak := checks.leakage(config):  # training on the split it is scored on: the classic mistake, said loudly
    st.warning(leak, icon=":material/warning:")
if note := model_card(config.get("model") or "demo").note([] if state.is_demo() else [f"{dataset.name}'s images"]):
    st.caption(note)  # what the starting model knows (the demo model on a real dataset: that it knows little)
if started:
    try:
        run = jobs.start(train_cache.launch_config(config, state.dataset_path()))
        st.session_state["train_run"] = str(run)
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
    cancelling = st.session_state.setdefault("train_cancelling", set())
    st.markdown(train_cache.trained_on(run_dir))
    if leak := RunLayout(run_dir).read_config().get("leakage"):
        st.warning(leak, icon=":material/warning:")
    if view["state"] in jobs.ACTIVE and run_dir in cancelling:
        st.markdown(
            "**cancelling**: the run stops at the end of this step and saves a checkpoint "
            f"(at once during the final evaluation, keeping the adapter); it was at: {view['message']}"
        )
    else:
        st.markdown(f"**{view['state']}**" + (f": {view['message']}" if view["message"] else ""))
    st.progress(view["fraction"], text=view["progress"])
    if view["state"] in jobs.ACTIVE and run_dir not in cancelling and st.button("Cancel run", key=f"cancel-{run_dir}"):
        if jobs.cancel(run_dir):
            cancelling.add(run_dir)
        st.rerun()  # the whole page: a "still running" error from a refused start goes with it
    if not view["log"].empty:
        st.line_chart(view["log"], x="step", y="loss", height=260)
        if "reward" in view["log"]:  # SCST: mean CIDEr-D of the sampled captions, and the baseline
            st.line_chart(view["log"], x="step", y=["reward", "baseline"], height=200)
    if not view["validation"].empty:
        st.markdown(f"Validation scores ({SCALE_NOTE})" + (f" on {view['val_images']}" if view["val_images"] else ""))
        metrics = metric_columns(view["validation"])
        if len(view["validation"]) > 1:  # how the scores move, step by step (the table below holds the numbers)
            st.line_chart(view["validation"], x="step", y=metrics, y_label=f"score ({SCALE_NOTE})", height=220)
        shown = {m: st.column_config.NumberColumn(format=NUMBER_FORMAT) for m in metrics}
        shown["seconds"] = st.column_config.NumberColumn(format="%.1f")
        st.dataframe(view["validation"], hide_index=True, column_config=shown)
    if view["final"]:  # the finished run's own evaluation, as the Runs page shows it
        final = view["final"]
        st.markdown(f"Final scores on the {final['split']} split ({SCALE_NOTE}; {final['images'] or 'all images'})")
        for column, (name, value) in zip(st.columns(len(final["scores"])), final["scores"].items()):
            column.metric(name, f"{value:.2f}")
    st.subheader("Training runs")  # inside the fragment: states follow status.json without a page reload
    st.dataframe(train_cache.runs_overview(jobs.training_runs()), hide_index=True)


live(chosen)
st.page_link("views/compare.py", label="Compare predictions of finished runs", icon=":material/compare:")
