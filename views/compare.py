"""Compare: one run's predictions beside their references, worst cases first, with error analysis."""

from pathlib import Path

import streamlit as st

from rsic_core.data.subsets import describe_subset
from rsic_core.runs.compare import CompareFilter, errors_by_class, filter_choices, filter_predictions, time_label
from rsic_core.runs.layout import RunLayout
from rsic_core.runs.tables import dataset_label, run_label
from rsic_core.scoring import error_analysis as ea
from rsic_core.scoring.confusion import NONE, confusion_figure, scene_confusion
from rsic_core.scoring.scale import DECIMALS, NUMBER_FORMAT, SCALE_NOTE, as_percent, format_score
from ui import bootstrap_cache, grounding_cache, resources, runs_cache, state

MARKS = {"match": ":green[{}]", "missing": ":orange[**{}**]", "flagged": ":red[~~{}~~]"}
PAGE_SIZE = 10
PAGE_KEY = "compare_page"
RUN_KEY = "compare_run"
B_KEY = "compare_b"  # the run A is compared with in "Is A better than B?"
LENGTH = "prediction length"  # whose length the length breakdown counts: the prediction's words


def marked(pieces) -> str:
    return "".join(MARKS[m].format(p) if m and p.strip() else p.replace("*", r"\*") for p, m in pieces)


def to_first_page() -> None:
    """Another run or filter: show its first page (as a fresh page number widget would)."""
    st.session_state[PAGE_KEY] = 1


def new_sort() -> None:
    """Another metric to sort by: its threshold starts empty (the old one was on another scale)."""
    st.session_state["compare_at_most"] = None
    to_first_page()


def loaded_dataset():
    """The dataset loaded in the sidebar, or None (with a caption) when it cannot be read."""
    try:
        return state.current_dataset()
    except (FileNotFoundError, ValueError) as e:
        st.caption(f"The loaded dataset cannot be read ({e}): choose another in the sidebar to evaluate on it.")
        return None


def looked(container, row, index: int) -> None:
    """The prediction's words to pick (objects no reference names first) and where the run's model looked."""
    if not isinstance(row["path"], str) or not run.config.get("model") or not row["prediction"]:
        return
    from rsic_core.data.images import load_image

    try:
        shown = load_image(row["path"])
    except ValueError:
        return
    flagged = [w for name in row["hallucinated"] for w in str(name).split()]
    model, adapter = run.config["model"], run.config.get("adapter")
    settings = run.config.get("caption") or {}
    key = f"compare_look_{run_path}_{index}"
    grounding_cache.word_picker(
        container, key, row["path"], shown, row["prediction"], model, adapter, settings, flagged
    )


def same_dataset(data, dataset) -> bool:
    """Whether a run's ``data`` is the loaded dataset: its annotation file, or the folder that holds it (a training
    run started from the Train page records the folder the sidebar loaded)."""
    path, annotation = Path(data).expanduser().resolve(), Path(dataset.annotation_file).expanduser().resolve()
    return path == annotation or (path.is_dir() and path == annotation.parent)


def score_table(frame, metrics):
    """A breakdown table on the page's scale: scores x100, DECIMALS decimals."""
    st.dataframe(
        as_percent(frame, metrics),
        hide_index=True,
        column_config={m: st.column_config.NumberColumn(format=NUMBER_FORMAT) for m in metrics},
    )


