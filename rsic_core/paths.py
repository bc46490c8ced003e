"""Where RSIC Studio keeps things: what it generates (demo dataset, caches, runs, caption sets) and the demo model.

Everything lives under ``RSIC_HOME`` (default ``~/.cache/rsic-studio``) so that a read-only
checkout works and tests can point it at a temporary folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DEMO_MODEL = Path(__file__).resolve().parents[1] / "assets" / "demo_model"  # the offline demo model (shipped)
UCM_MODEL = Path(__file__).resolve().parents[1] / "assets" / "ucm_model"  # the real-photo model (shipped)
SHIPPED_MODELS = {"demo": DEMO_MODEL, "ucm": UCM_MODEL}  # model names that stand for the shipped folders


def shipped_name(folder: str | Path | None) -> str | None:
    """The name ("demo", "ucm") of a shipped model's folder; None for any other folder or id."""
    if not folder:
        return None
    return next((name for name, path in SHIPPED_MODELS.items() if Path(folder).expanduser() == path), None)


def shipped_model(name: str | Path | None) -> str:
    """The folder of a shipped model's name ("demo", "ucm"; None or "" mean "demo"), any other name as it is."""
    if name in (None, ""):
        return str(DEMO_MODEL)
    return str(SHIPPED_MODELS.get(str(name), name))


def rsic_home() -> Path:
    home = Path(os.environ.get("RSIC_HOME", Path.home() / ".cache" / "rsic-studio")).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def runs_dir() -> Path:
    """Default folder for training and evaluation runs (``RSIC_RUNS`` overrides)."""
    folder = Path(os.environ.get("RSIC_RUNS", rsic_home() / "runs")).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def captions_dir() -> Path:
    """Folder of the preprocessed caption sets saved from the app (one folder per set)."""
    folder = rsic_home() / "captions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def data_roots() -> list[Path]:
    """Folders the app may read datasets from (the sidebar refuses paths outside them).

    ``RSIC_DATA_ROOTS`` (folders separated by ``os.pathsep``, ``:`` on Linux) replaces the default,
    the user's home folder; ``RSIC_HOME`` (the demo dataset, preprocessed outputs) is always one.
    """
    configured = [Path(p).expanduser() for p in os.environ.get("RSIC_DATA_ROOTS", "").split(os.pathsep) if p.strip()]
    return list(dict.fromkeys([*(configured or [Path.home()]), rsic_home()]))


def check_regular(path: Path) -> None:
    """Refuse ``path`` if it exists but is neither a regular file nor a folder (a named pipe, socket or device).

    Opening a named pipe blocks until someone writes into it, so such a path is refused before it is opened.

    Raises:
        ValueError: the path is a pipe, socket or device (one sentence naming it).
    """
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return  # missing or unreadable: the caller's own open says so
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"{str(path)[:120]}: not a regular file (a named pipe, socket or device); not read")
