"""``rsic evaluate`` and ``rsic score``: evaluation runs and scoring of predictions.

rsic evaluate --model M [--adapter DIR] --data PATH --eval-split test [--eval-limit N [--eval-seed S]] [--out DIR]
rsic evaluate ... --engine ray [--address auto|ray://HOST:10001] [--num-workers N] [--gpus-per-worker G]
rsic score PREDICTIONS.jsonl|RUN_DIR [--out DIR [--overwrite]]
rsic score FILE --data PATH --split test [--allow-missing] [--match filename] [--protocols [--k 4]] [--json]

The evaluation and generation options are the fields of ``EvalConfig`` and ``CaptionConfig``
(``--eval-split``, ``--gen-num-beams``, ...); the older ``--split``, ``--limit``, ``--name``,
``--beams``, ``--max-new-tokens`` and ``--no-efficiency`` still work. ``--eval-limit N`` captions a
seeded sample of N images stratified by class (:func:`rsic_core.data.subsets.choose_subset`); the
line ``images: ...`` says which. ``--engine ray`` captions the split through the Ray engine
(:mod:`rsic_core.archive.evaluation`), then scores it into the same run folder.
"""

from __future__ import annotations

import argparse
import json
import sys

from rsic_core.cli.arguments import add_model_arguments, dataclass_from_args
from rsic_core.runs.prediction_files import MATCH_OPTIONS, is_project_jsonl


def register(subparsers) -> None:
    from rsic_core.cli.engine import add_engine_arguments
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.runs.evaluation import EvalConfig
    from rsic_core.scoring.metrics import ScoreConfig

    p = subparsers.add_parser("evaluate", help="caption a dataset split, score it and write a run folder")
    add_model_arguments(
        p,
        "cpu, cuda, cuda:1... (default: CUDA when available)",
        adapter_help="LoRA adapter folder to merge (omit for the zero-shot baseline)",
    )
    p.add_argument("--data", required=True, help="dataset folder or annotation file")
    p.add_argument("--out", help="run folder to write (default: a new folder under the runs folder)")
    p.add_dataclass(EvalConfig)
    p.add_dataclass(CaptionConfig)
    p.add_dataclass(ScoreConfig)
    add_engine_arguments(p)
    p.set_defaults(func=_evaluate)

    p = subparsers.add_parser(
        "score",
        help="score predictions (a run folder or a file in any common format) with coco-caption metrics and Geo-Sim",
    )
    p.add_argument(
        "predictions",
        help="run folder; predictions.jsonl (image_id, prediction, references); coco results JSON "
        '[{"image_id", "caption"}]; JSONL/CSV with a prediction column and ids and/or references; '
        "or a text file of filename<TAB>caption lines",
    )
    p.add_argument(
        "--data",
        help="dataset (folder or annotation file) or coco-format annotations file whose references the "
        "predictions are matched to (default: the references in the file)",
    )
    p.add_argument("--split", default="test", help="split of --data the predictions are for (default: test)")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="leave out images of the split without a prediction (default: score them as empty predictions)",
    )
    p.add_argument(
        "--match",
        choices=MATCH_OPTIONS,
        help="how ids name images: "
        + ", ".join(f"{k} ({v})" for k, v in MATCH_OPTIONS.items())
        + " (default: whichever matches most rows)",
    )
    p.add_argument(
        "--protocols",
        action="store_true",
        help="also score the other common protocols (sentence BLEU, rouge_score, NLTK METEOR, folded "
        "references, first k references) side by side",
    )
    p.add_argument("--k", type=int, default=4, help="references kept by the 'first k references' protocol (default: 4)")
    p.add_argument("--out", help="folder for the scored run (default: the run folder itself, or a new run folder)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="--out may hold another run: replace its predictions, scores and config (refused without it)",
    )
    p.add_dataclass(ScoreConfig)
    p.add_argument("--json", action="store_true", help="print the corpus scores as JSON")
    p.set_defaults(func=_score)


def score_config(args):
    """The :class:`rsic_core.scoring.metrics.ScoreConfig` of the scoring options (evaluate, score, compare)."""
    from rsic_core.scoring.metrics import ScoreConfig

    return dataclass_from_args(ScoreConfig, args)


def _print_scores(corpus: dict, meta: dict, folder) -> None:
    """The corpus scores x100, as the pages and papers print them (``--json`` keeps the 0-1 scale)."""
    from rsic_core.scoring.scale import as_percent

    print("corpus scores x100:")
    for name, value in as_percent(corpus).items():
        print(f"{name:<16} {value:8.2f}" if value is not None else f"{name:<16}      n/a")
    for metric, reason in (meta.get("skipped") or {}).items():
        print(f"{metric:<16} {reason}")
    for note in meta.get("notes") or []:
        print(f"note: {note}")
    if meta.get("embedder"):
        print(f"Geo-Sim embedder: {meta['embedder']}")
    protocol = meta.get("protocol") or {}
    if protocol:
        refs = protocol["references_per_image"]
        print(
            f"protocol: {protocol['images']:,} images scored, references per image {refs['min']}/{refs['median']:g}/"
            f"{refs['max']} (min/median/max), tokenizer {protocol['tokenizer']}, {protocol['level']}"
        )
    _print_protocols(meta.get("protocols") or {}, corpus)
    print(f"run folder: {folder}")


