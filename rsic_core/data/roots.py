"""Which dataset paths the app takes: only those under the data roots, symbolic links followed.

Whoever reaches the app can type a path in its sidebar; without a limit that would list the JSON
keys of any file on the server as "problems". :func:`dataset_under_roots` is the one check: the
path (and the annotation file found in it) must resolve under one of
:func:`rsic_core.paths.data_roots` (the home folder and ``RSIC_HOME`` unless ``RSIC_DATA_ROOTS``
says otherwise). Nothing outside them is opened, or even looked up. Hidden folders and files inside a
root (``~/.ssh``, ``~/.aws``: a name starting with a dot) are left out; a folder named as a root itself
(``RSIC_HOME`` is ``~/.cache/rsic-studio``) is not hidden.

:func:`model_under_roots` is the same check for the model and adapter folders the app opens: the data
roots, the runs folder, the Hugging Face cache and the project's ``assets/``.

Example::

    path = dataset_under_roots("~/data/RSICD")     # the resolved folder, or ValueError
    model = model_under_roots("~/runs/r1/model")   # the resolved folder, a shipped name or a hub id, or ValueError
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from rsic_core.data.datasets import detect_format
from rsic_core.data.textfiles import short
from rsic_core.paths import DEMO_MODEL, SHIPPED_MODELS, data_roots, runs_dir

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # owner/name (as rsic_core.models.registry tells a hub id)


def dataset_under_roots(path: str | Path, roots: Sequence[str | Path] | None = None) -> Path:
    """``path`` with symbolic links resolved, once it and its annotation file are known to lie under ``roots``.

    Args:
        path: a dataset folder or annotation file, as typed (``~`` allowed).
        roots (data_roots()): the folders datasets may be read from.

    Returns:
        The resolved path (read the dataset from it, not from what was typed).

    Raises:
        ValueError: the path resolves outside every root (the sentence names the roots and how to
            add one), or it is a file that is not a dataset.
        FileNotFoundError: the path, inside a root, does not exist or holds no annotation file.
    """
    resolved, allowed = _checked_under(path, roots)
    _, annotation = detect_format(resolved)
    if not _under(_resolved(annotation), allowed):  # a symbolic link in the folder that leads out
        raise ValueError(_refusal(str(annotation), allowed))
    return resolved


def model_roots() -> list[Path]:
    """Folders the app may open models and adapters from: the data roots, the runs folder, the HF cache, assets/."""
    from huggingface_hub import constants

    return list(dict.fromkeys([*data_roots(), runs_dir(), Path(constants.HF_HUB_CACHE), DEMO_MODEL.parent]))


def model_under_roots(name: str, roots: Sequence[str | Path] | None = None) -> str:
    """``name`` as the app may open it: a shipped name or hub id as is, a folder resolved under ``roots``.

    The check comes before anything is looked up, so a path outside the roots gets the same sentence
    whether it exists or not (the page tells nothing about the server's files).

    Args:
        name: what was typed in a model or adapter box (``~`` allowed).
        roots (model_roots()): the folders models may be opened from.

    Raises:
        ValueError: a path outside every root, or in a hidden folder of one (the sentence names the roots).
    """
    typed = str(name).strip()
    if typed in ("", "auto", *SHIPPED_MODELS):
        return typed
    allowed = [_resolved(Path(r).expanduser()) for r in (model_roots() if roots is None else roots)]
    resolved = _resolved(Path(typed).expanduser())
    if resolved is not None and _under(resolved, allowed):
        return str(resolved)
    if HUB_ID.match(typed) and not typed.startswith("."):  # owner/name: looked up in the Hugging Face cache
        return typed
    folders = ", ".join(str(r) for r in allowed if r is not None)
    raise ValueError(
        f"{short(typed)} is outside the folders models are read from ({folders}); give a model folder there, "
        "a shipped name (demo, ucm) or a Hugging Face id (owner/name)"
    )


def file_under_roots(path: str | Path, roots: Sequence[str | Path] | None = None) -> Path:
    """``path`` resolved, once known to lie under ``roots`` (any file: a prediction file, a coco annotations file).

    Raises:
        ValueError: it resolves outside every root.
        FileNotFoundError: inside a root, there is no such file.
    """
    resolved, _ = _checked_under(path, roots)
    if not resolved.is_file():
        raise FileNotFoundError(f"{short(str(path).strip())}: no such file")
    return resolved


def _checked_under(path: str | Path, roots: Sequence[str | Path] | None) -> tuple[Path, list[Path | None]]:
    """(``path`` resolved, the resolved roots), or ValueError when it resolves outside every root."""
    allowed = [_resolved(Path(r).expanduser()) for r in (data_roots() if roots is None else roots)]
    typed = str(path).strip()
    resolved = _resolved(Path(typed).expanduser())
    if resolved is None or not _under(resolved, allowed):
        raise ValueError(_refusal(typed, allowed))
    return resolved, allowed


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop, a name too long
        return None


def _under(path: Path | None, roots: list[Path | None]) -> bool:
    """Whether ``path`` lies under one of ``roots``, through no hidden folder or file (a name starting with '.')."""
    return path is not None and any(
        root is not None and path.is_relative_to(root) and not _hidden(path.relative_to(root)) for root in roots
    )


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _refusal(typed: str, roots: list[Path | None]) -> str:
    folders = ", ".join(str(r) for r in roots if r is not None)
    return (
        f"{short(typed)} is outside the folders datasets are read from ({folders}); to add a folder, "
        f"start the app with RSIC_DATA_ROOTS set to the folders to allow, separated by '{os.pathsep}' "
        "(it replaces the home folder; RSIC_HOME stays allowed); hidden folders (.ssh...) inside them are left out"
    )
