"""``../shared`` beside the checkout: real data samples (``data/``) and reference facts (``reference/``).

Every test that reads it asks :func:`shared_path`. The folder is beside every CI run, so there (``CI``
set to true, 1 or yes) a missing path fails the test loudly; on a developer machine without it the
test is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def shared_path(*parts: str) -> Path:
    """``../shared/PARTS``; fails the test under CI when it is absent, skips it elsewhere."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if on_ci():
            pytest.fail(f"{path} is absent, but ../shared is beside every CI run (CI={os.environ['CI']})", False)
        pytest.skip(f"{path} is absent (real data and reference facts are optional on a developer machine)")
    return path