def better_panel(run_path: str, labels: dict[str, str]) -> None:
    """Is A (the run shown) better than B (another run of the same images)? The paired bootstrap table."""
    others = {p: label for p, label in labels.items() if p != run_path}
    with st.expander("Is A better than B?", expanded=bool(st.session_state.get(B_KEY))):
        if not others:
            st.caption("Only one run: evaluate another model on the same images to compare the two.")
            return
        pick, groups_box = st.columns([3, 2])
        other = pick.selectbox(
            "B: the run to compare with (A is the run above)",
            list(others),
            index=None,
            format_func=others.get,
            key=B_KEY,
            placeholder="choose a run on the same images",
        )
        with groups_box:
            groups = bootstrap_cache.groups_input("compare_b_metrics")
        if not other or not groups:
            return
        try:
            result = bootstrap_cache.comparison(run_path, other, groups)
        except (ValueError, OSError) as e:
            st.error(f"A and B cannot be compared: {e}")
            return
        bootstrap_cache.difference_table(result)
        if result.per_class:
            metric = st.selectbox("A - B by class in", list(result.differences), index=None, key="compare_b_class")
            if metric:
                bootstrap_cache.class_table(result, metric)


st.title("Compare predictions and references")
root = runs_cache.runs_root_input()
found = runs_cache.list_runs(root)
dataset = loaded_dataset()
request = runs_cache.evaluate_form(dataset, expanded=not found) if dataset is not None else None
if not found:
    st.info(
        "No runs yet. Evaluate a model above, or the zero-shot baseline of the demo model on the loaded "
        "dataset's test split here, or on the command line: `rsic evaluate --model M --data PATH --eval-split test`."
    )
    if st.button("Evaluate the demo model on the test split", type="primary"):
        request = runs_cache.EvalRequest(name="demo-zero-shot")
if request is not None:
    dataset = dataset or state.dataset_or_stop()
    folder = runs_cache.run_evaluation(request, dataset, root)
    if folder is not None:
        st.session_state[RUN_KEY] = str(folder)  # show the new run (its selectbox is drawn below)
        to_first_page()
        st.rerun()
if not found:
    st.stop()

labels = {str(r.path): run_label(r) for r in found}
run_path = st.selectbox("Run", list(labels), format_func=labels.get, key=RUN_KEY, on_change=to_first_page)
run, table = runs_cache.analyzed_run(run_path)
if table.empty:  # an unfinished training run (cancelled, failed, still running): nothing to compare yet
    layout = RunLayout(run_path)
    message = layout.read_status().get("message")
    st.info(
        f"This run is {layout.state()}" + (f" ({message})" if message else "") + ": it has no predictions to compare; "
        "pick another run, or finish it (`rsic train --resume RUN`)."
    )
    st.stop()
choices = filter_choices(table)
metrics = choices.metrics
if dataset is not None and run.config.get("data") and not same_dataset(run.config["data"], dataset):
    st.warning(
        f"This run was made on {dataset_label(run.config)} (`{run.config['data']}`), not on the loaded dataset "
        f"{dataset.name}: its images and references are the run's own.",
        icon=":material/warning:",
    )
if run.problems:
    st.warning(f"{len(run.problems)} problem(s) reading this run: " + "; ".join(run.problems[:3]))
items = list(run.corpus.items())
for start in range(0, len(items), 5):  # rows of five stay readable in a narrow window
    for col, (name, value) in zip(st.columns(5), items[start : start + 5]):
        col.metric(name, format_score(value))
st.caption(f"Scores {SCALE_NOTE}, as papers print them, with {DECIMALS} decimals.")
if isinstance(run.config.get("subset"), dict):  # which images of the split the run scored
    st.caption(f"Images: {describe_subset(run.config['subset'])} of the {run.config.get('split')} split.")
better_panel(run_path, labels)

