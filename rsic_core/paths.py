"""Where RSIC Studio keeps what it generates: the demo dataset, caches and runs.

Everything lives under ``RSIC_HOME`` (default ``~/.cache/rsic-studio``) so that a read-only
checkout works and tests can point it at a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

DEMO_SEED = 0
DEMO_IMAGES = 1200  # train 960 / val 120 / test 120


def rsic_home() -> Path:
    home = Path(os.environ.get("RSIC_HOME", Path.home() / ".cache" / "rsic-studio")).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def runs_dir() -> Path:
    """Default folder for training and evaluation runs (``RSIC_RUNS`` overrides)."""
    folder = Path(os.environ.get("RSIC_RUNS", rsic_home() / "runs")).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def demo_dataset_dir(n_images: int | None = None, seed: int = DEMO_SEED, progress=None) -> Path:
    """The offline demo dataset, generated on first use (deterministic from ``seed``).

    Args:
        n_images (``RSIC_DEMO_IMAGES`` or 1200): how many images to generate.
        seed (0): generator seed.
        progress (None): ``callable(done, total)`` while generating.

    Returns:
        The folder holding ``dataset_demo.json`` and ``images/``.
    """
    from rsic_core.demo_data import generate_demo_dataset

    n_images = n_images or int(os.environ.get("RSIC_DEMO_IMAGES", DEMO_IMAGES))
    wanted = {"n_images": n_images, "seed": seed}
    folder = rsic_home() / "demo"
    stamp = folder / "demo_config.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return folder
    # Generate beside the final folder and swap it in, so a reader never sees half a dataset.
    tmp = Path(tempfile.mkdtemp(prefix="demo-", dir=rsic_home()))
    generate_demo_dataset(tmp, n_images=n_images, seed=seed, progress=progress)
    (tmp / "demo_config.json").write_text(json.dumps(wanted))
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    try:
        tmp.rename(folder)
    except OSError:  # another process won the race with the same content
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
