"""The same training command on two CPU processes (torchrun, gloo): both take part in one run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rsic_core.training import jobs

ROOT = Path(__file__).resolve().parents[1]


def test_two_processes_train_one_run(tiny_model_dir, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file() and not shutil.which("torchrun"):
        pytest.skip("torchrun is not installed beside this Python")
    run_dir = tmp_path / "run"
    command = [
        str(torchrun if torchrun.is_file() else shutil.which("torchrun")),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "rsic_core.cli",
        "train",
        "--model",
        str(tiny_model_dir),
        "--output_dir",
        str(run_dir),
        "--train_limit",
        "8",
        "--captions_per_image",
        "1",
        "--per_device_train_batch_size",
        "2",
        "--gradient_accumulation_steps",
        "1",
        "--max_steps",
        "3",
        "--save_steps",
        "3",
        "--learning_rate",
        "1e-2",
        "--predict_limit",
        "2",
        "--eval_metrics",
        "bleu",
        "--eval_efficiency",
        "false",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    ranks = {
        json.loads(p.read_text())["rank"]: json.loads(p.read_text()) for p in (run_dir / "ranks").glob("rank-*.json")
    }
    assert sorted(ranks) == [0, 1]  # both processes trained
    # each built at least its 3 steps' batches (the data loader may prefetch one more)
    assert all(r["world_size"] == 2 and r["batches"] >= 3 for r in ranks.values()), ranks
    assert jobs.read_status(run_dir)["state"] == "completed"
    assert [row["step"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)] == [1, 2, 3]  # logged once, by rank 0
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert len((run_dir / "predictions.jsonl").read_text().splitlines()) == 2
