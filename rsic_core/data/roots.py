"""Which dataset paths the app takes: only those under the data roots, symbolic links followed.

Whoever reaches the app can type a path in its sidebar; without a limit that would list the JSON
keys of any file on the server as "problems". :func:`dataset_under_roots` is the one check: the
path (and the annotation file found in it) must resolve under one of
:func:`rsic_core.paths.data_roots` (the home folder and ``RSIC_HOME`` unless ``RSIC_DATA_ROOTS``
says otherwise). Nothing outside them is opened, or even looked up.

Example::

    path = dataset_under_roots("~/data/RSICD")     # the resolved folder, or ValueError
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rsic_core.data.datasets import detect_format
from rsic_core.data.textfiles import short
from rsic_core.paths import data_roots


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
    allowed = [_resolved(Path(r).expanduser()) for r in (data_roots() if roots is None else roots)]
    typed = str(path).strip()
    resolved = _resolved(Path(typed).expanduser())
    if resolved is None or not _under(resolved, allowed):
        raise ValueError(_refusal(typed, allowed))
    _, annotation = detect_format(resolved)
    if not _under(_resolved(annotation), allowed):  # a symbolic link in the folder that leads out
        raise ValueError(_refusal(str(annotation), allowed))
    return resolved


def file_under_roots(path: str | Path, roots: Sequence[str | Path] | None = None) -> Path:
    """``path`` resolved, once known to lie under ``roots`` (any file: a prediction file, a coco annotations file).

    Raises:
        ValueError: it resolves outside every root.
        FileNotFoundError: inside a root, there is no such file.
    """
    allowed = [_resolved(Path(r).expanduser()) for r in (data_roots() if roots is None else roots)]
    typed = str(path).strip()
    resolved = _resolved(Path(typed).expanduser())
    if resolved is None or not _under(resolved, allowed):
        raise ValueError(_refusal(typed, allowed))
    if not resolved.is_file():
        raise FileNotFoundError(f"{short(typed)}: no such file")
    return resolved


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop, a name too long
        return None


def _under(path: Path | None, roots: list[Path | None]) -> bool:
    return path is not None and any(root is not None and path.is_relative_to(root) for root in roots)


def _refusal(typed: str, roots: list[Path | None]) -> str:
    folders = ", ".join(str(r) for r in roots if r is not None)
    return (
        f"{short(typed)} is outside the folders datasets are read from ({folders}); to add a folder, "
        f"start the app with RSIC_DATA_ROOTS set to the folders to allow, separated by '{os.pathsep}' "
        "(it replaces the home folder; RSIC_HOME stays allowed)"
    )
