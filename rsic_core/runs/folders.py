"""A run folder's lifecycle: opened for a new run, reopened to continue one, cleared to start afresh, or refused.

    run_dir, reopened = open_run_folder("runs/r1", "lora", overwrite=False)  # reopened: a training run to continue
    reopen_run(Path("runs/r1"), "--resume")                       # ValueError unless it can continue there

The rules every command that writes a run folder follows: a folder holding a ``config.json`` no run
of this project wrote is refused; a run whose process is still running is never touched; a finished
run, or a run of another kind, is continued never and cleared only on ``overwrite``. What a run of a
given kind also compares (its options) stays with that kind (:mod:`rsic_core.training.run_folders`).
Refused folders are left exactly as they are. Imports nothing of training.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rsic_core.runs.layout import RunKind, RunLayout, RunStatus, make_folder, new_run_dir, process_alive


def open_run_folder(
    output_dir: str | Path | None, name: str, overwrite: bool, option: str = "--output-dir"
) -> tuple[Path, bool]:
    """The folder a run writes (made when missing; a new one under the runs folder when ``output_dir`` is empty),
    cleared first when ``overwrite``; and whether it was reopened: it holds an unfinished training run to continue.

    Raises:
        ValueError: the folder is a file, holds a config.json of something else (a model folder?), a run whose
            process is still running, or (without ``overwrite``) a finished run or a run of another kind.
    """
    run_dir = Path(output_dir).expanduser() if output_dir else new_run_dir(name)
    make_folder(run_dir, option)
    layout = RunLayout(run_dir)
    if layout.kind is None:
        return run_dir, False
    if layout.foreign:
        raise ValueError(
            f"{run_dir} holds a config.json that no run of this project wrote (a model folder?); give another {option}"
        )
    if overwrite:
        refuse_if_running(run_dir)
        clear_folder(run_dir)
        return run_dir, False
    reopen_run(run_dir, option)
    return run_dir, True


def reopen_run(run_dir: Path, option: str) -> None:
    """A run folder can be continued only when it holds an unfinished training run that is not running."""
    layout, resume = RunLayout(run_dir), option == "--resume"
    if layout.kind != RunKind.TRAINING:
        advice = (
            "nothing to resume"
            if resume
            else "give another --output-dir, or --overwrite to delete it and train there afresh"
        )
        raise ValueError(f"{run_dir} holds a run of kind {layout.kind}, not a training run; {advice}")
    status = layout.read_status()
    if RunStatus.of(status.get("state")) == RunStatus.COMPLETED:
        advice = (
            f"train it afresh with `rsic train --output-dir {run_dir} --overwrite`"
            if resume
            else "give another --output-dir, or --overwrite to delete it and train afresh"
        )
        raise ValueError(
            f"{run_dir}: the run already finished at step {status.get('step', '?')}; nothing to resume ({advice})"
        )
    refuse_if_running(run_dir)


def refuse_if_running(run_dir: Path) -> None:
    """Refuse a folder whose run's process (another than this one) is still running."""
    status = RunLayout(run_dir).read_status()
    pid = status.get("pid")
    if RunStatus.of(status.get("state")).active and process_alive(pid) and pid != os.getpid():
        raise ValueError(f"{run_dir}: the run is still running (process {pid}); wait for it or cancel it first")


def clear_folder(run_dir: Path) -> None:
    """Delete what a run folder holds (``overwrite``), keeping the folder itself."""
    for item in run_dir.iterdir():
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()
