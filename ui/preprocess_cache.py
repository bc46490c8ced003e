"""Cached preprocessing results for the Caption statistics and Synonym clusters pages.

The pipeline keeps its own disk cache (``rsic_core.text.preprocess``); these wrappers add Streamlit's
per-process cache keyed by the dataset path, its modification time and the config, so that a
widget change does not even re-hash the captions.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import streamlit as st

from rsic_core.data import datasets
from rsic_core.text import stats as caption_stats
from rsic_core.text import synonyms
from rsic_core.text.preprocess import PreprocessConfig, PreprocessResult, preprocess
from ui import resources


def _mtime(path: str) -> float:
    try:
        target = Path(path) if Path(path).is_file() else datasets.detect_format(path)[1]
        return target.stat().st_mtime
    except (OSError, FileNotFoundError, ValueError):
        return 0.0


@st.cache_data(show_spinner="Preprocessing the captions (embedding the vocabulary the first time)...", max_entries=6)
def _preprocessed(path: str, mtime: float, config_json: str) -> PreprocessResult:
    captions = caption_stats.captions_of(resources.load_dataset(path))
    return preprocess(captions, PreprocessConfig(**json.loads(config_json)))


def preprocessed(path: str, config: PreprocessConfig) -> PreprocessResult:
    """The pipeline result for the dataset at ``path`` (disk-cached, then cached in the process)."""
    return _preprocessed(path, _mtime(path), json.dumps(asdict(config), sort_keys=True))


@st.cache_data(show_spinner="Clustering the vocabulary...", max_entries=32)
def _reclustered(
    path: str, mtime: float, config_json: str, eps: float, min_samples: int, keep_number: bool
) -> synonyms.SynonymResult | None:
    config = PreprocessConfig(**json.loads(config_json))
    base = _preprocessed(path, mtime, config_json)
    if base.synonyms is None or base.synonyms.embeddings.shape[1] == 0:
        return base.synonyms
    return synonyms.cluster_synonyms(
        base.before_synonyms,
        eps=eps,
        min_samples=min_samples,
        metric=config.syn_metric,
        min_word_count=config.syn_min_word_count,
        min_count_ratio=config.syn_min_count_ratio,
        use_wordnet=config.syn_wordnet,
        require_wordnet=config.syn_require_wordnet,
        embeddings=base.synonyms.embeddings,
        keep_number=keep_number,
    )


def reclustered(
    path: str, config: PreprocessConfig, eps: float, min_samples: int, keep_number: bool | None = None
) -> synonyms.SynonymResult | None:
    """The synonym step again with other DBSCAN parameters (and plurals kept apart or not, default: the
    config's), on the already embedded vocabulary."""
    keep = config.syn_keep_number if keep_number is None else bool(keep_number)
    config_json = json.dumps(asdict(config), sort_keys=True)
    return _reclustered(path, _mtime(path), config_json, float(eps), int(min_samples), keep)


@st.cache_data(show_spinner="Projecting the vocabulary to 2-D with UMAP (about 20 s the first time)...", max_entries=8)
def projection(embeddings: np.ndarray) -> np.ndarray:
    """2-D UMAP coordinates of the word vectors (also cached on disk by the library)."""
    return synonyms.project_2d(embeddings)