def _print_protocols(protocols: dict, corpus: dict) -> None:
    """The other protocols x100 beside coco-caption's, one line each."""
    if not protocols:
        return
    from rsic_core.scoring.scale import as_percent

    shown = ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
    print(f"{'protocol (x100)':<58}" + "".join(f"{m:>9}" for m in shown))
    for name, scores in {"coco-caption (pycocoevalcap, PTB, corpus)": corpus, **protocols}.items():
        if "skipped" in scores:
            print(f"{name:<58} {scores['skipped']}")
            continue
        values = as_percent({m: v for m, v in scores.items() if m in shown})
        print(f"{name:<58}" + "".join(f"{values[m]:9.2f}" if m in values else f"{'':>9}" for m in shown))


def eval_config(args: argparse.Namespace):
    """The :class:`rsic_core.runs.evaluation.EvalConfig` the options of ``rsic evaluate`` describe."""
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.runs.evaluation import EvalConfig

    caption = dataclass_from_args(CaptionConfig, args)
    return dataclass_from_args(EvalConfig, args, caption=caption, scoring=score_config(args))


def _evaluate(args: argparse.Namespace) -> int:
    from rsic_core.cli.engine import engine_config
    from rsic_core.cli.outputs import progress_printer
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.registry import load_captioner
    from rsic_core.runs.evaluation import evaluate, split_subset
    from rsic_core.runs.layout import load_run

    dataset = load_dataset(args.data)  # before the model: a wrong path or an empty split fails in a second
    config = eval_config(args)
    engine = engine_config(args)
    subset = split_subset(dataset, config.eval_split, config.eval_limit, config.eval_seed)
    if engine is not None:
        folder = _evaluate_on_ray(args, dataset, config, engine)
    else:
        print(f"loading {args.model}" + (f" with adapter {args.adapter}" if args.adapter else ""), file=sys.stderr)
        captioner = load_captioner(args.model, adapter=args.adapter, device=args.device, dtype=args.dtype)
        folder = evaluate(
            captioner, dataset, config.eval_split, config, out=args.out, progress=progress_printer("images")
        )
    run = load_run(folder, with_predictions=False)
    print(f"images: {subset.description} of the {config.eval_split} split")
    if run.metrics.get("error"):
        print(
            f"rsic: error: scoring failed: {run.metrics['error']} (captions are saved in {folder}; "
            f"score them later with `rsic score {folder}`)",
            file=sys.stderr,
        )
        return 1
    _print_scores(run.metrics.get("corpus") or {}, run.metrics, folder)
    eff = run.efficiency
    if eff.get("params_total"):
        gflops = f"{eff['gflops_per_image']:.2f} GFLOPs/image, " if eff.get("gflops_per_image") is not None else ""
        print(
            f"efficiency: {eff['params_total'] / 1e6:.1f} M params, {gflops}"
            f"{1e3 * eff['latency_s_per_image']:.1f} ms/image on {eff['device']} ({eff['dtype']})"
        )
    return 0


def _evaluate_on_ray(args: argparse.Namespace, dataset, config, engine):
    """The run folder of ``rsic evaluate --engine ray``: captions from the Ray engine, then the usual scoring."""
    from rsic_core.archive.evaluation import evaluate_on_ray
    from rsic_core.cli.outputs import progress_printer

    print(f"captioning {config.eval_split} of {dataset.name} on Ray with {args.model}", file=sys.stderr)
    where = {"out": args.out, "device": args.device, "dtype": args.dtype}
    progress = progress_printer("images")
    return evaluate_on_ray(
        dataset, config.eval_split, config, args.model, args.adapter, engine, progress=progress, **where
    )


def _score(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.predictions).expanduser()
    if args.k < 1:
        raise ValueError(f"--k must be 1 or more (got {args.k})")
    k = args.k if args.protocols else None
    config = score_config(args)
    if "meteor" in config.score_metrics:
        from rsic_core.scoring.coco import start_meteor

        start_meteor()  # the METEOR JVM loads its paraphrase table while the file is read and tokenized
    lines = []
    if path.is_dir() or (args.data is None and is_project_jsonl(path)):
        from rsic_core.runs.evaluation import rescore

        folder, scores = rescore(path, config, out=args.out, overwrite=args.overwrite, protocols_k=k)
    else:
        from rsic_core.runs.imports import import_predictions

        folder, scores, report = import_predictions(
            path, args.data, args.split, config, args.allow_missing, args.out, args.overwrite, args.match, k
        )
        lines = report.lines()
    if args.json:
        keys = ("corpus", "skipped", "embedder", "protocol", "protocols", "n_images", "notes", "seconds")
        print(json.dumps({**{k: getattr(scores, k) for k in keys}, "run": str(folder)}, indent=1))
    else:
        for line in lines:
            print(line)
        meta = scores.to_dict()
        meta["notes"] = [n for n in meta["notes"] if n not in lines]
        _print_scores(scores.corpus, meta, folder)
    return 0
