"""Training runs as background processes: start one, read its status and logs, cancel it.

Light on purpose (no torch, no transformers): the Train page imports it on every rerun. A run is
a folder written by :func:`rsic_core.training.trainer.train`; the files read here (named by
:class:`rsic_core.runs.layout.RunLayout`) are::

    status.json        # {"state": a RunStatus, "pid", "step", "max_steps", "message"}
    train_log.jsonl    # {"step", "epoch", "loss", "learning_rate", "grad_norm", "time"} per logged step
    val_metrics.jsonl  # {"step", "seconds", <metric>: value, ...} per validation

Only one run at a time: :func:`start` refuses while another run's process is alive.

Example::

    run_dir = start({"model": "demo", "max_steps": 100})     # returns at once
    state_of(run_dir), read_jsonl(RunLayout(run_dir).step_log)[-1]["loss"]
    cancel(run_dir)                                          # stops after the step, saves a checkpoint
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from rsic_core.paths import runs_dir
from rsic_core.runs.layout import RunLayout, RunStatus, new_run_dir, process_alive, write_json

# older spellings, kept while the Train page, its cache and tests use them (new code: RunLayout, RunStatus.active)
STEP_LOG, VAL_LOG = RunLayout.STEP_LOG, RunLayout.VAL_LOG
ACTIVE = tuple(s for s in RunStatus if s.active)


def write_status(run_dir: Path, state: RunStatus | str, message: str = "", **extra) -> None:
    """Update ``status.json`` (keeps the keys it had, e.g. ``max_steps``)."""
    layout = RunLayout(run_dir)
    pid = layout.read_status().get("pid", os.getpid())
    layout.update_status(**{"pid": pid, **extra}, state=RunStatus(state), message=message, updated=time.time())


def read_status(run_dir: Path) -> dict:
    """``status.json`` of a run ({} when absent or unreadable)."""
    return RunLayout(run_dir).read_status()


def read_jsonl(file: Path) -> list[dict]:
    """The lines of a JSONL log that parse (a half-written last line is skipped)."""
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def truncate_jsonl(file: Path, last_step: int) -> None:
    """Drop the lines of a step log after ``last_step`` (steps a resumed run will redo)."""
    if Path(file).is_file():
        kept = [r for r in read_jsonl(file) if r.get("step", 0) <= last_step]
        Path(file).write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def trim_to_step(layout: RunLayout, step: int) -> None:
    """Forget what a run logged after ``step`` (the step it resumes from): log lines and validation folders."""
    for log in (layout.step_log, layout.val_log, layout.skipped_images):
        truncate_jsonl(log, step)
    if layout.val_dir.is_dir():
        for folder in layout.val_dir.glob("step-*"):
            if not folder.name.removeprefix("step-").isdigit() or int(folder.name.removeprefix("step-")) > step:
                shutil.rmtree(folder, ignore_errors=True)


def has_progress(layout: RunLayout) -> bool:
    """Whether a run got as far as a training step (a log line or a checkpoint): worth keeping when it fails."""
    return bool(read_jsonl(layout.step_log)) or (
        layout.checkpoints_dir.is_dir() and any(layout.checkpoints_dir.iterdir())
    )


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint whose trainer state was fully written; half-written newer ones are removed.

    A run killed while saving leaves a checkpoint folder without (or with a truncated)
    ``trainer_state.json``, the last file the Trainer writes.
    """
    from transformers.trainer_utils import get_last_checkpoint

    while Path(folder).is_dir():
        last = get_last_checkpoint(str(folder))
        if last is None:
            return None
        try:
            json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))
            return last
        except (OSError, ValueError):
            shutil.rmtree(last, ignore_errors=True)
    return None


class EvaluationCancelled(BaseException):
    """Cancel (SIGTERM, Ctrl-C) during the final evaluation: it stops there, the trained adapter is kept.

    A ``BaseException``, as ``KeyboardInterrupt`` is: raised from a signal handler it can land inside any library
    call, and code that catches ``Exception`` would turn it into another error (transformers' processor re-raises
    it as "Unable to convert output 'pixel_values' to a tensor") or record it as one image's error and go on.
    """


def cancel_stops_at_once() -> None:
    """From now on a cancel stops the run at once (during training it waits for the step to end)."""
    import threading

    def stop(signum, frame):
        raise EvaluationCancelled()

    if threading.current_thread() is threading.main_thread():  # train()'s CancelCallback restores the handlers
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)


def checkpoint_is_final(checkpoint: str | Path) -> bool:
    """Whether a Trainer checkpoint was taken at the run's last step (nothing is left to train)."""
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
    return 0 < int(state.get("max_steps") or 0) <= int(state.get("global_step") or 0)


def is_alive(run_dir: Path) -> bool:
    """Whether the run's process is still running (a crashed process leaves a stale 'running')."""
    status = read_status(run_dir)
    return RunStatus.of(status.get("state")).active and process_alive(status.get("pid"))


def training_runs(root: str | Path | None = None) -> list[Path]:
    """Training run folders (those with a status.json), newest first."""
    root = Path(root) if root is not None else runs_dir()
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if RunLayout(p).status.is_file()]
    return sorted(found, key=lambda p: RunLayout(p).status.stat().st_mtime, reverse=True)


def state_of(run_dir: Path) -> RunStatus:
    """The run's state, DIED for a run marked queued or running whose process is gone."""
    return RunLayout(run_dir).state()


def active_run(root: str | Path | None = None) -> Path | None:
    """The run whose process is alive, if any."""
    return next((p for p in training_runs(root) if is_alive(p)), None)


def start(config: dict, root: str | Path | None = None, python: str | None = None) -> Path:
    """Start ``rsic train`` on ``config`` in its own process session; returns the run folder at once.

    Args:
        config: TrainConfig fields (unknown keys are refused by the training command).
        root (None): the runs folder (default :func:`rsic_core.paths.runs_dir`).
        python (None): the interpreter (default: this one).

    Raises:
        ValueError: another run is in progress (one run at a time on this machine).
    """
    busy = active_run(root)
    if busy is not None:
        status = read_status(busy)
        raise ValueError(
            f"run {busy.name} is still {status.get('state')} ({status.get('message', '')}); "
            "wait for it to finish or cancel it before starting another"
        )
    run_dir = (
        Path(config["output_dir"]) if config.get("output_dir") else new_run_dir(config.get("name") or "lora", root)
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    layout = RunLayout(run_dir)
    config = {**config, "output_dir": str(run_dir)}
    write_json(run_dir, layout.launch_file.name, config)
    write_status(run_dir, RunStatus.QUEUED, "starting the training process", pid=None, started=time.time())
    log = open(layout.process_log, "ab")
    process = subprocess.Popen(
        [python or sys.executable, "-m", "rsic_core.cli", "train", "--config", str(layout.launch_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    if read_status(run_dir).get("pid") is None:  # the child writes its own status once it runs
        write_status(run_dir, RunStatus.QUEUED, "starting the training process", pid=process.pid)
    return run_dir


def cancel(run_dir: Path) -> bool:
    """Ask a running run to stop: it finishes the current step, saves a checkpoint and exits.

    Returns:
        False when the run's process is not alive (nothing to cancel).
    """
    if not is_alive(run_dir):
        return False
    os.kill(int(read_status(run_dir)["pid"]), signal.SIGTERM)
    return True
