"""Shared test set-up: a temporary RSIC_HOME, and every fixture that is computed once per session.

Fixtures live here only (never imported into test modules: an imported session fixture is a new
fixture per module, and the JVM scoring fixture ran four times); data and helper functions are in
``tests/support/``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Set before any test module imports rsic_core, so every process (pages, CLI subprocesses) agrees.
_HOME = tempfile.mkdtemp(prefix="rsic-test-home-")
os.environ["RSIC_HOME"] = _HOME
os.environ.setdefault("RSIC_DEMO_IMAGES", "120")  # a small demo dataset: 96 train / 12 val / 12 test
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _main_module_kept():
    """``__main__`` as it was before the test: AppTest leaves its page script there, and a process pool
    started later (spawn: the demo dataset's) would run that script in every worker, which hangs."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The offline demo dataset as the app sees it (generated once per test session)."""
    from rsic_core.data.demo.dataset import demo_dataset_dir

    return demo_dataset_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real data samples (see :func:`tests.support.shared.shared_path`)."""
    from tests.support.shared import shared_path

    return shared_path("data")


@pytest.fixture
def one_thread():
    """One torch thread: on a busy 2-core machine tiny models run many times faster than with two."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def taught_model_dir(tmp_path_factory) -> Path:
    """A tiny PaliGemma that captions the three colour images, saved with save_pretrained."""
    from rsic_core.models.registry import build_tiny
    from tests.support.captioning import CAPTIONS, teach

    captioner = build_tiny("paligemma", captions=list(CAPTIONS.values()) * 4)
    teach(captioner)
    return captioner.save(tmp_path_factory.mktemp("taught-paligemma"))


@pytest.fixture(scope="session")
def corpus_scores():
    """Our scores of the corpus (all metrics), computed once."""
    from rsic_core.scoring.metrics import ScoreConfig, score
    from tests.support.scoring import PREDICTIONS, REFERENCES

    return score(PREDICTIONS, REFERENCES, ScoreConfig(geo_sim_dtype="float32"))  # the reference precision


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, demo_dir) -> Path:
    """A tiny random PaliGemma (tokenizer trained on the demo captions), saved with save_pretrained.

    Its weights are drawn wider than the default (std 0.2, not 0.02) so that its logits are not
    flat and a few LoRA steps visibly lower the loss.
    """
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.registry import build_tiny

    captions = [c for r in load_dataset(demo_dir).records for c in r.captions]
    return build_tiny("paligemma", captions=captions, vocab_size=400, text={"initializer_range": 0.2}).save(
        tmp_path_factory.mktemp("tiny-pg")
    )


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray (2 CPUs, no dashboard) for the whole session: each start costs seconds on busy cores.

    The archive engine uses a Ray already started in its process, and leaves it running.
    """
    import ray  # pinned in requirements.txt: a ray that does not import fails these tests, never skips them

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def demo_captioner():
    """The offline demo model (assets/demo_model), loaded once per session."""
    from rsic_core.models.registry import load_captioner

    return load_captioner()


@pytest.fixture(scope="session")
def demo_scene_geojson(demo_captioner) -> Path:
    """The demo scene (8 x 8 tiles) captioned by the demo model, where the Map page finds it (made once)."""
    import torch

    from rsic_core.scenes.demo import demo_scene_geojson

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see one_thread
    try:
        return demo_scene_geojson(captioner=demo_captioner)
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def ucm_val_sides(tmp_path_factory) -> dict:
    """Two systems' predictions.jsonl on the real UCM-captions val references: "first" (each image's first
    reference) and "constant" (one caption for all), with the records they were written from."""
    from tests.support.comparing import ucm_val_records, write_side
    from tests.support.shared import shared_path

    records = ucm_val_records(shared_path("data", "ucm-captions"))
    folder = tmp_path_factory.mktemp("ucm-sides")
    sides = {name: write_side(folder / f"{name}.jsonl", records, name) for name in ("first", "constant")}
    return {**sides, "records": records}
