"""Train page: the form starts a run in its own process on the loaded dataset's splits, its loss and status
appear live (the final evaluation too), a second run is refused, a cancel stops it (the final evaluation at once)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rsic_core.training import jobs
from tests.support.training import quick_config, write_dataset
from ui.train_cache import MISSING, NO_FINAL_EVAL

ROOT = Path(__file__).resolve().parents[1]


def _open_train_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("views/train.py")
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
    assert json.loads((run_dir / "config.json").read_text())["adapter"] == str(run_dir / "adapter")  # Runs page
    at.run()
    table = at.dataframe[-1].value
    assert run_dir.name in list(table["run"])


def _status_table(at) -> dict:
    table = at.dataframe[-1].value.set_index("run")
    return {name: (row["state"], row["step"], row["of"]) for name, row in table.iterrows()}


def test_runs_table_follows_status_json_and_enter_does_not_start_a_run(tmp_path, monkeypatch):
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
    assert _status_table(at)[run_dir.name] == ("completed", "4", "4")  # the table agrees with the status line

    queued = tmp_path / "20260101-110000-lora"
    queued.mkdir()
    jobs.write_status(queued, "queued", "starting the training process", pid=os.getpid())  # no step yet
    time.sleep(0.01)  # runs are listed newest status first: the page shows the cancelled one
    jobs.write_status(run_dir, "cancelled", f"cancelled at step 4; continue with `rsic train --resume {run_dir}`")
    at.run()
    assert _status_table(at)[run_dir.name][0] == "cancelled"
    table = at.dataframe[-1].value.set_index("run")
    assert list(table.loc[queued.name, ["step", "of", "last loss"]]) == [MISSING] * 3  # a dash, never "None"
    assert (
        "`" not in " ".join(table["message"]) and f"rsic train --resume {run_dir}" in table.loc[run_dir.name, "message"]
    )
    status_line = next(m.value for m in at.markdown if m.value.startswith("**cancelled**"))
    assert f"`rsic train --resume {run_dir}`" in status_line  # Markdown: the command shows in code style


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


def _train_val_dataset(folder: Path) -> Path:
    """A Karpathy dataset with a train and a val split and no test split (like UCM-captions' train/val release)."""
    write_dataset(folder, ["a red roof beside a road", "a green park with many trees"] * 4)
    annotation = folder / "dataset_small.json"
    data = json.loads(annotation.read_text())
    for image in data["images"]:
        image["split"] = image["split"].replace("test", "val")
    annotation.write_text(json.dumps(data))
    return folder


def _selectbox(at, label):
    return next(s for s in at.selectbox if s.label == label)


def test_the_form_trains_on_the_loaded_datasets_splits(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_RUNS", str(tmp_path / "runs"))
    data = _train_val_dataset(tmp_path / "trainval")
    at = _open_train_page(dataset_path=str(data))
    assert any("Dataset: **small**" in m.value and "train 6, val 2" in m.value for m in at.markdown)
    assert list(_selectbox(at, "Train on split").options) == ["train", "val"]
    assert _selectbox(at, "Train on split").value == "train"
    evaluate = _selectbox(at, "Evaluate at the end on")  # no test split: the final evaluation is on val
    assert list(evaluate.options) == ["train", "val", NO_FINAL_EVAL] and evaluate.value == "val"

    next(t for t in at.text_input if t.label == "Model").set_value(str(tiny_model_dir))
    fields = {n.label: n for n in at.number_input}
    fields["Max steps (-1: use epochs)"].set_value(2)
    fields["Batch per device"].set_value(2)
    fields["Gradient accumulation"].set_value(1)
    assert fields["Validation images"].value == 32  # the field's default, said under the form
    assert "Validation images: all 2 images of the val split" in " ".join(c.value for c in at.caption)
    fields["Validation images"].set_value(1)
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert "Validation images: 1 of 2 images" in " ".join(c.value for c in at.caption)  # as submitted
    run_dir = Path(at.session_state["train_run"])
    _wait(lambda: not jobs.is_alive(run_dir))
    assert jobs.state_of(run_dir) == "completed", jobs.read_status(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["data"], config["train_split"], config["split"]) == (str(data), "train", "val")
    assert config["val_limit"] == 1  # the form's Validation images is the run's val_limit
    assert json.loads((run_dir / "metrics.json").read_text())["n_images"] == 2  # scored on the val split
    at.run()
    assert any(
        m.value == "Trains on **trainval**, split **train**; evaluated at the end on **val**." for m in at.markdown
    )
    row = at.dataframe[-1].value.set_index("run").loc[run_dir.name]
    assert (row["state"], row["data"], row["split"]) == ("completed", "trainval", "train")


def test_the_real_ucm_train_and_val_release_is_offered_its_own_splits(shared_data):
    at = _open_train_page(dataset_path=str(shared_data / "ucm-captions"))
    assert not at.exception, at.exception
    assert list(_selectbox(at, "Train on split").options) == ["train", "val"]
    assert _selectbox(at, "Evaluate at the end on").value == "val"  # it has no test split (ucm-sample holds part of it)


def test_a_split_the_dataset_lacks_is_refused_before_any_step(tiny_model_dir, tmp_path):
    from rsic_core.training.trainer import train

    data = write_dataset(tmp_path / "traintest", ["a red roof beside a road", "a green park with many trees"] * 4)
    config = quick_config(tiny_model_dir, tmp_path, data=str(data), train_limit=0, eval_steps=2)
    with pytest.raises(ValueError, match=r"no split 'val' \(--val-split\); its splits are train, test: choose one"):
        train(config)
    assert not (Path(config.output_dir) / jobs.STEP_LOG).exists()  # refused before training, not after it


def test_a_cancel_during_the_final_evaluation_stops_it_and_resume_only_evaluates(tiny_model_dir, tmp_path, demo_dir):
    from rsic_core.training.config import TrainConfig
    from rsic_core.training.trainer import train

    config = {
        "model": str(tiny_model_dir),
        "max_steps": 2,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "per_device_eval_batch_size": 1,  # 12 test images, one generate() each: the evaluation takes a while
        "gen_num_beams": 3,
        "gen_max_new_tokens": 40,
        "eval_metrics": "bleu",
        "eval_efficiency": False,
    }
    run_dir = jobs.start(config, root=tmp_path)
    seen = []
    while jobs.is_alive(run_dir) or jobs.state_of(run_dir) == "queued":
        message = jobs.read_status(run_dir).get("message", "")
        seen.append(message)
        if "final evaluation on the test split" in message:
            jobs.cancel(run_dir)
            break
        time.sleep(0.05)
    _wait(lambda: not jobs.is_alive(run_dir), 120)
    status = jobs.read_status(run_dir)
    assert status["state"] == "cancelled", (status, seen[-5:])
    assert "cancelled during the final evaluation, after all 2 steps" in status["message"]
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file() and not (run_dir / "eval").exists()

    train(TrainConfig(resume=str(run_dir)))  # what the message says to run: it evaluates, it does not train again
    status = jobs.read_status(run_dir)
    assert (status["state"], status["step"]) == ("completed", 2)
    assert [r["step"] for r in jobs.read_jsonl(run_dir / jobs.STEP_LOG)] == [1, 2]
    assert json.loads((run_dir / "metrics.json").read_text())["n_images"] == 12


def test_train_form_offers_mode_and_objective_and_an_scst_run_shows_its_reward(tmp_path):
    from ui.train_cache import run_view, trained_on

    at = _open_train_page()
    selects = {s.label: s for s in at.selectbox}
    assert selects["Train mode"].options == ["lora", "full"] and selects["Objective"].options == ["xe", "scst"]
    assert {n.label: n.value for n in at.number_input}["SCST samples per image"] == 5

    run_dir = tmp_path / "scst-run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"kind": "training", "train_mode": "full", "objective": "scst"}))
    rows = [
        {"step": s, "loss": -0.1 * s, "learning_rate": 1e-4, "reward": 0.2 * s, "baseline": 0.2 * s} for s in (1, 2)
    ]
    (run_dir / jobs.STEP_LOG).write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = run_view(run_dir)["log"]
    assert list(log["reward"]) == [0.2, 0.4] and list(log["baseline"]) == [0.2, 0.4]
    assert trained_on(run_dir).startswith("Trains (full, SCST) on")


def test_validation_scores_are_drawn_step_by_step_once_there_are_two(tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_RUNS", str(tmp_path))
    run_dir = tmp_path / "20260101-120000-lora"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"kind": "training", "eval_steps": 3}))
    jobs.write_status(run_dir, "running", "step 3 of 6", pid=os.getpid(), step=3, max_steps=6)
    scores = [{"step": 3, "seconds": 1.0, "BLEU-4": 0.10, "CIDEr": 0.20}, {"step": 6, "seconds": 1.0, "BLEU-4": 0.15}]
    (run_dir / jobs.VAL_LOG).write_text(json.dumps(scores[0]) + "\n")
    at = _open_train_page()
    charts = lambda: at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # noqa: E731
    assert not charts(), "one validation is a table row, not a line"
    (run_dir / jobs.VAL_LOG).write_text("".join(json.dumps(s) + "\n" for s in scores))
    at.run()
    assert not at.exception, at.exception
    [chart] = charts()
    assert "score (x100)" in chart.proto.spec and "BLEU-4" in str(chart.proto) and "CIDEr" in str(chart.proto)
    assert list(at.dataframe[0].value["BLEU-4"]) == pytest.approx([10.0, 15.0])  # the numbers stay in the table


