"""Cached scene data for the Map page: the captioned demo scene, a scene's tiles, the classes they name, its picture, searches."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import streamlit as st

from rsic_core.paths import data_roots
from rsic_core.scenes import geojson
from ui import models_cache, state


def demo_scene_path() -> str:
    """The captioned demo scene's GeoJSON, made on first use (about 20 s) under a spinner."""
    with st.spinner("Generating and captioning the demo scene (first start only)...", show_time=True):
        return _demo_scene()


@st.cache_data(show_spinner=False)
def _demo_scene() -> str:
    from rsic_core.scenes.demo import demo_scene_geojson

    return str(demo_scene_geojson(captioner=models_cache.captioner("demo")))


def under_roots(typed: str) -> Path:
    """The file ``typed`` names, links resolved, once it is known to lie under the data roots.

    Raises:
        ValueError: it lies outside them (the sentence names them).
        FileNotFoundError: inside them, there is no such file.
    """
    roots = [Path(r).expanduser().resolve() for r in data_roots()]
    path = Path(typed.strip()).expanduser().resolve()
    if not any(path.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise ValueError(f"{typed.strip()} is outside the folders the app reads from ({allowed}; set RSIC_DATA_ROOTS)")
    if not path.is_file():
        raise FileNotFoundError(f"{typed.strip()}: no such GeoJSON file")
    return path


def _mtime(path: str) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner="Reading the scene...", max_entries=4)
def _tiles(path: str, mtime: float) -> tuple[dict, list[dict]]:
    collection = geojson.read_scene(path)
    tiles = [
        {"id": f.get("id", str(i)), "ring": f["geometry"]["coordinates"][0]}
        | {k: v for k, v in f["properties"].items() if k != "embedding"}
        for i, f in enumerate(collection["features"])
    ]
    return collection.get("rsic_scene", {}), tiles


def scene_tiles(path: str) -> tuple[dict, list[dict]]:
    """(what the file says of the scene, its tiles: id, ring and properties without the embedding)."""
    return _tiles(path, _mtime(path))


@st.cache_data(show_spinner="Reading which class each caption names...", max_entries=8)
def _classes(path: str, mtime: float, model: str, card_mtime: float, labels: tuple[str, ...]):
    from rsic_core.scenes.search import caption_classes

    captions = [f["properties"]["caption"] for f in geojson.read_scene(path)["features"]]
    return caption_classes(captions, model or None, labels)


def tile_classes(path: str, model: str | None):
    """The class each tile's caption names (:func:`rsic_core.scenes.search.caption_classes`), in the file's order.

    The classes are the card's of ``model`` (the one that captioned the scene); with no card, the loaded dataset's.
    """
    from rsic_core.models.cards import CARD_FILE, model_card
    from rsic_core.paths import shipped_model

    labels: tuple[str, ...] = ()
    if not (model and model_card(model).classes):
        try:
            labels = tuple(state.current_dataset().labels())
        except (FileNotFoundError, ValueError):  # a dataset that does not load has no classes to offer
            labels = ()
    card = str(Path(shipped_model(model)) / CARD_FILE) if model else ""
    return _classes(path, _mtime(path), model or "", _mtime(card) if card else 0.0, labels)


@st.cache_data(show_spinner="Searching...", max_entries=64)
def _search(path: str, mtime: float, query: str, top: int) -> list[tuple[str, int, float]]:
    from rsic_core.scenes.search import search_scene

    hits = search_scene(geojson.read_scene(path), query, top=top)
    return [(h.feature.get("id"), h.rank, h.score) for h in hits]


def search(path: str, query: str, top: int) -> list[tuple[str, int, float]]:
    """(feature id, rank, score) of the ``top`` tiles closest to ``query``."""
    return _search(path, _mtime(path), query, top)


@st.cache_data(show_spinner="Drawing the scene...", max_entries=8)
def _picture(path: str, mtime: float, bands: tuple[int, ...]) -> str:
    from PIL import Image

    from rsic_core.scenes.caption import preview_image

    buffer = io.BytesIO()
    Image.fromarray(preview_image(path, bands or None)).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def picture(path: str, bands: tuple[int, ...] = ()) -> str:
    """The scene decimated (1024 px a side at most), stretched like its tiles, as a JPEG data URL."""
    return _picture(path, _mtime(path), tuple(bands))


@st.cache_data(show_spinner=False, max_entries=4)
def _file_bytes(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


def file_bytes(path: str) -> bytes:
    return _file_bytes(path, _mtime(path))
