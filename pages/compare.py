"""Compare: one run's predictions beside their references, worst cases first, with error analysis."""

import streamlit as st

from rsic_core.runs.compare import CompareFilter, filter_choices, filter_predictions
from rsic_core.runs.evaluation import EvalConfig, evaluate, split_records
from rsic_core.scoring import error_analysis as ea
from ui import models_cache, resources, runs_cache, state

MARKS = {"match": ":green[{}]", "missing": ":orange[**{}**]", "flagged": ":red[~~{}~~]"}
PAGE_SIZE = 10
PAGE_KEY = "compare_page"


def marked(pieces) -> str:
    return "".join(MARKS[m].format(p) if m and p.strip() else p.replace("*", r"\*") for p, m in pieces)


def to_first_page() -> None:
    """Another run or filter: show its first page (as a fresh page number widget would)."""
    st.session_state[PAGE_KEY] = 1


def new_sort() -> None:
    """Another metric to sort by: its threshold starts empty (the old one was on another scale)."""
    st.session_state["compare_at_most"] = None
    to_first_page()


st.title("Compare predictions and references")
root = runs_cache.runs_root_input()
found = runs_cache.list_runs(root)
if not found:
    st.info(
        "No runs yet. Evaluate a model here (the zero-shot baseline of the demo model on the loaded "
        "dataset's test split), or on the command line: `rsic evaluate --model M --data PATH --split test`."
    )
    if st.button("Evaluate the demo model on the test split", type="primary"):
        dataset = state.dataset_or_stop()
        try:
            split_records(dataset, "test")  # before the model: a split without images is refused at once
            bar = st.progress(0.0, text="Captioning the test split...")
            evaluate(
                models_cache.captioner("demo"),
                dataset,
                "test",
                EvalConfig(eval_name="demo-zero-shot"),
                progress=lambda done, total: bar.progress(done / max(total, 1), text=f"Captioned {done} of {total}"),
                root=root,
            )
        except (FileNotFoundError, ValueError) as e:
            st.error(str(e))
            st.stop()
        st.rerun()
    st.stop()
run_path = st.selectbox(
    "Run",
    [str(r.path) for r in found],
    format_func=lambda p: next(r.name for r in found if str(r.path) == p),
    key="compare_run",
    on_change=to_first_page,
)
run, table = runs_cache.analyzed_run(run_path)
choices = filter_choices(table)
metrics = choices.metrics
if run.problems:
    st.warning(f"{len(run.problems)} problem(s) reading this run: " + "; ".join(run.problems[:3]))
items = list(run.corpus.items())
for start in range(0, len(items), 5):  # rows of five stay readable in a narrow window
    for col, (name, value) in zip(st.columns(5), items[start : start + 5]):
        col.metric(name, f"{value:.3f}")

f1, f2, f3, f4, f5, f6 = st.columns(6)
sort_by = f1.selectbox("Sort by", choices.sort_by, key="compare_sort_by", on_change=new_sort)
worst_first = f2.toggle("Worst first", value=True, key="compare_worst_first", on_change=to_first_page)
at_most = f3.number_input(
    f"{sort_by} at most",
    value=None,
    placeholder="any",
    disabled=not metrics,
    key="compare_at_most",
    on_change=to_first_page,
)
labels = f4.multiselect("Class", choices.labels, key="compare_labels", on_change=to_first_page)
splits = f5.multiselect("Split", choices.splits, key="compare_splits", on_change=to_first_page)
kinds = f6.multiselect("Error kind", choices.error_kinds, key="compare_error_kinds", on_change=to_first_page)
view = filter_predictions(
    table,
    CompareFilter(
        sort_by=sort_by,
        worst_first=worst_first,
        at_most=at_most if metrics else None,
        labels=tuple(labels),
        splits=tuple(splits),
        error_kinds=tuple(kinds),
    ),
)

images, by_class, by_length, errors = st.tabs(["Images", "By class", "By caption length", "Error kinds"])
with images:
    pages = max(1, -(-len(view) // PAGE_SIZE))
    page = st.number_input("Page", 1, pages, 1, key=PAGE_KEY)
    st.caption(
        f"{len(view)} of {len(table)} images; :green[shared words], :orange[**consensus words missing**], :red[~~objects no reference mentions~~]"
    )
    for _, row in view.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].iterrows():
        with st.container(border=True):
            pic, text, scores = st.columns([1, 3, 1])
            thumb = resources.thumbnail(row["path"]) if isinstance(row["path"], str) else None
            if thumb:
                pic.image(thumb, width="stretch")
            else:
                pic.warning("no image")
            pic.caption(f"{row['image_id']} · {row['label'] if isinstance(row['label'], str) else row['split']}")
            flagged = ea.hallucinated_objects(row["prediction"], row["references"])
            text.markdown(
                "**Prediction:** "
                + (marked(ea.word_marks(row["prediction"], row["matching"], (), flagged)) or "_empty_")
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
            scores.markdown("  \n".join(f"{m} **{row[m]:.3f}**" for m in metrics))
with by_class:
    per_class = ea.breakdown(view, "label", metrics)
    st.dataframe(per_class, hide_index=True)
    if sort_by in metrics and len(per_class):
        st.bar_chart(per_class, x="label", y=sort_by)
with by_length:
    st.dataframe(ea.breakdown(view, "length", metrics), hide_index=True)
with errors:
    st.dataframe(ea.error_counts(view), hide_index=True)
    st.dataframe(ea.error_counts(view, by="label").pivot(index="label", columns="error", values="images"))
