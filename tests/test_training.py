"""LoRA training runs: the loss falls, the run folder is complete, killed runs resume, bad runs stop clearly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rsic_core.training import jobs
from rsic_core.training.config import TrainConfig, load_train_config
from rsic_core.training.jobs import last_complete_checkpoint
from rsic_core.training.trainer import train
from tests.support.training import quick_config, write_dataset

ROOT = Path(__file__).resolve().parents[1]


def _losses(run_dir: Path) -> list[float]:
    return [row["loss"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)]


def test_lora_run_lowers_the_loss_and_leaves_a_complete_run_folder(tiny_model_dir, tmp_path):
    from rsic_core.models.registry import load_captioner
    from rsic_core.runs.layout import load_run

    steps = []
    run_dir = train(
        quick_config(
            tiny_model_dir,
            tmp_path,
            max_steps=12,
            save_steps=6,
            eval_steps=6,
            val_limit=3,
            train_limit=4,
            learning_rate=3e-2,
        ),
        progress=lambda step, total: steps.append((step, total)),
    )

    status = jobs.read_status(run_dir)
    assert status["state"] == "completed" and status["step"] == 12
    assert steps[-1] == (12, 12)
    log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    assert [row["step"] for row in log] == list(range(1, 13))
    assert all(row["learning_rate"] is not None for row in log)
    losses = _losses(run_dir)
    assert losses[-1] < 0.85 * losses[0], losses  # LoRA learns the captions

    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["checkpoint-12", "checkpoint-6"]
    validations = jobs.read_jsonl(run_dir / jobs.VAL_LOG)
    assert [v["step"] for v in validations] == [6, 12] and "CIDEr" in validations[0]
    lora = json.loads((run_dir / "lora.json").read_text())
    assert lora["wrapped"]["language"] > 0 and 0 < lora["share"] < 0.2

    run = load_run(run_dir)  # the Runs and Compare pages read it like any evaluation run
    assert run.config["kind"] == "training" and run.config["adapter"].endswith("adapter")
    assert len(run.predictions) == 4 and "BLEU-4" in run.corpus
    assert load_train_config(run_dir).lora_r == 8  # the exact config is kept

    tuned = load_captioner(tiny_model_dir, adapter=run_dir / "adapter")  # the adapter loads back onto the base
    assert tuned.adapter.endswith("adapter")


def test_killed_run_resumes_from_its_checkpoint_with_nothing_lost(tiny_model_dir, tmp_path):
    config = quick_config(tiny_model_dir, tmp_path, max_steps=24, save_steps=4, predict_limit=-1, learning_rate=5e-3)
    reference = train(
        quick_config(
            tiny_model_dir, tmp_path / "reference", max_steps=24, save_steps=24, predict_limit=-1, learning_rate=5e-3
        )
    )

    run_dir = Path(config.output_dir)
    launch = tmp_path / "launch.json"
    launch.write_text(config.to_json_string())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "rsic_core.cli", "train", "--config", str(launch)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while not (run_dir / "checkpoints" / "checkpoint-8").is_dir() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # no chance to clean up
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    assert 8 <= len(killed_log) < 24
    assert jobs.read_status(run_dir)["state"] == "running" and jobs.state_of(run_dir) == "died"

    resumed_from = int(Path(last_complete_checkpoint(run_dir / "checkpoints")).name.split("-")[1])
    assert resumed_from >= 4
    train(TrainConfig(resume=str(run_dir)))

    log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    assert [row["step"] for row in log] == list(range(1, 25))  # no step twice, none missing
    assert log[:resumed_from] == killed_log[:resumed_from]  # the history before the checkpoint is kept as is
    # Weights, optimizer, schedule and data order were restored: the losses match an uninterrupted run.
    assert _losses(run_dir) == pytest.approx(_losses(reference), rel=1e-3, abs=1e-4)
    assert jobs.read_status(run_dir)["state"] == "completed"


def test_run_killed_before_its_first_checkpoint_starts_over_with_clean_logs(tiny_model_dir, tmp_path):
    from rsic_core.cli import main

    config = quick_config(
        tiny_model_dir, tmp_path, max_steps=8, save_steps=8, eval_steps=2, val_limit=2, val_metrics="bleu",
        predict_limit=-1, learning_rate=5e-3,
    )  # fmt: skip
    run_dir = Path(config.output_dir)
    launch = tmp_path / "launch.json"
    launch.write_text(config.to_json_string())
    process = subprocess.Popen(
        [sys.executable, "-m", "rsic_core.cli", "train", "--config", str(launch)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    deadline = time.time() + 240
    while len(jobs.read_jsonl(run_dir / jobs.STEP_LOG)) < 3 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # after the validation at step 2, long before the checkpoint at step 8
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    assert 3 <= len(killed_log) < 8 and last_complete_checkpoint(run_dir / "checkpoints") is None
    assert (run_dir / "val" / "step-2").is_dir()

    assert main(["train", "--config", str(launch)]) == 0  # the same command again: it starts over from step 0

    log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    assert [row["step"] for row in log] == list(range(1, 9))  # not 1, 2, 3, 1, 2, ...
    assert _losses(run_dir)[: len(killed_log)] == pytest.approx([r["loss"] for r in killed_log], rel=1e-3, abs=1e-4)
    assert [v["step"] for v in jobs.read_jsonl(run_dir / jobs.VAL_LOG)] == [2, 4, 6, 8]  # each validation once
    assert sorted(p.name for p in (run_dir / "val").iterdir()) == ["step-2", "step-4", "step-6", "step-8"]
    assert jobs.read_status(run_dir)["state"] == "completed"


def test_a_start_that_fails_before_any_step_leaves_no_folder_in_the_runs_folder(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("RSIC_RUNS", str(runs))
    data = write_dataset(tmp_path / "data", ["a red roof beside a road", "a green park with many trees"] * 4)
    with pytest.raises(FileNotFoundError, match="absent-model"):
        train(TrainConfig(model=str(tmp_path / "absent-model"), data=str(data), max_steps=2, train_device="cpu"))
    assert list(runs.iterdir()) == []  # a typo does not litter runs/ (a folder named with output_dir keeps why)


def test_nan_loss_stops_the_run_with_what_to_change(tiny_model_dir, tmp_path):
    config = quick_config(tiny_model_dir, tmp_path, learning_rate=1e12, max_grad_norm=0.0, max_steps=20)
    with pytest.raises(ValueError, match="lower learning_rate"):
        train(config)
    status = jobs.read_status(Path(config.output_dir))
    assert status["state"] == "failed" and "learning_rate" in status["message"]
    assert len(_losses(Path(config.output_dir))) < 20  # it stopped at the first non-finite loss


def test_guard_refuses_id_like_captions_before_any_step(tiny_model_dir, tmp_path):
    data = write_dataset(
        tmp_path / "ids", ["one", "twenty-two", "-1", "seventy-one", "-1", "forty-six", "109", "3"] * 2
    )
    config = quick_config(tiny_model_dir, tmp_path, data=str(data), train_limit=0)
    with pytest.raises(ValueError, match="id"):
        train(config)
    assert not (Path(config.output_dir) / jobs.STEP_LOG).exists()
    assert jobs.read_status(Path(config.output_dir))["state"] == "failed"


def test_lora_targets_that_miss_a_tower_fail_clearly(tiny_model_dir, tmp_path):
    from rsic_core.models.registry import build_tiny
    from rsic_core.training.lora import apply_lora

    with pytest.raises(ValueError, match="match no module"):
        train(quick_config(tiny_model_dir, tmp_path / "a", lora_targets="query,key"))  # BLIP names on PaliGemma
    tiny = build_tiny("paligemma")
    with pytest.raises(ValueError, match="wrapped nothing in the language tower"):
        apply_lora(tiny.model, tiny.family, targets="fc1,fc2")  # SigLIP MLP only
    blip2 = build_tiny("blip2-opt")
    _, report = apply_lora(blip2.model, blip2.family, targets="default", require_towers=("language", "qformer"))
    assert report["wrapped"]["language"] > 0 and report["wrapped"]["qformer"] > 0 and report["wrapped"]["vision"] == 0
    with pytest.raises(ValueError, match="vision"):
        apply_lora(build_tiny("blip2-opt").model, blip2.family, targets="default", require_towers=("vision",))


def test_config_file_with_command_line_overrides(tmp_path):
    from rsic_core.cli.train import parse_config

    file = tmp_path / "run.json"
    file.write_text(json.dumps({"lora_r": 4, "learning_rate": 1e-4, "max_steps": 10}))
    (config,) = parse_config(["--config", str(file), "--max_steps", "20", "--gradient_checkpointing"])
    assert (config.lora_r, config.learning_rate, config.max_steps, config.gradient_checkpointing) == (4, 1e-4, 20, True)
    assert (config.per_device_train_batch_size, config.gradient_accumulation_steps, config.report_to) == (4, 4, [])
    file.write_text(json.dumps({"lora_rank": 4}))
    with pytest.raises(ValueError, match="lora_rank"):
        parse_config(["--config", str(file)])


def test_logits_only_over_caption_positions_give_the_same_loss(tmp_path):
    """The memory-saving switch (GPU benchmark) computes exactly the loss of the full logits."""
    import torch
    from PIL import Image

    from rsic_core.models.registry import build_tiny
    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.losses import caption_window

    tiny = build_tiny("paligemma", text={"initializer_range": 0.2})
    images = [Image.new("RGB", (32, 32), c) for c in ("red", "green", "blue")]
    captions = ["a red roof", "a green forest with many trees beside a road", "a lake"]
    batch = CaptionCollator(tiny.family, tiny.processor, padding_side="left").encode(images, captions)
    with torch.no_grad():
        full = tiny.model(**batch)
        window = tiny.model(**caption_window(batch))
    assert window.logits.shape[1] < full.logits.shape[1] / 2  # far fewer vocabulary rows
    assert torch.allclose(full.loss, window.loss, atol=1e-5), (float(full.loss), float(window.loss))
