"""Tables across runs, for the Runs and Efficiency pages: one row per run, and runs scored apart.

Scores stay on their 0-1 scale here; a view that prints them as papers do calls
:func:`rsic_core.scoring.scale.as_percent`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rsic_core.runs.layout import RunKind
from rsic_core.runs.records import Run

COST_COLUMNS = ("GFLOPs/image", "latency (ms/image)", "params (M)", "trainable (M)", "size (MB)", "peak memory (MB)")
RUN_COLUMNS = ("run", "folder", "kind", "model", "adapter", "data", "lora_r", "lora_alpha", "split", "images")


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
                "kind": c.get("kind", RunKind.EVALUATION.value),
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