def test_a_completed_run_shows_its_final_scores_and_the_form_says_what_the_model_knows(tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_RUNS", str(tmp_path))
    run_dir = tmp_path / "20260101-120000-lora"
    run_dir.mkdir()
    subset = {"n": 12, "of": 12, "seed": 0, "strata": 12, "by": "class", "image_ids": []}
    config = {"kind": "training", "eval_split": "test", "subset": subset}
    (run_dir / "config.json").write_text(json.dumps(config))
    (run_dir / "metrics.json").write_text(json.dumps({"corpus": {"BLEU-4": 0.4321, "CIDEr": 1.05}}))
    jobs.write_status(run_dir, "completed", "6 steps", step=6, max_steps=6)
    at = _open_train_page()
    assert not at.exception, at.exception
    assert any(m.value.startswith("Final scores on the test split (x100") for m in at.markdown)
    assert {m.label: m.value for m in at.metric} == {"BLEU-4": "43.21", "CIDEr": "105.00"}
    assert any("The demo model knows the 12 synthetic scene classes" in c.value for c in at.caption)


def test_a_cancel_that_lands_inside_a_library_call_stays_a_cancel():
    """The cancel is raised from a signal handler, so it can land anywhere: inside transformers' processor, whose
    ``except Exception`` turned it into "Unable to convert output 'pixel_values'" and the run into a failure."""
    import numpy as np
    from transformers import BatchFeature

    class Interrupted:  # numpy reads it while stacking the images: the cancel arrives mid-conversion
        def __array__(self, *args, **kwargs):
            raise jobs.EvaluationCancelled()

    with pytest.raises(jobs.EvaluationCancelled):
        BatchFeature({"pixel_values": [np.zeros(2), Interrupted()]}, tensor_type="pt")
