"""The run folder of a training run: made (or reopened) before the first step, refused when it holds another run
(the rules of every run folder are :mod:`rsic_core.runs.folders`; here what a training run adds: its config.json
and its options compared); and :func:`check_splits`, the splits a run needs, checked against the dataset.

    run_dir = prepare_run(TrainConfig(output_dir="runs/r1"))   # writes runs/r1/config.json
    run_dir = shared_run_dir(config)   # the same, prepared by the main process of a torchrun/accelerate launch

A folder that already holds a training run is continued only with the options it was started
with, and never once it finished; a folder holding another kind of run (an evaluation) is left
alone. ``overwrite`` deletes such a folder's run and trains afresh.
"""

from __future__ import annotations

import os
from pathlib import Path

from rsic_core.runs.folders import open_run_folder, reopen_run
from rsic_core.runs.layout import RunKind, RunLayout
from rsic_core.training.checks import leakage
from rsic_core.training.config import TrainConfig, load_train_config


def prepare_run(config: TrainConfig) -> Path:
    """Create (or reopen) the run folder and write its config.json; returns the folder.

    A folder holding a training run started with the same options is reopened (the run continues);
    one holding a finished run, or a run of another kind, is refused unless ``config.overwrite``,
    which deletes it first (:mod:`rsic_core.runs.folders`). Refused folders are left exactly as they are.

    Raises:
        FileNotFoundError: ``resume`` names a folder without config.json.
        ValueError: ``resume`` names a finished run or not a training run; ``output_dir`` is a file,
            holds a run started with other options, a finished run or another kind of run, or a
            run whose process is still running.
    """
    if config.resume:
        run_dir = Path(config.resume).expanduser()
        if not RunLayout(run_dir).config_file.is_file():
            raise FileNotFoundError(f"{run_dir}: no config.json here, nothing to resume")
        reopen_run(run_dir, "--resume")
        return run_dir
    run_dir, reopened = open_run_folder(config.output_dir, config.name, config.overwrite)
    if reopened:  # an unfinished training run there: continued only with the options it started with
        _refuse_other_options(run_dir, config)
        return run_dir
    RunLayout(run_dir).write_config(
        {
            **config.to_dict(),
            "output_dir": str(run_dir),
            "kind": RunKind.TRAINING,
            "adapter": None,
            "split": config.eval_split,
            "leakage": leakage(config.to_dict()),  # scored on the images it trained on: the Train and Runs pages say so
        }
    )
    return run_dir


def _refuse_other_options(run_dir: Path, config: TrainConfig) -> None:
    """Reusing a run folder with the options it was started with continues it; other options are refused."""
    changed = load_train_config(run_dir).changed_options(config)
    if changed:
        listed = "; ".join(f"{name} {old!r} there, {new!r} now" for name, (old, new) in changed.items())
        raise ValueError(
            f"{run_dir} holds a run started with other options ({listed}): continue it with its own "
            f"config with `rsic train --resume {run_dir}`, or give another --output-dir"
        )


def check_splits(splits: dict[str, int], config: TrainConfig, dataset_name: str) -> None:
    """Refuse, before any step, a split the run needs that the dataset lacks (``splits``: its split counts).

    ``val_split`` counts when ``eval_steps`` is set, ``eval_split`` unless ``predict_limit`` is -1.

    Raises:
        ValueError: naming the split, the option that chose it and the splits there are.
    """
    wanted = [("--train-split", config.train_split, "")]
    if config.eval_steps:
        wanted.append(("--val-split", config.val_split, " or --eval-steps 0 (no validation)"))
    if config.predict_limit >= 0:
        wanted.append(("--eval-split", config.eval_split, " or --predict-limit -1 (no final evaluation)"))
    for option, split, other in wanted:
        if split not in splits:
            raise ValueError(
                f"{dataset_name}: no split {split!r} ({option}); its splits are {', '.join(splits) or 'none'}: "
                f"choose one of them{other}"
            )


def shared_run_dir(config: TrainConfig) -> Path:
    """The run folder; under torchrun/accelerate the main process prepares it and tells the others (or why not)."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return prepare_run(config)
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    holder: list = [None]
    if PartialState().is_main_process:
        try:
            holder = [str(prepare_run(config))]
        except (ValueError, FileNotFoundError) as e:
            holder = [e]
    broadcast_object_list(holder)
    if isinstance(holder[0], Exception):
        raise holder[0]
    return Path(holder[0])
