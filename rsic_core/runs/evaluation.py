"""Evaluate a captioner on a dataset split: one function for the CLI, the app and training.

``evaluate(captioner, dataset, split="test")`` captions the split, scores the predictions and
measures the model's cost, and leaves a run folder (see :mod:`rsic_core.runs.layout`)::

    run_dir = evaluate(load_captioner("google/paligemma-3b-pt-224"), load_dataset("data/RSICD"))
    load_run(run_dir).corpus["CIDEr"]

A zero-shot baseline is a run of a model without adapter. The predictions are written before
scoring, so a scoring failure (e.g. no Java) loses no captions: ``metrics.json`` then holds the
error and :func:`rescore` can score the run again later. A split with no readable image is
refused before any folder is written, and a run that fails before its predictions are written
leaves nothing behind. :func:`rescore` never replaces another run's predictions unless asked
(``overwrite``). ``eval_limit`` images are a seeded sample of the split stratified by class
(:func:`rsic_core.data.subsets.choose_subset`), recorded as ``subset`` in ``config.json``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rsic_core.data.caption_sets import file_sha256
from rsic_core.data.subsets import Subset, choose_subset
from rsic_core.models.inference import CaptionConfig, caption_images, generate_captions
from rsic_core.options import check_number_fields
from rsic_core.runs import layout as runs
from rsic_core.runs.layout import RunKind, RunLayout
from rsic_core.runs.records import read_prediction_file
from rsic_core.scoring.metrics import ScoreConfig, Scores, score

_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone surrogate: no UTF-8 for it


@dataclass
class EvalConfig:
    """What to evaluate and how."""

    eval_split: str = field(
        default="test", metadata={"help": "dataset split to caption and score", "aliases": ["--split"]}
    )
    eval_limit: int | None = field(
        default=None,
        metadata={
            "help": "only N images of the split (quick checks): a seeded sample stratified by class",
            "aliases": ["--limit"],
        },
    )
    eval_seed: int = field(default=0, metadata={"help": "seed of the --eval-limit sample"})
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

    def __post_init__(self):
        check_number_fields(self)
        if self.eval_limit is not None and self.eval_limit < 0:
            raise ValueError(f"eval_limit must be a number of images, 0 or more (got {self.eval_limit})")
        if self.eval_seed < 0:
            raise ValueError(f"eval_seed must be 0 or more (got {self.eval_seed})")
        for name in ("eval_efficiency_images", "eval_efficiency_repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")


def evaluate(
    captioner,
    dataset,
    split: str | None = None,
    config: EvalConfig | None = None,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    extra_config: dict | None = None,
    root: str | Path | None = None,
    subset: Subset | None = None,
) -> Path:
    """Caption ``split`` of ``dataset`` with ``captioner``, score it and write a run folder.

    Args:
        captioner: a :class:`rsic_core.models.registry.Captioner`.
        dataset: a :class:`rsic_core.data.datasets.CaptionDataset`.
        split (``config.eval_split``, "test"): the split to evaluate.
        config (defaults): see :class:`EvalConfig`.
        out (a new folder under ``root``): the run folder to write.
        progress (None): ``callable(done, total)`` while captioning.
        extra_config (None): more keys for ``config.json`` (e.g. the training step of a callback).
        root (:func:`rsic_core.paths.runs_dir`): the runs folder a new run folder goes under.
        subset (``config.eval_limit`` images chosen by :func:`split_subset`): the images to caption
            (a training run's validation images, the same at every step).

    Returns:
        The run folder.

    Raises:
        ValueError: the split has no image, none of its images can be read, or ``out`` already
            holds a run. A failure before the predictions are written leaves no run behind.
    """
    config = config or EvalConfig()
    split = split or config.eval_split
    subset = subset or split_subset(dataset, split, config.eval_limit, config.eval_seed)
    records = subset.records
    folder, created = run_folder(out, config.eval_name or _default_name(captioner, split), root)
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
        "subset": subset.to_dict(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        **asdict(config),
        **(extra_config or {}),
    }
    try:
        layout.write_config(settings)
        start = time.perf_counter()
        rows = _caption_rows(captioner, dataset, split, records, config, progress)
        settings["caption_seconds"] = time.perf_counter() - start
        runs.write_predictions(folder, rows)
    except BaseException:  # nothing of value yet: leave no half run behind
        discard_run(folder, created)
        raise
    try:
        runs.write_scores(folder, rows, score_rows(rows, config.scoring))
    except ValueError as e:
        runs.write_json(folder, RunLayout.METRICS, {"error": str(e)})
    if config.eval_efficiency:
        runs.write_json(folder, RunLayout.EFFICIENCY, efficiency_of(captioner, records, config))
    settings["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    layout.write_config(settings)
    return folder


def split_subset(
    dataset, split: str, limit: int | None = None, seed: int = 0, image_ids: list[str] | None = None
) -> Subset:
    """The images of ``split`` an evaluation captions, checked before any work.

    Args:
        dataset: a :class:`rsic_core.data.datasets.CaptionDataset`.
        split: the split.
        limit (None: all): how many images, a seeded sample stratified by class
            (:func:`rsic_core.data.subsets.choose_subset`).
        seed (0): the sample's seed.
        image_ids (None): these images instead of a new sample (a run's recorded subset).

    Raises:
        ValueError: the split has no image (or none of ``image_ids``), or none of its image files is
            there (e.g. a captions-only annotation file): such a run would be all zeros.
    """
    subset = choose_subset(dataset.select(split=split), limit, seed, image_ids)
    records = subset.records
    if not records and subset.of:
        raise ValueError(
            f"{dataset.name}: none of the {len(set(image_ids or ()))} images this run recorded is in split {split!r} "
            "any more; start the run afresh (--overwrite)"
        )
    if not records:
        splits = ", ".join(dataset.split_counts()) or "none"
        raise ValueError(f"{dataset.name}: no images in split {split!r} (splits: {splits})")
    if not any(r.has_image for r in records):
        raise ValueError(
            f"{dataset.name}: none of the {len(records)} image files of split {split!r} is there "
            f"(e.g. {records[0].path}), so there is nothing to caption; put the images beside the annotation file"
        )
    return subset


def _caption_rows(captioner, dataset, split: str, records, config: EvalConfig, progress) -> list:
    """One prediction row per record; refused when no image at all could be read."""
    results = caption_images(
        captioner, [r.path for r in records], config.caption, progress, names=[r.image_id for r in records]
    )
    if all(res.error for res in results):
        raise ValueError(
            f"{dataset.name}: none of the {len(records)} images of split {split!r} could be read "
            f"({results[0].error}); no run was written"
        )
    return [
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


def rescore(
    path: str | Path,
    config: ScoreConfig | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    protocols_k: int | None = None,
) -> tuple[Path, Scores]:
    """Score the predictions of a run folder (in place) or of a ``predictions.jsonl`` file.

    A run folder is read as the project wrote it (leniently: a line that cannot be read becomes a
    note); a file is checked row by row (:func:`rsic_core.runs.records.read_prediction_file`) and
    the first row that would be scored wrong is refused.

    Args:
        path: a run folder or a ``predictions.jsonl`` (rows with ``prediction`` and ``references``).
        config (all metrics but SPICE): see :class:`rsic_core.scoring.metrics.ScoreConfig`.
        out (the run folder itself; for a bare file, a new run folder): where to write the scores.
            Metrics scored before and not asked for now are kept (corpus and per image).
        overwrite (False): ``out`` may hold another run, whose predictions, scores and config are
            then replaced (its efficiency report, which described another model, is removed).
        protocols_k (None): also score the other common protocols (:mod:`rsic_core.scoring.protocols`).

    Returns:
        (the folder written, the scores).

    Raises:
        FileNotFoundError: no predictions file.
        ValueError: a row of the file is not one image's prediction and references, or ``out``
            holds another run and ``overwrite`` is not set (nothing is written).
    """
    path = Path(path)
    file = RunLayout(path).predictions if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no predictions file")
    if path.is_dir():
        rows, problems = runs.read_predictions(file)
    else:
        rows, problems = read_prediction_file(file), []
    if not rows:
        raise ValueError(f"{file}: no prediction could be read" + (f" ({problems[0]})" if problems else ""))
    replaced = check_out(file, out, overwrite)
    scores = score_rows(rows, config)
    scores.notes += problems
    if protocols_k:
        from rsic_core.scoring.protocols import compare_protocols

        scores.protocols = compare_protocols(
            {r.image_id: r.prediction for r in rows}, {r.image_id: r.references for r in rows}, protocols_k
        )
    _keep_other_metrics(scores, rows, RunLayout(file.parent).metrics)
    folder = Path(out).expanduser() if out else (path if path.is_dir() else runs.new_run_dir(f"scored-{file.stem}"))
    runs.make_folder(folder, "--out")
    layout = RunLayout(folder)
    if replaced:
        layout.efficiency.unlink(missing_ok=True)
    runs.write_scores(folder, rows, scores)
    if replaced or not layout.config_file.is_file():
        source = str(file.resolve())
        layout.write_config(
            {"name": folder.name, "kind": RunKind.IMPORTED, "data": source, "source": source}
            | {"source_sha256": file_sha256(file), "dataset": None, "split": _one_split(rows)}
        )
    return folder, scores


def score_rows(rows, config: ScoreConfig | None = None) -> Scores:
    """Score prediction rows against their references (see :func:`rsic_core.scoring.metrics.score`).

    A lone surrogate (``"\\ud800"`` in a JSON file reads as one) cannot go to the scorers' Java
    tokenizer: it is scored as U+FFFD, the rows keep it as it was, and a note says so.
    """
    odd = 0

    def scorable(text: str) -> str:
        nonlocal odd
        clean = _SURROGATE.sub("\ufffd", text)
        odd += clean != text
        return clean

    predictions = {r.image_id: scorable(r.prediction) for r in rows}
    references = {r.image_id: [scorable(ref) for ref in r.references] for r in rows}
    scores = score(predictions, references, config)
    if odd:
        scores.notes.append(f"{odd} caption(s) held a lone surrogate character, scored as U+FFFD")
    return scores


def _one_split(rows) -> str | None:
    splits = {r.split for r in rows}
    return splits.pop() if len(splits) == 1 else None


def check_out(file: Path, out, overwrite: bool) -> bool:
    """Whether scoring ``file`` into ``out`` replaces another run there (refused unless ``overwrite``)."""
    if not out:
        return False
    folder = Path(out).expanduser()
    layout = RunLayout(folder)
    if layout.kind is None or (folder.exists() and layout.predictions.resolve() == file.resolve()):
        return False  # a new folder, or the scored run itself (scored again in place)
    if layout.foreign:
        raise ValueError(f"{folder} holds a config.json that is not a run of this project; give another --out")
    if not overwrite:
        raise ValueError(
            f"{folder} already holds a run ({layout.kind}); give another --out, "
            "or --overwrite to replace its predictions and scores"
        )
    return True


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


def run_folder(out, name: str, root=None) -> tuple[Path, bool]:
    """The run folder to write (``out``, or a new one named ``name`` under the runs root), and whether this call
    created it; a folder that already holds a run is refused (also used by the Ray evaluation)."""
    if out is None:
        return runs.new_run_dir(name, root), True
    folder = Path(out).expanduser()
    layout = RunLayout(folder)
    if layout.config_file.exists() or layout.predictions.exists():
        raise ValueError(f"{folder}: already holds a run; choose a new --out folder")
    created = not folder.exists()
    runs.make_folder(folder, "--out")
    return folder, created


def discard_run(folder: Path, created: bool) -> None:
    """Remove what a failed evaluation wrote: the folder it created, or its config.json."""
    import shutil

    if created:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        RunLayout(folder).config_file.unlink(missing_ok=True)
