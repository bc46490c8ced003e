"""Bad inputs of the app's run pages: a runs folder that is no place, models and adapters the Evaluate form cannot open.

Each case drives the page with Streamlit's AppTest; the message is the page's error. Evaluate cases
check that the runs folder is still empty afterwards (a refused evaluation writes no run), the runs
folder case that the folder listed before is still the one listed.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.bad_inputs import BadInput, Outcome, page_outcome

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _dataset(tmp: Path) -> dict:
    """A two-image Karpathy dataset and an empty runs folder under ``tmp``."""
    data = tmp / "data"
    data.mkdir()
    entries = []
    for i, caption in enumerate(["a red roof beside a road", "a green park with trees"]):
        Image.new("RGB", (32, 32), (90 * i, 120, 60)).save(data / f"img_{i}.png")
        entries.append({"filename": f"img_{i}.png", "imgid": i, "split": "test", "sentences": [{"raw": caption}]})
    (data / "dataset_tiny.json").write_text(json.dumps({"images": entries, "dataset": "tiny"}), encoding="utf-8")
    (tmp / "runs").mkdir()
    return {"tmp": tmp, "data": data / "dataset_tiny.json", "runs": tmp / "runs"}


def _page(built: dict, page: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["runs_root"] = str(built["runs"])
    at.session_state["dataset_path"] = str(built["data"])
    at.run()
    at.switch_page(page).run()
    return at


def _evaluate(model: str, adapter: str = ""):
    """Fill the Compare page's Evaluate form with ``model`` and ``adapter`` (``{tmp}`` is the case's folder)."""

    def run(built: dict) -> Outcome:
        at = _page(built, "views/compare.py")
        at.text_input(key="evaluate_model").set_value(model.format(tmp=built["tmp"]))
        at.text_input(key="evaluate_adapter").set_value(adapter.format(tmp=built["tmp"]))
        next(b for b in at.button if b.label == "Evaluate").click()
        at.run()
        assert not list(built["runs"].iterdir()), "a refused evaluation wrote a run"
        return page_outcome(at)

    return run


def _relative_runs_folder(built: dict) -> Outcome:
    at = _page(built, "views/runs.py")
    next(t for t in at.text_input if t.label == "Runs folder").set_value("runs").run()
    assert at.session_state["runs_root"] == str(built["runs"]), "the folder listed before was not kept"
    return page_outcome(at)


def _live_caption(model: str, adapter: str = ""):
    """Pick an image on the Live caption page and name ``model`` and ``adapter`` (``{tmp}`` is the case's folder)."""

    def run(built: dict) -> Outcome:
        at = _page(built, "views/live_caption.py")
        at.text_input(key="live_model").set_value(model.format(tmp=built["tmp"]))
        at.text_input(key="live_adapter").set_value(adapter.format(tmp=built["tmp"]))
        picker = next(m for m in at.multiselect if str(m.key).startswith("live_picked"))
        picker.set_value(picker.options[:1]).run()
        assert not [m for m in at.markdown if m.value.startswith("### ")], "a caption was made"
        return page_outcome(at)

    return run


OUTSIDE_MODELS = r" is outside the folders models are read from \(.*\); give a model folder there"

CASES = [
    BadInput(
        "Live caption: a model folder outside the roots (/etc)",
        build=_dataset,
        run=_live_caption("/etc"),
        expected=r"^/etc" + OUTSIDE_MODELS,
    ),
    BadInput(
        "Live caption: a model path outside the roots that does not exist gets the same sentence",
        build=_dataset,
        run=_live_caption("/nonexistent-rsic/model"),
        expected=r"^/nonexistent-rsic/model" + OUTSIDE_MODELS,
    ),
    BadInput(
        "Live caption: an adapter folder outside the roots",
        build=_dataset,
        run=_live_caption("demo", "{tmp}/data"),
        expected=r"/data" + OUTSIDE_MODELS,
    ),
    BadInput(
        "Runs page: a relative runs folder (relative to where the app was started)",
        build=_dataset,
        run=_relative_runs_folder,
        expected=r"^runs: give the runs folder as an absolute path .*; still listing /",
    ),
    BadInput(
        "Compare page: Evaluate a model folder that is not there",
        build=_dataset,
        run=_evaluate("{tmp}/no-model"),
        expected=r"no-model: no such model folder",
    ),
    BadInput(
        "Compare page: Evaluate a folder that holds no model",
        build=_dataset,
        run=_evaluate("{tmp}/data"),
        expected=r"data: this folder holds no config\.json",
    ),
    BadInput(
        "Compare page: Evaluate a hub id that is not in the local cache (offline)",
        build=_dataset,
        run=_evaluate("owner/not-cached-model"),
        expected=r"owner/not-cached-model: no such folder, not in the local Hugging Face cache",
    ),
    BadInput(
        "Compare page: Evaluate with an adapter folder that holds no adapter",
        build=_dataset,
        run=_evaluate("demo", "{tmp}/data"),
        expected=r"data: not a LoRA adapter folder \(no adapter_config\.json\)",
    ),
]
