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
import signal
import subprocess
import sys
import time
from pathlib import Path

from rsic_core.paths import runs_dir
from rsic_core.runs.layout import RunLayout, RunStatus, new_run_dir, write_json

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


def is_alive(run_dir: Path) -> bool:
    """Whether the run's process is still running (a crashed process leaves a stale 'running')."""
    status = read_status(run_dir)
    if not RunStatus.of(status.get("state")).active or not status.get("pid"):
        return False
    try:
        os.kill(int(status["pid"]), 0)
    except (OSError, ValueError):
        return False
    try:  # a zombie (exited, not yet reaped by the app that started it) is not running
        return Path(f"/proc/{int(status['pid'])}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def training_runs(root: str | Path | None = None) -> list[Path]:
    """Training run folders (those with a status.json), newest first."""
    root = Path(root) if root is not None else runs_dir()
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if RunLayout(p).status.is_file()]
    return sorted(found, key=lambda p: RunLayout(p).status.stat().st_mtime, reverse=True)


def state_of(run_dir: Path) -> RunStatus:
    """The run's state, DIED for a run marked queued or running whose process is gone."""
    state = RunStatus.of(read_status(run_dir).get("state"))
    return RunStatus.DIED if state.active and not is_alive(run_dir) else state


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
