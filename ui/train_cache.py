"""What the Train page shows of a run: its status, loss log and validation scores as tables.

Nothing here is cached across reruns on purpose: a running run's files change every step, and
reading a few small JSON files is cheap.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from rsic_core.training import jobs

FORM_FIELDS = (
    "model",
    "name",
    "lora_targets",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_steps",
    "num_train_epochs",
    "eval_steps",
    "eval_limit",
    "seed",
)


def default_config() -> dict:
    """The form's defaults: TrainConfig's own (LoRA r 8, AdamW 5e-5, batch 4 x accumulation 4)."""
    from rsic_core.training.trainer import TrainConfig  # light: torch and transformers load lazily

    return {k: v for k, v in asdict(TrainConfig()).items() if k in FORM_FIELDS}


def run_view(run_dir: str | Path) -> dict:
    """State, message, step, progress fraction, loss log and validation table of a run."""
    run_dir = Path(run_dir)
    status = jobs.read_status(run_dir)
    step, max_steps = int(status.get("step") or 0), int(status.get("max_steps") or 0)
    log = pd.DataFrame(jobs.read_jsonl(run_dir / jobs.STEP_LOG), columns=["step", "loss", "learning_rate"])
    validation = pd.DataFrame(jobs.read_jsonl(run_dir / jobs.VAL_LOG))
    if not validation.empty:
        scores = [c for c in validation.columns if c not in ("step", "seconds", "error")]
        validation[scores] = validation[scores] * 100
    state = jobs.state_of(run_dir)
    message = status.get("message", "")
    if state == "died":
        message = f"the training process is gone without finishing; continue it with `rsic train --resume {run_dir}`"
    return {
        "state": state,
        "message": message,
        "step": step,
        "max_steps": max_steps,
        "fraction": min(step / max_steps, 1.0) if max_steps else 0.0,
        "log": log,
        "validation": validation,
    }


def runs_overview(run_dirs: list[Path]) -> list[dict]:
    """One row per training run: name, state, step, last loss, message."""
    rows = []
    for run_dir in run_dirs:
        status = jobs.read_status(run_dir)
        log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
        rows.append(
            {
                "run": run_dir.name,
                "state": jobs.state_of(run_dir),
                "step": status.get("step"),
                "of": status.get("max_steps"),
                "last loss": log[-1]["loss"] if log else None,
                "message": status.get("message", ""),
                "folder": str(run_dir),
            }
        )
    return rows
