"""Evaluate a captioner on a dataset split: one function for the CLI, the app and training.

``evaluate(captioner, dataset, split="test")`` captions the split, scores the predictions and
measures the model's cost, and leaves a run folder (see :mod:`rsic_core.runs.layout`)::

    run_dir = evaluate(load_captioner("google/paligemma-3b-pt-224"), load_dataset("data/RSICD"))
    load_run(run_dir).corpus["CIDEr"]

A zero-shot baseline is a run of a model without adapter. The predictions are written before
scoring, so a scoring failure (e.g. no Java) loses no captions: ``metrics.json`` then holds the
error and :func:`rescore` can score the run again later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rsic_core.models.inference import CaptionConfig, caption_images, generate_captions
from rsic_core.runs import layout as runs
from rsic_core.runs.layout import RunKind, RunLayout
from rsic_core.scoring.metrics import ScoreConfig, Scores, score


@dataclass
class EvalConfig:
    """What to evaluate and how."""

    eval_split: str = field(
        default="test", metadata={"help": "dataset split to caption and score", "aliases": ["--split"]}
    )
    eval_limit: int | None = field(
        default=None, metadata={"help": "only the first N images of the split (quick checks)", "aliases": ["--limit"]}
    )
    eval_name: str | None = field(
        default=None, metadata={"help": "run name (default: model name, adapter, split)", "aliases": ["--name"]}
    )
    eval_efficiency: bool = field(
        default=True,
        metadata={"help": "measure parameters, GFLOPs, latency, memory and size", "aliases": ["--efficiency"]},
    )
    eval_efficiency_images: int = field(
        default=4, metadata={"help": "images in the batch timed for the efficiency report"}
    )
    eval_efficiency_repeats: int = field(default=3, metadata={"help": "timed repeats (after one warm-up) for latency"})
    caption: CaptionConfig = field(default_factory=CaptionConfig, metadata={"help": "generation settings"})
    scoring: ScoreConfig = field(default_factory=ScoreConfig, metadata={"help": "metrics to compute"})


def evaluate(
    captioner,
    dataset,
    split: str | None = None,
    config: EvalConfig | None = None,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    extra_config: dict | None = None,
) -> Path:
    """Caption ``split`` of ``dataset`` with ``captioner``, score it and write a run folder.

    Args:
        captioner: a :class:`rsic_core.models.registry.Captioner`.
        dataset: a :class:`rsic_core.data.datasets.CaptionDataset`.
        split (``config.eval_split``, "test"): the split to evaluate.
        config (defaults): see :class:`EvalConfig`.
        out (a new folder under :func:`rsic_core.paths.runs_dir`): the run folder to write.
        progress (None): ``callable(done, total)`` while captioning.
        extra_config (None): more keys for ``config.json`` (e.g. the training step of a callback).

    Returns:
        The run folder.

    Raises:
        ValueError: the split has no image, or ``out`` already holds a run.
    """
    config = config or EvalConfig()
    split = split or config.eval_split
    records = dataset.select(split=split)[: config.eval_limit or None]
    if not records:
        splits = ", ".join(dataset.split_counts()) or "none"
        raise ValueError(f"{dataset.name}: no images in split {split!r} (splits: {splits})")
    folder = _run_folder(out, config.eval_name or _default_name(captioner, split))
    layout = RunLayout(folder)
    settings = {
        "name": config.eval_name or folder.name,
        "kind": RunKind.EVALUATION,
        "model": captioner.name,
        "family": captioner.family.name,
        "adapter": getattr(captioner, "adapter", None),
        "device": captioner.device,
        "dtype": str(captioner.dtype).removeprefix("torch."),
        "data": str(dataset.annotation_file),
        "dataset_name": dataset.name,
        "split": split,
        "n_images": len(records),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        **asdict(config),
        **(extra_config or {}),
    }
    layout.write_config(settings)

    start = time.perf_counter()
    results = caption_images(
        captioner, [r.path for r in records], config.caption, progress, names=[r.image_id for r in records]
    )
    settings["caption_seconds"] = time.perf_counter() - start
    rows = [
        runs.PredictionRow(
            image_id=r.image_id,
            prediction=res.caption,
            references=list(r.captions),
            split=r.split,
            label=r.label,
            path=str(r.path),
            seconds=res.seconds,
            error=res.error,
        )
        for r, res in zip(records, results)
    ]
    runs.write_predictions(folder, rows)
    try:
        runs.write_scores(
            folder,
            rows,
            score({r.image_id: r.prediction for r in rows}, {r.image_id: r.references for r in rows}, config.scoring),
        )
    except ValueError as e:
        runs.write_json(folder, RunLayout.METRICS, {"error": str(e)})
    if config.eval_efficiency:
        runs.write_json(folder, RunLayout.EFFICIENCY, efficiency_of(captioner, records, config))
    settings["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    layout.write_config(settings)
    return folder


def efficiency_of(captioner, records, config: EvalConfig | None = None) -> dict:
    """The efficiency report of ``captioner`` generating captions for a batch of ``records``' images."""
    from rsic_core.data.images import load_image
    from rsic_core.scoring.efficiency import measure

    config = config or EvalConfig()
    images = []
    for r in records:
        try:
            images.append(load_image(r.path))
        except ValueError:
            continue
        if len(images) >= config.eval_efficiency_images:
            break
    if not images:
        return {"error": "no readable image to measure the model on"}
    model_dir = Path(captioner.name)
    report = measure(
        captioner.model,
        lambda: generate_captions(captioner, images, config.caption),
        n_images=len(images),
        path=model_dir if model_dir.is_dir() else None,
        repeats=config.eval_efficiency_repeats,
    ).to_dict()
    adapter = getattr(captioner, "adapter", None)
    if adapter and Path(adapter).is_dir():
        report["adapter_size_on_disk_bytes"] = sum(f.stat().st_size for f in Path(adapter).rglob("*") if f.is_file())
    report["generation"] = asdict(config.caption)
    return report