f1, f2, f3 = st.columns(3)  # two rows of three: in six columns a chosen class showed as "airpl..."
sort_by = f1.selectbox("Sort by", choices.sort_by, key="compare_sort_by", on_change=new_sort)
worst_first = f2.toggle("Worst first", value=True, key="compare_worst_first", on_change=to_first_page)
at_most = f3.number_input(
    f"{sort_by} at most ({SCALE_NOTE})",
    value=None,
    placeholder="any",
    disabled=not metrics,
    key="compare_at_most",
    on_change=to_first_page,
    help=f"Compared with the score as shown ({DECIMALS} decimals): 0 keeps every image shown as 0.00.",
)
f4, f5, f6 = st.columns(3)
chips = {"on_change": to_first_page, "wrap": True}  # chosen values wrap onto new rows: every chip reads whole
labels_chosen = f4.multiselect("Class", choices.labels, key="compare_labels", **chips)
splits = f5.multiselect("Split", choices.splits, key="compare_splits", **chips)
kinds = f6.multiselect("Error kind", choices.error_kinds, key="compare_error_kinds", **chips)
view = filter_predictions(
    table,
    CompareFilter(
        sort_by=sort_by,
        worst_first=worst_first,
        at_most=at_most if metrics else None,
        labels=tuple(labels_chosen),
        splits=tuple(splits),
        error_kinds=tuple(kinds),
    ),
)
if view.empty:
    st.info(f"No image matches these filters (0 of {len(table)} images): widen the threshold or remove a filter.")
    st.stop()

batch_size = (run.config.get("caption") or {}).get("batch_size")
for note in table.attrs.get("notes") or []:
    st.caption(note)
images, by_class, by_length, errors, confusion = st.tabs(
    ["Images", "By class", f"By {LENGTH}", "Error kinds", "Scene confusion"]
)
with images:
    pages = max(1, -(-len(view) // PAGE_SIZE))
    st.session_state.setdefault(PAGE_KEY, 1)  # seeded here, set by the callbacks: no default beside it
    page = st.number_input("Page", min_value=1, max_value=pages, key=PAGE_KEY)
    st.caption(
        f"{len(view)} of {len(table)} images; :green[words a reference shares], "
        ":orange[**objects most references name, missing from the prediction**], :red[~~objects no reference names~~]"
    )
    for index, row in view.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].iterrows():
        with st.container(border=True):
            pic, text, scores = st.columns([1, 3, 1])
            thumb = resources.thumbnail(row["path"]) if isinstance(row["path"], str) else None
            if thumb:
                pic.image(thumb, width="stretch")
            else:
                pic.warning("no image")
            pic.caption(f"{row['image_id']} · {row['label'] if isinstance(row['label'], str) else row['split']}")
            text.markdown(
                "**Prediction:** "
                + (marked(ea.word_marks(row["prediction"], row["matching"], (), row["hallucinated"])) or "_empty_")
            )
            pred_words = set(ea.words(row["prediction"]))
            text.markdown(
                "\n".join(
                    f"{i}. " + marked(ea.word_marks(r, pred_words, row["missing"]))
                    for i, r in enumerate(row["references"], 1)
                )
            )
            for detail in row["details"]:
                text.caption(detail)
            looked(text, row, index)
            scores.markdown("  \n".join(f"{m} **{format_score(row[m])}**" for m in metrics))
            if took := time_label(row.get("seconds"), batch_size):
                scores.caption(took)
with by_class:
    per_class = ea.breakdown(view, "label", metrics)
    score_table(per_class, metrics)
    if sort_by in metrics and len(per_class):
        st.bar_chart(as_percent(per_class, metrics), x="label", y=sort_by, y_label=f"{sort_by} ({SCALE_NOTE})")
with by_length:
    st.caption("Mean scores by the number of words in the prediction (not the references).")
    score_table(ea.breakdown(view, "length", metrics).rename(columns={"length": f"{LENGTH} (words)"}), metrics)
with errors:
    st.dataframe(ea.error_counts(view), hide_index=True)
    st.dataframe(errors_by_class(view))
with confusion:
    st.caption(
        "What the model called each class: one row per true class, one column per class the prediction names "
        f"({NONE}: it names none); counts of the images shown (the filters apply)."
    )
    counts = scene_confusion(view)
    if counts.empty:
        st.info("No image shown has a class, so there is no per-class confusion.")
    else:
        st.dataframe(counts)
        st.plotly_chart(confusion_figure(counts), width="stretch")
