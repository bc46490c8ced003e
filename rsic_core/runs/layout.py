"""Run folders: what an evaluation or training run leaves on disk, and reading them back.

One folder per run under :func:`rsic_core.paths.runs_dir`::

    <runs>/<YYYYmmdd-HHMMSS>-<name>/
        config.json        # the exact configuration the run used (model, adapter, data, split, ...)
        predictions.jsonl  # one line per image: image_id, split, label, path, prediction,
                           #   references, scores (per-image metric -> value), seconds, error
        metrics.json       # corpus scores and how they were obtained (see metrics.Scores)
        efficiency.json    # parameters, GFLOPs, latency, memory, size (see efficiency.py)

Training runs add their own files (checkpoints, logs) beside these. Readers are lenient: a run
missing a file or a key (an older or interrupted run) loads with empty defaults, never raises.
NaN scores are written as JSON ``null``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rsic_core.paths import runs_dir

CONFIG, PREDICTIONS, METRICS, EFFICIENCY = "config.json", "predictions.jsonl", "metrics.json", "efficiency.json"


@dataclass
class PredictionRow:
    """One image of a run: its prediction, references and per-image scores."""

    image_id: str
    prediction: str
    references: list[str] = field(default_factory=list)
    split: str | None = None
    label: str | None = None  # scene class where the dataset tells it
    path: str | None = None  # the image file, for viewers
    scores: dict[str, float | None] = field(default_factory=dict)  # metric -> value (None: not scored)
    seconds: float | None = None  # captioning time of this image
    error: str | None = None  # why no caption was produced, if so

    @classmethod
    def from_dict(cls, data: Mapping) -> PredictionRow:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["image_id"] = str(data.get("image_id", data.get("image", "")))
        known["prediction"] = str(data.get("prediction") or data.get("caption") or "")
        known["references"] = [str(r) for r in (data.get("references") or [])]
        known["scores"] = dict(data.get("scores") or {})
        return cls(**known)


@dataclass
class Run:
    """A run folder read back."""

    path: Path
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)  # metrics.json: corpus, embedder, skipped, notes, ...
    efficiency: dict = field(default_factory=dict)
    predictions: list[PredictionRow] = field(default_factory=list)  # empty unless asked for
    problems: list[str] = field(default_factory=list)  # what could not be read

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.path.name)

    @property
    def corpus(self) -> dict[str, float]:
        return {k: v for k, v in (self.metrics.get("corpus") or {}).items() if v is not None}

    def predictions_frame(self):
        """One row per image: image_id, split, label, path, prediction, references, then one column per metric."""
        import pandas as pd

        rows = [
            {
                "image_id": p.image_id,
                "split": p.split,
                "label": p.label,
                "path": p.path,
                "prediction": p.prediction,
                "references": p.references,
                "error": p.error,
                **{k: (math.nan if v is None else float(v)) for k, v in p.scores.items()},
            }
            for p in self.predictions
        ]
        return pd.DataFrame(
            rows, columns=None if rows else ["image_id", "split", "label", "path", "prediction", "references", "error"]
        )


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


def write_json(folder: Path, filename: str, data: Mapping) -> Path:
    """Write ``data`` as JSON (NaN as null) atomically."""
    return _atomic_write(Path(folder) / filename, json.dumps(_nan_to_none(data), indent=2, ensure_ascii=False))


def write_predictions(folder: Path, rows: Iterable[PredictionRow]) -> Path:
    text = "".join(json.dumps(_nan_to_none(asdict(r)), ensure_ascii=False) + "\n" for r in rows)
    return _atomic_write(Path(folder) / PREDICTIONS, text)


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
    write_json(folder, METRICS, summary)


def read_predictions(file: str | Path) -> tuple[list[PredictionRow], list[str]]:
    """Rows of a ``predictions.jsonl`` and the lines that could not be read."""
    rows, problems = [], []
    with open(file, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(PredictionRow.from_dict(json.loads(line)))
            except (ValueError, TypeError, AttributeError) as e:
                problems.append(f"{file}: line {n}: {e}")
    return rows, problems


def load_run(folder: str | Path, with_predictions: bool = True) -> Run:
    """Read a run folder; missing or broken files give empty parts and a line in ``problems``.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    run = Run(path=folder)
    for attr, filename in (("config", CONFIG), ("metrics", METRICS), ("efficiency", EFFICIENCY)):
        file = folder / filename
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            setattr(run, attr, data if isinstance(data, dict) else {})
        except (OSError, ValueError) as e:
            run.problems.append(f"{file}: {e}")
    if with_predictions and (folder / PREDICTIONS).is_file():
        run.predictions, problems = read_predictions(folder / PREDICTIONS)
        run.problems += problems
    return run


def list_runs(root: str | Path | None = None) -> list[Run]:
    """Every run folder under ``root`` (default: :func:`runs_dir`), newest first, without predictions."""
    root = Path(root) if root is not None else runs_dir()
    if not root.is_dir():
        return []
    folders = [
        p for p in root.iterdir() if p.is_dir() and any((p / f).is_file() for f in (CONFIG, METRICS, PREDICTIONS))
    ]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [load_run(p, with_predictions=False) for p in folders]


def runs_table(runs: Iterable[Run]):
    """One row per run: name, kind, model, adapter, data, split, LoRA rank and alpha (training runs),
    images, then corpus metrics and efficiency."""
    import pandas as pd

    rows = []
    for run in runs:
        c, e = run.config, run.efficiency
        rows.append(
            {
                "run": run.name,
                "folder": run.path.name,  # <timestamp>-<name>: tells apart runs of the same name
                "kind": c.get("kind", "evaluation"),
                "model": c.get("model"),
                "adapter": c.get("adapter") or "(zero-shot)",
                "data": c.get("dataset_name") or c.get("data"),
                "split": c.get("split"),
                "lora_r": c.get("lora_r"),
                "lora_alpha": c.get("lora_alpha"),
                "images": run.metrics.get("n_images"),
                **run.corpus,
                "params (M)": _scaled(e.get("params_total"), 1e-6),
                "trainable (M)": _scaled(e.get("params_trainable"), 1e-6),
                "GFLOPs/image": e.get("gflops_per_image"),
                "latency (ms/image)": _scaled(e.get("latency_s_per_image"), 1e3),
                "peak memory (MB)": _scaled(e.get("peak_memory_bytes"), 1e-6),
                "size (MB)": _scaled(e.get("size_on_disk_bytes"), 1e-6),
                "path": str(run.path),
            }
        )
    return pd.DataFrame(rows)


def image_set_warning(runs: Iterable[Run]) -> str | None:
    """A sentence naming the scored runs that were scored on different image sets, or None when all agree.

    Runs are grouped by split and image count, and by their image ids when predictions were loaded.
    Runs without corpus scores (e.g. a training run not evaluated yet) are left out.
    """
    groups: dict[tuple, list[str]] = {}
    for run in runs:
        if not run.corpus:
            continue
        ids = frozenset(p.image_id for p in run.predictions) or None
        n_images = run.metrics.get("n_images", len(ids) if ids else None)
        groups.setdefault((run.config.get("split"), n_images, ids), []).append(run.path.name)
    if len(groups) < 2:
        return None
    parts = [
        f"{', '.join(names)} ({split or '?'} split, {'?' if n is None else n} images)"
        for (split, n, _), names in groups.items()
    ]
    return (
        "These runs were scored on different image sets, so their scores are not directly comparable: "
        + "; ".join(parts)
        + "."
    )


def _scaled(value, factor):
    return None if value is None else float(value) * factor


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


def _atomic_write(file: Path, text: str) -> Path:
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, file)
    return file
