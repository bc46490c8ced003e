"""Tables across runs, for the Runs and Efficiency pages: one row per run, and runs scored apart.

Every run is shown with what tells it apart from another of the same name: its dataset, split,
model and adapter (:func:`run_label` for a one-line choice, the columns of :func:`runs_table`).

Scores stay on their 0-1 scale here; a view that prints them as papers do calls
:func:`rsic_core.scoring.scale.as_percent`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rsic_core.data.subsets import describe_subset
from rsic_core.paths import shipped_name
from rsic_core.runs.layout import RunKind, RunLayout
from rsic_core.runs.records import Run

COST_COLUMNS = ("GFLOPs/image", "latency (ms/image)", "params (M)", "trainable (M)", "size (MB)", "peak memory (MB)")
LATENCY_BATCH = "timed batch (images)"  # the latency is one call on this many images, divided by them
RUN_COLUMNS = (
    "run",
    "folder",
    "kind",
    "status",
    "data",
    "split",
    "model",
    "adapter",
    "captions",
    "lora_r",
    "lora_alpha",
    "images",
    "subset",
)


def model_label(model: str | None) -> str:
    """A model as people name it: ``demo`` / ``ucm`` for the shipped models, a folder by its name, a hub id as it is."""
    if not model:
        return "?"
    if shipped := shipped_name(model):
        return shipped
    return Path(model).name if Path(model).expanduser().is_absolute() else model


def adapter_label(config: dict) -> str:
    """The adapter of a run: its folder name, ``(zero-shot)`` for a model evaluated as it is, ``(none yet)``
    for a training run that saved none (still running, failed or cancelled), the model folder of a full run."""
    adapter = config.get("adapter")
    if adapter:
        return str(adapter)
    if config.get("merged_model"):  # a full training run: the whole model, no adapter
        return f"(whole model) {config['merged_model']}"
    return "(none yet)" if config.get("kind") == RunKind.TRAINING else "(zero-shot)"


def captions_label(config: dict) -> str | None:
    """What a training run trained on: ``raw`` (the dataset's own captions) or its caption set's name; None
    for a run that trained nothing (an evaluation)."""
    if config.get("kind") != RunKind.TRAINING:
        return None
    chosen = config.get("train_captions_set") or {}
    if chosen.get("name"):
        return str(chosen["name"])
    return Path(str(config["train_captions"])).name if config.get("train_captions") else "raw"


def dataset_label(config: dict) -> str:
    """The dataset a run used: its name (``ucm-sample``), else its folder's or file's name, else ``?``.

    A training run records its dataset's name when it starts; older runs that stopped early named only the path
    (the demo dataset as an empty path), so every row says a name, never a path.
    """
    if config.get("dataset_name"):
        return str(config["dataset_name"])
    if config.get("data"):
        return Path(str(config["data"])).name or str(config["data"])
    return "demo" if config.get("kind") == "training" else "?"


def run_label(run: Run) -> str:
    """One line that tells a run from others of the same name: ``demo-zero-shot · ucm-sample/test · demo · (zero-shot) · 20261201-2257``;
    a training run also names its captions (``captions raw``, ``captions <set>``)."""
    c = run.config
    stamp = run.path.name.split("-", 2)[:2]
    when = "-".join(stamp) if len(stamp) == 2 and stamp[0].isdigit() else run.path.name
    where = f"{dataset_label(c)}/{c.get('split') or '?'}"
    adapter = adapter_label(c)
    captions = captions_label(c)
    pieces = (run.name, where, model_label(c.get("model")), Path(adapter).name or adapter)
    return " \u00b7 ".join((*pieces, *([f"captions {captions}"] if captions else []), when))


def runs_table(runs: Iterable[Run]):
    """One row per run: name, folder, kind, status, data, split, model, adapter, training captions, LoRA rank
    and alpha (training runs), images and which (the subset of the split, where the run recorded it), then corpus
    metrics and efficiency (the latency with its timed batch)."""
    import pandas as pd

    rows = []
    for run in runs:
        c, e = run.config, run.efficiency
        rows.append(
            {
                "run": run.name,
                "folder": run.path.name,  # <timestamp>-<name>: tells apart runs of the same name
                "kind": c.get("kind", RunKind.EVALUATION.value),
                "status": _status(run),
                "model": model_label(c.get("model")),
                "adapter": adapter_label(c),
                "captions": captions_label(c),
                "data": dataset_label(c),
                "split": f"{c.get('split')} (trained on it: leakage)" if c.get("leakage") else c.get("split"),
                "lora_r": c.get("lora_r"),
                "lora_alpha": c.get("lora_alpha"),
                "images": run.metrics.get("n_images"),
                "subset": describe_subset(c["subset"]) if isinstance(c.get("subset"), dict) else None,
                **run.corpus,
                "params (M)": _scaled(e.get("params_total"), 1e-6),
                "trainable (M)": _scaled(e.get("params_trainable"), 1e-6),
                "GFLOPs/image": e.get("gflops_per_image"),
                "latency (ms/image)": _scaled(e.get("latency_s_per_image"), 1e3),
                LATENCY_BATCH: e.get("n_images") if e.get("latency_s_per_image") is not None else None,
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


def _status(run: Run) -> str:
    """``completed``, ``failed``, ``cancelled``... from status.json (training runs); for a run without one,
    ``scored``, ``scoring failed`` or ``not scored``."""
    layout = RunLayout(run.path)
    if layout.read_status().get("state"):
        return str(layout.state())  # "died" for a run marked running whose process is gone
    if run.corpus:
        return "scored"
    return "scoring failed" if run.metrics.get("error") else "not scored"


def _scaled(value, factor):
    return None if value is None else float(value) * factor
