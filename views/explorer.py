"""Dataset explorer: a paged gallery with filters, and one image in detail."""

import math
from dataclasses import asdict

import streamlit as st

from ui import resources, state

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


st.title("Dataset explorer")
dataset = state.dataset_or_stop()

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

if selected := st.session_state.get("explorer_selected"):
    try:
        record = dataset.get(selected)
    except KeyError:  # another dataset was loaded since
        record = None
    if record:  # a dialog: it opens where the user is, whichever row was clicked
        st.dialog("Image details", width="large", on_dismiss=_forget_selected)(details)(record)
