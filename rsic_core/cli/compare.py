"""``rsic compare``: is system A better than B? A paired bootstrap over images of every metric's difference.

rsic compare A B [--json] [--resamples 1000] [--seed 0] [--metrics bleu,cider,...] [--class-metric CIDEr]

A and B are run folders or prediction files of the same images (with the same references): the project's
``predictions.jsonl`` or any file ``rsic score`` reads (coco results, CSV/TSV/JSONL columns, ``file<TAB>caption``),
matched to ``--data PATH --split SPLIT`` where the file carries no references.
"""

from __future__ import annotations

import argparse
import json

from rsic_core.cli.evaluate import score_config


def register(subparsers) -> None:
    from rsic_core.scoring.metrics import ScoreConfig

    p = subparsers.add_parser(
        "compare",
        help="is system A better than B? every metric's A - B with a paired bootstrap interval over images, per class too",
        description=(
            "Paired bootstrap over images: each resample draws the images with replacement (the same draw for A and "
            "B) and recomputes corpus BLEU and CIDEr-D from cached n-gram statistics; ROUGE-L, Geo-Sim and METEOR are "
            "means of per-image scores (METEOR's jar aggregates over the corpus: here METEOR is the per-image mean, "
            "the jar's corpus value is given in a note)."
        ),
    )
    p.add_argument("a", help="run folder or prediction file of system A (any format rsic score reads)")
    p.add_argument("b", help="run folder or prediction file of system B (the same images)")
    p.add_argument("--data", help="dataset (or coco annotations file) that prediction files are matched to")
    p.add_argument("--split", default="test", help="its split (default test)")
    p.add_argument(
        "--match", choices=("imgid", "cocoid", "filename", "stem"), help="how ids are matched (default: the best)"
    )
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"BLEU-4": {"delta", "low", "high", "a_wins"}, ...} on the 0-1 scale (as `rsic score --json`); '
        "a_wins is the share of resamples where A scores higher",
    )
    p.add_argument("--class-metric", default="CIDEr", help="metric of the per-class table (default CIDEr)")
    p.add_argument("--class_metric", help=argparse.SUPPRESS, default=argparse.SUPPRESS)  # the underscore spelling
    p.add_dataclass(ScoreConfig)
    p.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    from rsic_core.runs.sides import compare_paths
    from rsic_core.scoring.metrics import ALL_METRICS

    if args.class_metric not in ALL_METRICS:
        raise ValueError(f"--class-metric must be one of {', '.join(ALL_METRICS)}, not {args.class_metric!r}")
    comparison = compare_paths(
        args.a, args.b, score_config(args), args.resamples, args.seed, args.data, args.split, args.match
    )
    if args.json:
        print(json.dumps(comparison.to_json(), indent=1))
        return 0
    print(f"A: {args.a}\nB: {args.b}")
    print(
        f"{comparison.n_images} images, {comparison.resamples} paired resamples (seed {comparison.seed}), "
        f"{100 * comparison.level:.0f} % interval of A - B; scores x100"
    )
    print(f"{'metric':<16}{'A':>8}{'B':>8}{'A - B':>8}  {'interval':<18}{'A wins':>7}")
    for name, d in comparison.differences.items():
        print(f"{name:<16}{100 * comparison.a[name]:8.2f}{100 * comparison.b[name]:8.2f}{_row(d)}")
    metric = args.class_metric
    if comparison.per_class and metric not in comparison.differences:
        print(f"\nno per-class table: {metric} was not computed (see --metrics)")
    if comparison.per_class and metric in comparison.differences:
        how = "mean of per-image CIDEr-D, document frequencies of all images" if metric == "CIDEr" else "corpus"
        print(f"\nper class, {metric} on the class's images ({how}; x100):")
        print(f"{'class':<24}{'images':>7}{'A - B':>8}  {'interval':<18}{'A wins':>7}")
        for label, diffs in comparison.per_class.items():
            print(f"{label[:23]:<24}{comparison.class_sizes[label]:>7}{_row(diffs[metric])}")
    for note in comparison.notes:
        print(f"note: {note}")
    return 0


def _row(d) -> str:
    interval = f"[{100 * d.low:.2f}, {100 * d.high:.2f}]"
    return f"{100 * d.delta:8.2f}  {interval:<18}{100 * d.a_wins:6.1f}%"
