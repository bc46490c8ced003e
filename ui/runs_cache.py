"""Cached run loading for the Compare, Runs and Efficiency pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rsic_core import paths
from rsic_core.runs import layout as runs
from rsic_core.runs.layout import RunLayout
from rsic_core.scoring import error_analysis

RUNS_ROOT_KEY = "runs_root"  # session key: the folder the run pages list (default: paths.runs_dir())


def runs_root() -> str:
    """The runs folder chosen on a run page (the default runs folder until changed)."""
    if RUNS_ROOT_KEY not in st.session_state:
        st.session_state[RUNS_ROOT_KEY] = str(paths.runs_dir())
    return st.session_state[RUNS_ROOT_KEY]


def runs_root_input() -> str:
    """A text input bound to the runs folder; returns the folder."""
    runs_root()
    st.text_input("Runs folder", key=RUNS_ROOT_KEY, help="Where `rsic evaluate` and training write their run folders.")
    return st.session_state[RUNS_ROOT_KEY]


def _stamp(folder: Path) -> float:
    return max((f.stat().st_mtime for f in RunLayout(folder).record_files if f.is_file()), default=0.0)


@st.cache_data(show_spinner=False, max_entries=8)
def _list_runs(root: str, stamps: tuple) -> list[runs.Run]:
    return runs.list_runs(root)


def list_runs(root: str) -> list[runs.Run]:
    """Runs under ``root``, re-read when a run folder is added or changed."""
    folder = Path(root).expanduser()
    if not folder.is_dir():
        return []
    stamps = tuple(sorted((p.name, _stamp(p)) for p in folder.iterdir() if p.is_dir()))
    return _list_runs(str(folder), stamps)


@st.cache_data(show_spinner="Reading the run...", max_entries=8)
def _analyzed(folder: str, stamp: float):
    run = runs.load_run(folder)
    return run, error_analysis.analyze_run(run.predictions_frame())


def analyzed_run(folder: str):
    """(run, predictions table with error-analysis columns) of one run folder."""
    return _analyzed(folder, _stamp(Path(folder)))
