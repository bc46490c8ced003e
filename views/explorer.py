"""Dataset explorer: a paged gallery with filters, one image in detail, and the Audit tab (leaks between splits)."""

import math
from dataclasses import asdict

import streamlit as st

from rsic_core.data.audit import DEFAULT_THRESHOLD, MIN_REFERENCES
from ui import audit_cache, resources, state

PAGE_SIZE = 24
COLUMNS = 6


def _forget_selected() -> None:
    st.session_state.pop("explorer_selected", None)


def details(record) -> None:
    """One image large, its split, class and every caption: the body of the Details dialog."""
    left, right = st.columns([1, 2])
    bands = st.session_state.get("explorer_bands", "")  # the widget below, as last set
    view = resources.image_view(str(record.path), 448, bands)
    if view.data:
        left.image(view.data, width="stretch")
    else:
        left.error(view.error)
    if view.note:  # a 16-bit or multi-band raster: what was shown, and a choice of bands
        left.caption(view.note)
    if view.note or bands:
        left.text_input("Bands to show (1-based, e.g. 4,3,2)", key="explorer_bands")
    right.subheader(record.image_id)
    right.write(
        f"split **{record.split}** · class **{record.label or 'unknown'}**"
        + (f" · source **{record.source}**" if record.source else "")
    )
    right.markdown("\n".join(f"{i}. {c}" for i, c in enumerate(record.captions, 1)) or "_no captions_")
    if right.button("Close", key="explorer_close"):
        _forget_selected()
        st.rerun()


def gallery(dataset) -> None:
    """Filters, the page of thumbnails, and the Details buttons."""

    ALL = "(all)"
    splits, labels, sources = [ALL, *dataset.split_counts()], [ALL, *dataset.labels()], [ALL, *dataset.sources()]
    f1, f2, f3, f4 = st.columns([1, 1, 1, 2])  # a filter starts afresh when another dataset brings other choices
    split = f1.selectbox("Split", splits, key=state.widget_key("explorer_split", splits))
    label = f2.selectbox("Class", labels, disabled=not dataset.labels(), key=state.widget_key("explorer_label", labels))
    source = f3.selectbox(
        "Source", sources, disabled=not dataset.sources(), key=state.widget_key("explorer_source", sources)
    )
    keyword = f4.text_input("Caption contains", placeholder="e.g. plane", key="explorer_keyword")

    records = dataset.select(
        split=None if split == ALL else split,
        label=None if label == ALL else label,
        source=None if source == ALL else source,
        keyword=keyword or None,
    )
    pages = max(1, math.ceil(len(records) / PAGE_SIZE))
    p1, p2 = st.columns([1, 4])
    page = p1.number_input(
        "Page", min_value=1, max_value=pages, value=1, step=1, key=state.widget_key("explorer_page", pages)
    )
    p2.write(f"\n{len(records)} of {len(dataset)} images match; page {page} of {pages}.")

    if dataset.problems:
        with st.expander(f"Problems found while reading ({len(dataset.problems)})"):
            st.dataframe([asdict(p) for p in dataset.problems], hide_index=True)

    shown = records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not shown:
        st.info("No image matches these filters: clear the caption keyword or choose another split or class.")
    for row in range(0, len(shown), COLUMNS):
        for col, record in zip(st.columns(COLUMNS), shown[row : row + COLUMNS]):
            thumb = resources.thumbnail(str(record.path)) if record.has_image else None
            if thumb:
                col.image(thumb, width="stretch")
            else:
                col.warning("missing" if not record.has_image else "unreadable")
            col.caption(f"**{record.image_id}** · {record.label or record.split}")
            col.caption(record.captions[0] if record.captions else "_no captions_")
            if col.button("Details", key=f"detail-{record.image_id}"):
                st.session_state["explorer_selected"] = record.image_id


def show_pairs(pairs, limit: int = 8) -> None:
    """Duplicate pairs side by side, thumbnails and names."""
    for pair in pairs[:limit]:
        cols = st.columns(2)
        for col, image in zip(cols, (pair.a, pair.b)):
            thumb = resources.thumbnail(image.path, 160)
            if thumb:
                col.image(thumb, width=160)
            else:
                col.warning("unreadable")
            col.caption(
                f"**{image.image_id}** · {image.split}" + ("" if pair.exact else f" · {pair.distance} bits apart")
            )
    if len(pairs) > limit:
        st.caption(f"... and {len(pairs) - limit} more pairs (all of them: rsic data audit PATH --json)")


def audit_tab(path: str) -> None:
    """The audit's findings: which standard split each split is, duplicate pairs, reference problems."""
    threshold = st.slider(
        "Near-duplicate threshold (perceptual-hash bits of 64)",
        0,
        16,
        DEFAULT_THRESHOLD,
        key="explorer_audit_threshold",
    )
    report = audit_cache.audit_report(path, threshold)
    for known in report.known_splits:
        st.info(known.text)
    counts = {
        "Exact duplicates": len(report.exact_duplicates),
        "Near-duplicates": len(report.near_duplicates),
        "Shared reference sets": len(report.shared_reference_sets),
        "Copied across classes": len(report.copied_references),
        "One-word references": len(report.one_word_references),
        f"Under {MIN_REFERENCES} references": len(report.few_references),
    }
    for col, (label, value) in zip(st.columns(len(counts)), counts.items()):
        col.metric(label, value)
    st.caption(
        f"Duplicates (exact: same file; near: perceptual hashes within {report.threshold} bits) and shared reference "
        f"sets are pairs and groups across splits. {report.hashed} of {report.images} images hashed; "
        f"empty references dropped while reading: {report.empty_references}."
    )
    for title, pairs in (
        ("Exact duplicates across splits", report.exact_duplicates),
        ("Near-duplicates across splits", report.near_duplicates),
    ):
        if pairs:
            st.subheader(title)
            show_pairs(pairs)
    if report.shared_reference_sets:
        st.subheader("Images of different splits with one reference set")
        rows = [
            {
                "images": len(g.images),
                "splits": " + ".join(f"{n} {split}" for split, n in g.splits().items()),
                "first reference": g.references[0],
                "image ids": ", ".join(r.image_id for r in g.images[:12]),
            }
            for g in report.shared_reference_sets
        ]
        st.dataframe(rows, hide_index=True)
    if report.copied_references:
        st.subheader("References copied across classes")
        st.dataframe(
            [
                {"reference": c.sentence, "classes": ", ".join(c.labels), "images": c.images}
                for c in report.copied_references
            ],
            hide_index=True,
        )
    weak = [
        {"image": w.image.image_id, "split": w.image.split, "reference": w.caption} for w in report.one_word_references
    ]
    weak += [
        {"image": r.image_id, "split": r.split, "reference": f"only {n} references"} for r, n in report.few_references
    ]
    if weak:
        st.subheader("Weak references")
        st.dataframe(weak, hide_index=True)


st.title("Dataset explorer")
dataset = state.dataset_or_stop()
gallery_tab, audit = st.tabs(["Gallery", "Audit"], key="explorer_tab", on_change="rerun")
if gallery_tab.open:
    with gallery_tab:
        gallery(dataset)
if audit.open:
    with audit:
        audit_tab(state.dataset_path())

if selected := st.session_state.get("explorer_selected"):
    try:
        record = dataset.get(selected)
    except KeyError:  # another dataset was loaded since
        record = None
    if record:  # a dialog: it opens where the user is, whichever row was clicked
        st.dialog("Image details", width="large", on_dismiss=_forget_selected)(details)(record)