def rescore(path: str | Path, config: ScoreConfig | None = None, out: str | Path | None = None) -> tuple[Path, Scores]:
    """Score the predictions of a run folder (in place) or of a ``predictions.jsonl`` file.

    Args:
        path: a run folder or a ``predictions.jsonl`` (rows with ``prediction`` and ``references``).
        config (all metrics but SPICE): see :class:`rsic_core.scoring.metrics.ScoreConfig`.
        out (the run folder itself; for a bare file, a new run folder): where to write the scores.
            Metrics scored before and not asked for now are kept (corpus and per image).

    Returns:
        (the folder written, the scores).
    """
    path = Path(path)
    file = RunLayout(path).predictions if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no predictions file")
    rows, problems = runs.read_predictions(file)
    if not rows:
        raise ValueError(f"{file}: no prediction could be read" + (f" ({problems[0]})" if problems else ""))
    scores = score({r.image_id: r.prediction for r in rows}, {r.image_id: r.references for r in rows}, config)
    scores.notes += problems
    _keep_other_metrics(scores, rows, RunLayout(file.parent).metrics)
    folder = Path(out) if out else (path if path.is_dir() else runs.new_run_dir(f"scored-{file.stem}"))
    folder.mkdir(parents=True, exist_ok=True)
    runs.write_scores(folder, rows, scores)
    if not (layout := RunLayout(folder)).config_file.is_file():
        layout.write_config({"name": folder.name, "kind": RunKind.SCORED_FILE, "data": str(file)})
    return folder, scores


def _keep_other_metrics(scores: Scores, rows, metrics_file: Path) -> None:
    """Scores computed before and not recomputed now (e.g. METEOR when rescoring BLEU only) are kept."""
    from rsic_core.scoring.metrics import ALL_METRICS

    try:
        old = runs.read_json_object(metrics_file).get("corpus") or {}
    except (OSError, ValueError, AttributeError):
        old = {}
    corpus = {**{k: v for k, v in old.items() if v is not None}, **scores.corpus}
    scores.corpus = {m: corpus[m] for m in ALL_METRICS if m in corpus}
    for row in rows:
        merged = {**{k: v for k, v in row.scores.items() if v is not None}, **scores.per_image.get(row.image_id, {})}
        scores.per_image[row.image_id] = {m: merged[m] for m in ALL_METRICS if m in merged}


def _default_name(captioner, split: str) -> str:
    model = Path(str(captioner.name).rstrip("/")).name or "model"
    adapter = getattr(captioner, "adapter", None)
    return f"{model}-{Path(adapter).name if adapter else 'zero-shot'}-{split}"


def _run_folder(out, name: str) -> Path:
    if out is None:
        return runs.new_run_dir(name)
    folder = Path(out).expanduser()
    layout = RunLayout(folder)
    if layout.config_file.exists() or layout.predictions.exists():
        raise ValueError(f"{folder}: already holds a run; choose a new --out folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
