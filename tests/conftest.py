"""Shared test set-up: everything the tests generate goes to a temporary RSIC_HOME."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Set before any test module imports rsic_core, so every process (pages, CLI subprocesses) agrees.
_HOME = tempfile.mkdtemp(prefix="rsic-test-home-")
os.environ["RSIC_HOME"] = _HOME
os.environ.setdefault("RSIC_DEMO_IMAGES", "120")  # a small demo dataset: 96 train / 12 val / 12 test
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The offline demo dataset as the app sees it (generated once per test session)."""
    from rsic_core.paths import demo_dataset_dir

    return demo_dataset_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (real data samples are optional)")
    return SHARED_DATA
