"""``rsic evaluate --engine ray``: a split captioned through the Ray engine, then the usual scored run folder.

The run folder is the one :func:`rsic_core.runs.evaluation.evaluate` writes (``config.json``,
``predictions.jsonl``, ``metrics.json``), with the engine's parquet shards under ``shards/`` and
``engine: "ray"`` in its config. The driver never loads the model (the actors do), so no efficiency
report is measured: the config says so, and each prediction keeps its captioning seconds.

Example::

    folder = evaluate_on_ray(load_dataset("data/RSICD"), "test", EvalConfig(), model="demo",
                             engine=EngineConfig(ray_num_workers=2))
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path

from rsic_core.archive.ray_engine import EngineConfig, caption_archive
from rsic_core.archive.shards import archive_settings, read_archive
from rsic_core.archive.sources import refs_of_records
from rsic_core.runs import layout as runs
from rsic_core.runs.evaluation import EvalConfig, discard_run, run_folder, score_rows, split_subset
from rsic_core.runs.layout import RunKind, RunLayout

SHARDS = "shards"  # the archive folder inside the run folder


def evaluate_on_ray(
    dataset,
    split: str | None = None,
    config: EvalConfig | None = None,
    model: str | None = None,
    adapter: str | None = None,
    engine: EngineConfig | None = None,
    out: str | Path | None = None,
    device: str | None = None,
    dtype=None,
    progress=None,
    root: str | Path | None = None,
) -> Path:
    """Caption ``split`` of ``dataset`` on Ray, score it and write a run folder (as ``evaluate`` does).

    Args:
        dataset: a :class:`rsic_core.data.datasets.CaptionDataset`.
        split (``config.eval_split``): the split to evaluate.
        config (defaults): see :class:`rsic_core.runs.evaluation.EvalConfig` (``eval_efficiency`` is not measured).
        model (None: the demo model), adapter (None): what each actor loads.
        engine (defaults): see :class:`rsic_core.archive.ray_engine.EngineConfig`.
        out (a new folder under ``root``): the run folder; refused when it already holds a run.
        device, dtype (None): the actors' device and dtype.
        progress (None): ``callable(done, total)`` after each shard.
        root (the runs folder): where a new run folder goes.

    Returns:
        The run folder.

    Raises:
        ValueError: as :func:`~rsic_core.runs.evaluation.evaluate`, and as
            :func:`~rsic_core.archive.ray_engine.caption_archive`; a failure before the predictions are
            written leaves no run behind.
    """
    config, engine = config or EvalConfig(), engine or EngineConfig()
    split = split or config.eval_split
    subset = split_subset(dataset, split, config.eval_limit, config.eval_seed)
    records = subset.records
    identity = archive_settings(model, adapter, config.caption)
    identity["family"] = _family(identity["model"])  # a missing or unknown model refused before any folder
    name = config.eval_name or _default_name(identity["model"], adapter, split)
    folder, created = run_folder(out, name, root)
    settings = _settings(identity, folder, dataset, split, subset, config, engine, device, dtype)
    layout = RunLayout(folder)
    try:
        layout.write_config(settings)
        refs = list({r.key: r for r in refs_of_records(records)}.values())
        run = caption_archive(refs, folder / SHARDS, model, adapter, config.caption, engine, device, dtype, progress)
        settings["caption_seconds"], settings["ray_workers"] = run.seconds, run.workers
        rows = _rows(dataset, split, records, read_archive(folder / SHARDS))
        runs.write_predictions(folder, rows)
    except BaseException:
        discard_run(folder, created)
        shutil.rmtree(folder / SHARDS, ignore_errors=True)  # an --out folder that was there keeps nothing of this run
        raise
    try:
        runs.write_scores(folder, rows, score_rows(rows, config.scoring))
    except ValueError as e:
        runs.write_json(folder, RunLayout.METRICS, {"error": str(e)})
    settings["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    layout.write_config(settings)
    return folder


def _settings(identity: dict, folder: Path, dataset, split: str, subset, config, engine, device, dtype) -> dict:
    """The run's ``config.json``: what ``evaluate`` writes, with the engine's settings and no efficiency report."""
    return {
        "name": config.eval_name or folder.name,
        "kind": RunKind.EVALUATION,
        "model": identity["model"],
        "family": identity["family"],
        "adapter": identity["adapter"],
        "device": device or ("cuda" if engine.ray_gpus_per_worker > 0 else "cpu"),
        "dtype": dtype or "auto",
        "data": str(dataset.annotation_file),
        "dataset_name": dataset.name,
        "split": split,
        "n_images": len(subset.records),
        "subset": subset.to_dict(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        **asdict(config),
        "eval_efficiency": False,
        "efficiency_note": "not measured with --engine ray (the model runs in the Ray actors, not here)",
        "engine": "ray",
        "ray": asdict(engine),
    }


def _rows(dataset, split: str, records, table) -> list:
    """One prediction row per record from the archive's rows; refused when no image could be read."""
    found = {row.image: row for row in table.itertuples(index=False)}
    rows = []
    for r in records:
        got = found.get(str(r.path))
        error = _text(got.error) if got is not None else f"{r.path}: no caption came back from the engine"
        rows.append(
            runs.PredictionRow(
                image_id=r.image_id,
                prediction=_text(got.caption) or "" if got is not None else "",
                references=list(r.captions),
                split=r.split,
                label=r.label,
                path=str(r.path),
                seconds=float(got.seconds) if got is not None else None,
                error=error,
            )
        )
    if all(row.error for row in rows):
        raise ValueError(
            f"{dataset.name}: none of the {len(records)} images of split {split!r} could be read "
            f"({rows[0].error}); no run was written"
        )
    return rows


def _text(value) -> str | None:
    return value if isinstance(value, str) else None  # pandas gives NaN/None for a missing string


def _family(model: str) -> str | None:
    from rsic_core.models import loading
    from rsic_core.models.registry import family_of, register_families, resolve_model_source

    register_families()
    return family_of(loading.open_config(resolve_model_source(model))).name


def _default_name(model: str, adapter: str | None, split: str) -> str:
    return f"{Path(model.rstrip('/')).name or 'model'}-{Path(adapter).name if adapter else 'zero-shot'}-{split}-ray"
