"""Run folders: the one place that knows their files, run kinds and statuses, and reading one run back.

One folder per run under :func:`rsic_core.paths.runs_dir`, ``<runs>/<YYYYmmdd-HHMMSS>-<name>/``.
:class:`RunLayout` names every file a run may hold (code asks it rather than spelling a name)::

    config.json        # the exact configuration the run used (model, adapter, data, split, kind, ...)
    predictions.jsonl  # one line per image: image_id, split, label, path, prediction,
                       #   references, scores (per-image metric -> value), seconds, error
    metrics.json       # corpus scores and how they were obtained (see metrics.Scores)
    efficiency.json    # parameters, GFLOPs, latency, memory, size (see scoring/efficiency.py)
    status.json, train_log.jsonl, val_metrics.jsonl, process.log, launch.json, lora.json,
    error.txt, skipped_images.txt, adapter/, checkpoints/, eval/, val/step-<N>/, model/,
    ranks/rank-<k>.json                       # training runs (see training/trainer.py)
    experiment.json, table.csv, table.md      # experiment folders (see training/experiments.py)

Readers are lenient: a run missing a file or a key (an older or interrupted run) loads with empty
defaults, never raises. NaN scores are written as JSON ``null``. Kinds and statuses are ``str``
enums, so the JSON on disk keeps the same strings and older run folders read as before.

Light on purpose (no torch, transformers or pandas at import): the Train page and
:mod:`rsic_core.training.jobs` import it on every rerun. Split in three to stay short:
:mod:`rsic_core.runs.records` holds the values (``PredictionRow``, ``Run``), this module the
folder (names, reading, writing; it imports those values, so ``layout.load_run`` and
``layout.PredictionRow`` keep working), :mod:`rsic_core.runs.tables` the tables across runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from rsic_core.paths import runs_dir
from rsic_core.runs.records import PredictionRow, Run, read_predictions


class _StrEnum(str, Enum):
    """A ``str`` enum that prints and formats as its value on every Python (3.10's StrEnum)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class RunKind(_StrEnum):
    """What made a run folder (``config.json`` ``kind``; ``experiment.json`` ``kind`` for experiments)."""

    EVALUATION = "evaluation"  # rsic evaluate, the Compare page's demo evaluation
    TRAINING = "training"  # rsic train, the Train page
    TRAINING_EVAL = "training-eval"  # a training run's eval/ and val/step-<N>/ folders
    SCORED_FILE = "scored file"  # rsic score on a bare predictions.jsonl (before imports were kept as "imported")
    IMPORTED = "imported"  # rsic score on a prediction file (any format): config.json has source, source_sha256
    GRID = "grid"  # rsic experiment grid
    PRUNE = "prune"  # rsic experiment prune


class RunStatus(_StrEnum):
    """The state of a training run (``status.json`` ``state``); DIED and UNKNOWN are read, never written."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DIED = "died"  # marked queued or running, but its process is gone
    UNKNOWN = "unknown"  # no status.json, or a state this version does not know

    @classmethod
    def of(cls, value) -> RunStatus:
        """The status a ``state`` string names (UNKNOWN for a missing or unknown one)."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN

    @property
    def active(self) -> bool:
        """Queued or running: the run's process should be alive."""
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


UNKNOWN_KIND = "unknown"  # RunLayout.kind of files no kind can be read from


def process_alive(pid) -> bool:
    """Whether process ``pid`` of this machine runs (a zombie, exited but not yet reaped, does not)."""
    import os

    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class RunLayout:
    """The files of one run folder, and reading and writing its ``config.json`` and ``status.json``.

    Example::

        layout = RunLayout(run_dir)
        layout.update_config(adapter=str(layout.adapter_dir))
        layout.read_config()["kind"] == RunKind.TRAINING

    Args:
        folder: the run folder (need not exist yet).
    """

    folder: Path

    # file and folder names, for code that needs a name rather than a path
    CONFIG = "config.json"
    PREDICTIONS = "predictions.jsonl"
    METRICS = "metrics.json"
    EFFICIENCY = "efficiency.json"
    STATUS = "status.json"
    STEP_LOG = "train_log.jsonl"
    VAL_LOG = "val_metrics.jsonl"
    PROCESS_LOG = "process.log"

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))

    # files every run may have
    config_file = property(lambda self: self.folder / self.CONFIG, doc="config.json: the exact configuration")
    predictions = property(lambda self: self.folder / self.PREDICTIONS, doc="predictions.jsonl: one line per image")
    metrics = property(lambda self: self.folder / self.METRICS, doc="metrics.json: corpus scores")
    efficiency = property(lambda self: self.folder / self.EFFICIENCY, doc="efficiency.json: the model's cost")
    # training runs
    status = property(lambda self: self.folder / self.STATUS, doc="status.json: state, pid, step, message")
    step_log = property(lambda self: self.folder / self.STEP_LOG, doc="train_log.jsonl: loss per logged step")
    val_log = property(lambda self: self.folder / self.VAL_LOG, doc="val_metrics.jsonl: scores per validation")
    process_log = property(lambda self: self.folder / self.PROCESS_LOG, doc="process.log: the process's output")
    launch_file = property(lambda self: self.folder / "launch.json", doc="launch.json: the config a job started")
    lora_file = property(lambda self: self.folder / "lora.json", doc="lora.json: LoRA targets, trainable share")
    error_file = property(lambda self: self.folder / "error.txt", doc="error.txt: the traceback of a failed run")
    skipped_images = property(lambda self: self.folder / "skipped_images.txt", doc="images a batch left out")
    adapter_dir = property(lambda self: self.folder / "adapter", doc="adapter/: the final peft adapter")
    checkpoints_dir = property(lambda self: self.folder / "checkpoints", doc="checkpoints/: Trainer checkpoints")
    eval_dir = property(lambda self: self.folder / "eval", doc="eval/: the evaluation run after training")
    val_dir = property(lambda self: self.folder / "val", doc="val/: one run folder per validation")
    model_dir = property(lambda self: self.folder / "model", doc="model/: the merged model of a pruned run")
    ranks_dir = property(lambda self: self.folder / "ranks", doc="ranks/: what each process built")
    # experiment folders
    experiment_file = property(lambda self: self.folder / "experiment.json", doc="experiment.json: its runs")
    table_csv = property(lambda self: self.folder / "table.csv", doc="table.csv: the experiment's table")
    table_md = property(lambda self: self.folder / "table.md", doc="table.md: the table for a README")

    def val_step_dir(self, step: int) -> Path:
        """``val/step-<step>/``: the run folder of the validation at ``step``."""
        return self.val_dir / f"step-{step}"

    def rank_file(self, rank: int) -> Path:
        """``ranks/rank-<rank>.json``: the batches process ``rank`` built."""
        return self.ranks_dir / f"rank-{rank}.json"

    @property
    def record_files(self) -> tuple[Path, ...]:
        """config, predictions, metrics and efficiency: the files a run table is made of."""
        return self.config_file, self.predictions, self.metrics, self.efficiency

    @property
    def is_run(self) -> bool:
        """Whether the folder holds a run (a config, predictions or scores)."""
        return any(f.is_file() for f in (self.config_file, self.metrics, self.predictions))

    @property
    def kind(self) -> str | None:
        """The kind of run the folder holds (a :class:`RunKind` value), None when it holds none.

        ``"unknown"`` for files no kind can be read from: predictions or scores without a config
        (an old run), or a ``config.json`` without a run kind (likely not a run at all, e.g. a model).
        """
        for file in (self.config_file, self.experiment_file):
            if file.is_file():
                try:
                    kind = read_json_object(file).get("kind")
                except (OSError, ValueError):
                    kind = None
                return kind if kind in {k.value for k in RunKind} else UNKNOWN_KIND
        return UNKNOWN_KIND if self.is_run else None

    @property
    def foreign(self) -> bool:
        """A ``config.json`` that no run of this project wrote (nothing may replace it)."""
        return self.config_file.is_file() and self.kind == UNKNOWN_KIND

    def read_config(self) -> dict:
        """``config.json`` ({} when the run has none).

        Raises:
            ValueError: the file is there but is not a JSON object.
        """
        return read_json_object(self.config_file)

    def write_config(self, data: Mapping) -> Path:
        """Replace ``config.json`` with ``data`` (atomically)."""
        return write_json(self.folder, self.CONFIG, data)

    def update_config(self, **keys) -> dict:
        """Set ``keys`` in ``config.json``, keeping the others; returns the new config.

        Each write is atomic (a reader never sees half a file); two processes updating the same
        run at once are not expected (only the run's own main process writes it).
        """
        config = {**self.read_config(), **keys}
        self.write_config(config)
        return config

    def read_status(self) -> dict:
        """``status.json`` ({} when absent or unreadable: a run being started)."""
        try:
            return read_json_object(self.status)
        except (OSError, ValueError):
            return {}

    def state(self) -> RunStatus:
        """The run's state: DIED for a run marked queued or running whose process is gone (killed, crashed)."""
        status = self.read_status()
        state = RunStatus.of(status.get("state"))
        return RunStatus.DIED if state.active and not process_alive(status.get("pid")) else state

    def update_status(self, **keys) -> dict:
        """Set ``keys`` in ``status.json``, keeping the others (e.g. ``max_steps``); returns it."""
        status = {**self.read_status(), **keys}
        write_json(self.folder, self.STATUS, status)
        return status


