"""Cached loaders of datasets for the app: loading, validation, thumbnails, the generated demo dataset."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from rsic_core.data import datasets, validation
from rsic_core.data.demo.dataset import demo_dataset_dir
from rsic_core.data.thumbnails import make_thumbnail, thumbnail_bytes


def demo_dataset_path() -> str:
    """The offline demo dataset's folder, generated on first use (15-30 s) under a spinner.

    The spinner is outside the cache: a page whose run waits for the generation another run
    started (the user went on to another page) shows it too, not only its title.
    """
    with st.spinner("Generating the offline demo dataset (first start only)...", show_time=True):
        return _generated_demo()


@st.cache_data(show_spinner=False)
def _generated_demo() -> str:
    """Generate the offline demo dataset once, in a child Python.

    Streamlit replaces ``__main__`` with the page script, so the generator's spawned worker
    processes would otherwise re-import and run the app.
    """
    code = "from rsic_core.data.demo.dataset import demo_dataset_dir; demo_dataset_dir()"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    return str(demo_dataset_dir())


def _mtime(path: str) -> float:
    p = Path(path)
    try:
        target = p if p.is_file() else datasets.detect_format(p)[1]
        return target.stat().st_mtime
    except (OSError, FileNotFoundError):
        return 0.0


@st.cache_data(show_spinner="Reading the dataset...", max_entries=4)
def _load(path: str, mtime: float) -> datasets.CaptionDataset:
    return datasets.load_dataset(path)


def load_dataset(path: str) -> datasets.CaptionDataset:
    """The dataset at ``path``, re-read when its annotation file changes."""
    return _load(path, _mtime(path))


@st.cache_data(show_spinner="Validating...", max_entries=4)
def _validate(path: str, mtime: float, check_images: bool) -> validation.ValidationReport:
    return validation.validate(datasets.load_dataset(path), check_images=check_images)


def validate(path: str, check_images: bool = False) -> validation.ValidationReport:
    return _validate(path, _mtime(path), check_images)


@st.cache_data(show_spinner=False, max_entries=2048)
def thumbnail(path: str, size: int = 192) -> bytes | None:
    """JPEG bytes of a thumbnail, or None when the image cannot be read."""
    try:
        return thumbnail_bytes(path, size)
    except ValueError:
        return None


@dataclass(frozen=True)
class ImageView:
    data: bytes | None  # JPEG, None when the image cannot be shown
    note: str | None  # what was done to show it (16-bit, bands), None for an ordinary image
    error: str | None  # why it cannot be shown


@st.cache_data(show_spinner=False, max_entries=256)
def image_view(path: str, size: int = 448, bands: str = "") -> ImageView:
    """One image shown large, with the bands asked for (``"4,3,2"``; empty: the default)."""
    try:
        thumb = make_thumbnail(path, size, bands=bands.strip() or None)
    except ValueError as e:
        return ImageView(None, None, str(e))
    return ImageView(thumb.data, thumb.note, None)
