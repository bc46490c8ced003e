"""Session state shared by the pages: which dataset is loaded."""

from __future__ import annotations

import hashlib

import streamlit as st

from rsic_core.data import datasets, roots
from rsic_core.paths import data_roots
from ui import resources

DATASET_KEY = "dataset_path"  # "" means the offline demo dataset


def dataset_path() -> str:
    """The path of the loaded dataset (the demo dataset unless the user chose one)."""
    if DATASET_KEY not in st.session_state:
        st.session_state[DATASET_KEY] = ""
    return st.session_state[DATASET_KEY] or resources.demo_dataset_path()


def widget_key(name: str, *depends) -> str:
    """The key of a widget: ``name``, plus a digest of the values its options or default are built from.

    Streamlit knows a keyed widget by its key alone, so a keyed selectbox whose options come from
    the dataset would keep its old value when another dataset is loaded; an unkeyed one started
    afresh. Passing those values as ``depends`` keeps that: the key changes with them. Tests find
    the widget by ``name`` (the part before the colon).

    Args:
        name: the stable part, ``<page>_<widget>`` (e.g. ``explorer_split``).
        *depends: what the widget is built from (its options, its default, its bounds).
    """
    if not depends:
        return name
    return f"{name}:{hashlib.sha1(repr(depends).encode()).hexdigest()[:10]}"


def is_demo() -> bool:
    return not st.session_state.get(DATASET_KEY)


def current_dataset() -> datasets.CaptionDataset:
    """The dataset chosen in the sidebar (the offline demo by default)."""
    return resources.load_dataset(dataset_path())


def dataset_or_stop() -> datasets.CaptionDataset:
    """The current dataset, or one error sentence on the page (and the page stops there)."""
    try:
        return current_dataset()
    except (FileNotFoundError, ValueError) as e:
        st.error(f"{e}. Choose another dataset in the sidebar, or go back to the demo dataset.")
        st.stop()


def _back_to_demo() -> None:
    st.session_state[DATASET_KEY] = ""
    st.session_state["dataset_path_input"] = ""  # allowed here: callbacks run before the widgets


def dataset_sidebar() -> None:
    """Sidebar control: a dataset path under the data roots, remembered for the session, or the demo."""
    if DATASET_KEY not in st.session_state:
        st.session_state[DATASET_KEY] = ""
    with st.sidebar:
        st.markdown("**Dataset**")
        typed = st.text_input(
            "Dataset folder or annotation file",
            key="dataset_path_input",  # a fixed key: the widget keeps its identity across loads
            placeholder="empty = offline demo dataset",
            help="A Karpathy JSON (RSICD, UCM, Sydney), NWPU dataset_nwpu.json, RISC captions.csv, "
            "a folder of the Hugging Face hub's parquet files or a save_to_disk folder, "
            "or a folder with a CSV/JSONL of image and caption columns, under "
            + ", ".join(f"`{r}`" for r in data_roots())
            + " (set RSIC_DATA_ROOTS to allow other folders).",
        )
        use = st.button("Load", key="dataset_load")
        if use:
            try:
                path = str(roots.dataset_under_roots(typed)) if typed.strip() else ""  # nothing outside is read
                if path:
                    resources.load_dataset(path)  # refuse what cannot be read, keep the last good one
                st.session_state[DATASET_KEY] = path
            except (FileNotFoundError, ValueError) as e:
                st.error(str(e))
        if st.session_state[DATASET_KEY]:
            st.button("Back to the demo dataset", key="dataset_back_to_demo", on_click=_back_to_demo)
        st.caption("Demo dataset (offline, generated)" if is_demo() else f"`{st.session_state[DATASET_KEY]}`")