def read_json_object(file: str | Path) -> dict:
    """A JSON file holding an object ({} when the file does not exist).

    Raises:
        ValueError: the file is not JSON, or not an object (the message names the file).
    """
    file = Path(file)
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"{file}: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object, found {type(data).__name__}")
    return data


def new_run_dir(name: str, root: str | Path | None = None) -> Path:
    """Create an empty, uniquely named run folder ``<root>/<timestamp>-<name>``."""
    root = Path(root) if root is not None else runs_dir()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        folder = root / (f"{stamp}-{slug}" if k == 0 else f"{stamp}-{slug}-{k}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise ValueError(f"{root}: could not create a new run folder for {name!r}")


def make_folder(folder: str | Path, option: str = "the run folder") -> Path:
    """Create ``folder`` and its parents (nothing happens when it is already a folder).

    Args:
        folder: the folder to create.
        option ("the run folder"): how the user gave it (e.g. ``--out``), for the message.

    Raises:
        ValueError: ``folder``, or a folder above it, is a file; or it cannot be created.
    """
    folder = Path(folder).expanduser()
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"{blocking} is a file, not a folder: give a folder for {option}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{folder}: cannot create this folder for {option} ({e.strerror or e})") from None
    return folder


def write_json(folder: Path, filename: str, data: Mapping) -> Path:
    """Write ``data`` as JSON (NaN as null) atomically."""
    return _atomic_write(Path(folder) / filename, _dumps(_nan_to_none(data), indent=2))


