"""Trainer callbacks of a training run: step log, status, validation, non-finite loss, cancel.

Everything a run reports goes into its folder (files named by :class:`rsic_core.runs.layout.RunLayout`),
written by the main process only, so that the Train page (another process) can tail it::

    status.json         # state (a RunStatus), pid, step, max_steps, message
    train_log.jsonl     # one line per logged step: step, epoch, loss, learning_rate, grad_norm, time
                        #   (SCST runs add reward, baseline, reward_max: mean CIDEr-D of the samples)
    val_metrics.jsonl   # one line per validation: step and corpus scores on the validation subset
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback

from rsic_core.runs.layout import RunLayout, RunStatus, write_json
from rsic_core.training.jobs import write_status

SCST_LOGS = ("reward", "baseline", "reward_max")  # what an SCST step logs beside its loss


class NonFiniteLoss(ValueError):
    """The training loss became NaN or infinite."""


def _append(file: Path, row: dict) -> None:
    with open(file, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


class RunLogCallback(TrainerCallback):
    """Appends the step log, updates the status, stops on a NaN/inf loss, reports progress."""

    def __init__(self, run_dir: Path, progress: Callable[[int, int], None] | None = None, collator=None):
        self.run_dir, self.progress, self.collator = Path(run_dir), progress, collator
        self.layout = RunLayout(run_dir)
        self._reported = 0

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            write_status(self.run_dir, RunStatus.RUNNING, "training", step=state.global_step, max_steps=state.max_steps)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs or not state.is_world_process_zero:
            return
        loss = float(logs["loss"])
        row = {
            "step": state.global_step,
            "epoch": state.epoch,
            "loss": loss,
            "learning_rate": logs.get("learning_rate"),
            "grad_norm": _finite_or_none(logs.get("grad_norm")),
            "time": time.time(),
        }
        row |= {k: _finite_or_none(logs[k]) for k in SCST_LOGS if k in logs}  # SCST: mean reward and baseline
        _append(self.layout.step_log, row)
        skipped = self.collator.skipped[self._reported :] if self.collator is not None else []
        self._reported += len(skipped)
        for problem in skipped:
            _append(self.layout.skipped_images, {"step": state.global_step, "problem": problem})
        write_status(
            self.run_dir,
            RunStatus.RUNNING,
            f"step {state.global_step} of {state.max_steps}",
            step=state.global_step,
            max_steps=state.max_steps,
        )
        if self.progress is not None:
            self.progress(state.global_step, state.max_steps)
        if not math.isfinite(loss):
            raise NonFiniteLoss(
                f"the training loss became {loss} at step {state.global_step} (learning rate "
                f"{logs.get('learning_rate')}): lower learning_rate (e.g. {args.learning_rate / 10:g}), keep "
                f"max_grad_norm at 1.0 (now {args.max_grad_norm}), or train in bf16/fp32 instead of fp16; "
                "the last checkpoint before this step is kept in checkpoints/"
            )


class ValidationCallback(TrainerCallback):
    """Scores captions of the validation subset every ``eval_steps`` steps (main process only).

    ``images`` says which images, for the status line (e.g. "32 of 210 images, stratified over 21 classes, seed 0").
    """

    def __init__(self, run_dir: Path, validate: Callable[[], dict], eval_steps: int, images: str = "its images"):
        self.run_dir, self.validate, self.eval_steps, self.images = Path(run_dir), validate, eval_steps, images
        self.layout = RunLayout(run_dir)

    def on_step_end(self, args, state, control, **kwargs):
        if self.eval_steps and state.global_step % self.eval_steps == 0 and state.is_world_process_zero:
            split = getattr(args, "val_split", "validation")
            message = f"step {state.global_step} of {state.max_steps}: validating on the {split} split ({self.images})"
            write_status(self.run_dir, RunStatus.RUNNING, message, step=state.global_step, max_steps=state.max_steps)
            started = time.time()
            scores = self.validate()
            _append(self.layout.val_log, {"step": state.global_step, "seconds": time.time() - started, **scores})


class CancelCallback(TrainerCallback):
    """SIGTERM/SIGINT stop the run after the current step and save a checkpoint to resume from."""

    def __init__(self):
        self.cancelled = False
        self._previous = {}

    def install(self) -> CancelCallback:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame):
        self.cancelled = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.cancelled:
            control.should_training_stop = True
            control.should_save = True


class RankReportCallback(TrainerCallback):
    """Each process writes how many batches it built (``ranks/rank-<k>.json``): who took part."""

    def __init__(self, run_dir: Path, collator):
        self.run_dir, self.collator = Path(run_dir), collator

    def on_train_end(self, args, state, control, **kwargs):
        file = RunLayout(self.run_dir).rank_file(args.process_index)
        file.parent.mkdir(exist_ok=True)
        write_json(
            file.parent,
            file.name,
            {
                "rank": args.process_index,
                "world_size": args.world_size,
                "batches": self.collator.batches,
                "skipped_images": len(self.collator.skipped),
            },
        )


def _finite_or_none(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
