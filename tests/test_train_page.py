"""Train page: the form starts a run in its own process, its loss appears live, a second run is refused."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from rsic_core.training import jobs

ROOT = Path(__file__).resolve().parents[1]


def _open_train_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _wait(predicate, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(0.5)


def test_train_page_starts_a_run_shows_its_loss_and_refuses_a_second(tiny_model_dir, demo_dir):
    at = _open_train_page()
    form_defaults = {n.label: n.value for n in at.number_input}
    assert form_defaults["Learning rate"] == 5e-5 and form_defaults["Batch per device"] == 4
    assert form_defaults["Gradient accumulation"] == 4 and form_defaults["LoRA rank r"] == 8

    next(t for t in at.text_input if t.label == "Model").set_value(str(tiny_model_dir))
    fields = {n.label: n for n in at.number_input}
    fields["Max steps (-1: use epochs)"].set_value(2000)  # long enough to be cancelled
    fields["Learning rate"].set_value(1e-2)
    fields["Batch per device"].set_value(2)
    fields["Gradient accumulation"].set_value(1)
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    run_dir = Path(at.session_state["train_run"])
    assert jobs.read_status(run_dir).get("pid")  # a separate process was started

    _wait(lambda: len(jobs.read_jsonl(run_dir / jobs.STEP_LOG)) >= 2)
    assert jobs.state_of(run_dir) == "running"
    at.run()
    assert not at.exception, at.exception
    assert any("step" in (p.proto.text or "") for p in at.get("progress"))
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"), "the loss curve is drawn"

    # A second run while the first runs is refused with a message.
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert any("still running" in e.value for e in at.error), [e.value for e in at.error]
    at.button(key=f"cancel-{run_dir}").click()  # the page's Cancel button
    at.run()
    _wait(lambda: not jobs.is_alive(run_dir), 120)
    assert jobs.state_of(run_dir) == "cancelled"
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()  # what was learnt is kept
    at.run()
    table = at.dataframe[-1].value
    assert run_dir.name in list(table["run"])


def _status_table(at) -> dict:
    table = at.dataframe[-1].value.set_index("run")
    return {name: (row["state"], row["step"], row["of"]) for name, row in table.iterrows()}


def test_runs_table_follows_status_json_and_enter_does_not_start_a_run(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("RSIC_RUNS", str(tmp_path))
    run_dir = tmp_path / "20260101-120000-lora"
    run_dir.mkdir()
    jobs.write_status(run_dir, "running", "step 2 of 4", pid=os.getpid(), step=2, max_steps=4)  # a live process
    at = _open_train_page()
    form = next(b for b in at.get("form"))
    assert form.proto.form.enter_to_submit is False  # Enter in a field does not start a run
    assert _status_table(at)[run_dir.name][0] == "running"

    jobs.write_status(run_dir, "completed", "completed: 4 steps", step=4)
    at.run()
    assert any("completed: 4 steps" in m.value for m in at.markdown)
    assert _status_table(at)[run_dir.name] == ("completed", 4, 4)  # the table agrees with the status line

    jobs.write_status(run_dir, "cancelled", "cancelled at step 4")
    at.run()
    assert _status_table(at)[run_dir.name][0] == "cancelled"


def test_the_form_is_made_of_train_config_fields():
    """Labels, help texts, defaults and choices come from TrainConfig's fields (the CLI shows the same)."""
    from rsic_core.training.config import PRECISIONS, TrainConfig

    fields = TrainConfig.__dataclass_fields__
    at = _open_train_page()
    rate = next(n for n in at.number_input if n.label == "Learning rate")
    assert rate.help == fields["learning_rate"].metadata["help"] and rate.value == fields["learning_rate"].default
    precision = next(s for s in at.selectbox if s.label == "Precision")
    assert list(precision.options) == list(PRECISIONS) and precision.help == fields["precision"].metadata["help"]
    assert next(t for t in at.text_input if t.label == "Model").help == fields["model"].metadata["help"]