def write_predictions(folder: Path, rows: Iterable[PredictionRow]) -> Path:
    """Write ``predictions.jsonl``, one JSON object per row (atomically)."""
    text = "".join(_dumps(_nan_to_none(asdict(r))) + "\n" for r in rows)
    return _atomic_write(RunLayout(folder).predictions, text)


def write_scores(folder: Path, rows: list[PredictionRow], scores) -> None:
    """Write ``predictions.jsonl`` with each row's per-image scores, and ``metrics.json``.

    Args:
        folder: the run folder.
        rows: the run's predictions (their ``scores`` are filled in place).
        scores: a :class:`rsic_core.scoring.metrics.Scores` of these predictions.
    """
    for row in rows:
        row.scores = dict(scores.per_image.get(row.image_id, {}))
    write_predictions(folder, rows)
    summary = scores.to_dict()
    summary.pop("per_image", None)
    write_json(folder, RunLayout.METRICS, summary)


def load_run(folder: str | Path, with_predictions: bool = True) -> Run:
    """Read a run folder; missing or broken files give empty parts and a line in ``problems``.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    run, layout = Run(path=folder), RunLayout(folder)
    for attr, file in (("config", layout.config_file), ("metrics", layout.metrics), ("efficiency", layout.efficiency)):
        try:
            setattr(run, attr, read_json_object(file))
        except ValueError as e:  # the message names the file
            run.problems.append(str(e))
        except OSError as e:
            run.problems.append(f"{file}: {e}")
    if with_predictions and layout.predictions.is_file():
        run.predictions, problems = read_predictions(layout.predictions)
        run.problems += problems
    return run


def list_runs(root: str | Path | None = None) -> list[Run]:
    """Every run folder under ``root`` (default: :func:`runs_dir`), newest first, without predictions."""
    root = Path(root) if root is not None else runs_dir()
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if p.is_dir() and RunLayout(p).is_run]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [load_run(p, with_predictions=False) for p in folders]


def _nan_to_none(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _dumps(value, indent: int | None = None) -> str:
    """JSON text that UTF-8 can always encode.

    Text is kept readable (``ensure_ascii=False``) unless it holds a lone surrogate (``"\\ud800"``
    in a JSON dataset reads as one): then that text is written with escapes, which read back as
    the very same string, so one odd character never makes a run lose its files.
    """
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, indent=indent, ensure_ascii=True)
    return text


def _atomic_write(file: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``file``, then rename it over ``file``.

    A failed write (a full disk, an interrupt) leaves ``file`` as it was and no temporary file.
    """
    tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return file
