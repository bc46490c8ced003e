"""``rsic evaluate`` and ``rsic score``: evaluation runs and scoring of predictions.

rsic evaluate --model M [--adapter DIR] --data PATH --eval-split test [--eval-limit N [--eval-seed S]] [--out DIR]
rsic evaluate ... --engine ray [--address auto|ray://HOST:10001] [--num-workers N] [--gpus-per-worker G]
rsic score PREDICTIONS.jsonl|RUN_DIR [--out DIR [--overwrite]]

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

from rsic_core.cli.arguments import HelpFormatter, add_dataclass_arguments, alias_epilog, dataclass_from_args
from rsic_core.options import split_list

SCORE_HELP = "metric groups: bleu, meteor, rouge, cider, geo_sim (default: all of them)"


def register(subparsers) -> None:
    from rsic_core.cli.caption import add_engine_arguments
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.runs.evaluation import EvalConfig

    p = subparsers.add_parser(
        "evaluate",
        help="caption a dataset split, score it and write a run folder",
        epilog=alias_epilog(EvalConfig, CaptionConfig),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model", default="demo", help="model folder or Hugging Face id in the local cache (default: the demo model)"
    )
    p.add_argument("--adapter", help="LoRA adapter folder to merge (omit for the zero-shot baseline)")
    p.add_argument("--data", required=True, help="dataset folder or annotation file")
    p.add_argument("--out", help="run folder to write (default: a new folder under the runs folder)")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: CUDA when available)")
    p.add_argument("--dtype", help="bf16, fp16 or fp32 (default: bf16 on CUDA, fp32 on CPU)")
    add_dataclass_arguments(p, EvalConfig)
    add_dataclass_arguments(p, CaptionConfig)
    _scoring_arguments(p)
    add_engine_arguments(p)
    p.set_defaults(func=_evaluate)

    p = subparsers.add_parser(
        "score", help="score predictions (a run folder or a predictions.jsonl) with coco-caption metrics and Geo-Sim"
    )
    p.add_argument("predictions", help="run folder, or JSONL with image_id, prediction and references per line")
    p.add_argument("--out", help="folder for the scored run (default: the run folder itself, or a new run folder)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="--out may hold another run: replace its predictions, scores and config (refused without it)",
    )
    _scoring_arguments(p)
    p.add_argument("--json", action="store_true", help="print the corpus scores as JSON")
    p.set_defaults(func=_score)


def _scoring_arguments(p) -> None:
    p.add_argument("--metrics", help=SCORE_HELP + "; comma-separated")
    p.add_argument(
        "--spice", action="store_true", help="also try SPICE (skipped with the reason when its models are absent)"
    )
    p.add_argument("--embedder", help="sentence-transformers model for Geo-Sim (default: packaged all-MiniLM-L6-v2)")


def _score_config(args):
    from rsic_core.scoring.metrics import ScoreConfig

    config = ScoreConfig(score_spice=args.spice, geo_sim_embedder=args.embedder)
    if args.metrics:
        config.score_metrics = tuple(split_list(args.metrics))
    return config


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
    print(f"run folder: {folder}")


def eval_config(args: argparse.Namespace):
    """The :class:`rsic_core.runs.evaluation.EvalConfig` the options of ``rsic evaluate`` describe."""
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.runs.evaluation import EvalConfig

    caption = dataclass_from_args(CaptionConfig, args)
    return dataclass_from_args(EvalConfig, args, caption=caption, scoring=_score_config(args))


def _evaluate(args: argparse.Namespace) -> int:
    from rsic_core.cli.caption import engine_config, progress_printer
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
    from rsic_core.cli.caption import progress_printer

    print(f"captioning {config.eval_split} of {dataset.name} on Ray with {args.model}", file=sys.stderr)
    where = {"out": args.out, "device": args.device, "dtype": args.dtype}
    progress = progress_printer("images")
    return evaluate_on_ray(
        dataset, config.eval_split, config, args.model, args.adapter, engine, progress=progress, **where
    )


def _score(args: argparse.Namespace) -> int:
    from rsic_core.runs.evaluation import rescore

    folder, scores = rescore(args.predictions, _score_config(args), out=args.out, overwrite=args.overwrite)
    if args.json:
        print(
            json.dumps(
                {"corpus": scores.corpus, "skipped": scores.skipped, "embedder": scores.embedder, "run": str(folder)},
                indent=1,
            )
        )
    else:
        _print_scores(scores.corpus, scores.to_dict(), folder)
    return 0
