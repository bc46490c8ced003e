"""``rsic train`` and ``rsic experiment``: training runs (LoRA or full, cross-entropy or SCST), grids, pruning.

    rsic train [--config run.json|run.yaml] [--lora-r 8 --max-steps 200 --adam-beta2 0.95 ...]   # every TrainConfig field
    rsic train --train-mode full --label-smoothing-factor 0.1 ...   # every weight outside the family's frozen towers
    rsic train --objective scst --scst-samples 5 --model XE_RUN_DIR  # SCST from a cross-entropy run (or model folder)
    rsic train --resume RUN_DIR                                                                # continue a killed run
    rsic train --data DATA --train-captions SET_DIR     # targets from a preprocessed caption set (rsic preprocess --out)
    rsic train --output-dir RUN_DIR --overwrite                   # replace a finished run (or an evaluation) there
    rsic experiment grid [--config base.json] --grid-r 2,4,8 --grid-alpha 4,16,32 --grid-dropout 0,0.1 [--captions raw,SET_DIR]
                         [TrainConfig fields]
    rsic experiment prune [--config base.json] --prune-qformer-sweep 0,6 --prune-lm-sweep 0,16 [TrainConfig fields]

Every field of :class:`rsic_core.training.config.TrainConfig` (the Trainer's own options
included) is an option, spelled ``--lora-r`` or ``--lora_r``, parsed by the one option parser of ``rsic``
(:class:`rsic_core.cli.arguments.OptionParser`, transformers' ``HfArgumentParser``).
Options on the command line override the file. The same command runs on several processes:
``torchrun --nproc_per_node 2 -m rsic_core.cli train --output-dir RUN ...`` (or ``accelerate launch``).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    # The options are parsed by an OptionParser over TrainConfig in the handlers, built only when the command
    # runs (about 150 fields); prefix "+" makes this parser hand every "--field value" to them untouched.
    train = subparsers.add_parser(
        "train",
        help="train a LoRA adapter or the whole model, cross-entropy or SCST (every TrainConfig field is an option)",
        add_help=False,
        prefix_chars="+",
    )
    train.add_argument("rest", nargs=argparse.REMAINDER)
    train.set_defaults(func=_train)
    experiment = subparsers.add_parser(
        "experiment",
        help="experiments of several runs: grid (a LoRA ablation, one table) and prune (layer pruning, then LoRA)",
    )
    kinds = experiment.add_subparsers(dest="experiment", required=True)
    for name, text in (
        ("grid", "Rank x alpha x dropout grid against the zero-shot row."),
        ("prune", "Keep the first N Q-Former / language-model layers, then LoRA."),
    ):
        sub = kinds.add_parser(name, help=text, add_help=False, prefix_chars="+")
        sub.add_argument("rest", nargs=argparse.REMAINDER)
        sub.set_defaults(func=_experiment)


def parse_config(argv: list[str], *extra, prog: str = "rsic train"):
    """TrainConfig (and the ``extra`` dataclasses) from ``--config FILE`` and ``--field value`` options.

    Raises:
        FileNotFoundError: the config file does not exist.
        ValueError: the file holds keys that are not fields; an option that is not a field.
    """
    from rsic_core.cli.arguments import OptionParser
    from rsic_core.training.config import TrainConfig, current_names

    parser = OptionParser((TrainConfig, *extra), prog=prog)
    return parser.parse_with_config(argv, renames=current_names)


def _train(args) -> int:
    from rsic_core.runs.layout import RunLayout
    from rsic_core.training.checks import leakage
    from rsic_core.training.jobs import read_status
    from rsic_core.training.trainer import train

    (config,) = parse_config(args.rest)
    warned = leakage(config.to_dict())
    if warned:  # the classic leakage mistake: said before the run, and again with its result
        print(f"rsic: warning: {warned}", file=sys.stderr)
    run_dir = train(config, progress=_print_progress)
    status = read_status(run_dir)
    if status:
        print(f"{status.get('state')}: {status.get('message', '')}")
        print(f"run folder: {run_dir}")
    if warning := RunLayout(run_dir).read_config().get("leakage"):
        print(f"rsic: warning: {warning}", file=sys.stderr)
    return 0


def _experiment(args) -> int:
    """``rsic experiment grid|prune``: the config and its experiment dataclass, run, then the table."""
    from rsic_core.training import experiments

    kind, run = {
        "grid": (experiments.GridConfig, experiments.run_grid),
        "prune": (experiments.PruneConfig, experiments.run_prune),
    }[args.experiment]
    config, plan = parse_config(args.rest, kind, prog=f"rsic experiment {args.experiment}")
    result = run(config, plan, progress=print)
    print(result.table.to_string(index=False))
    print(f"experiment folder: {result.folder}")
    return 0


def _print_progress(step: int, total: int) -> None:
    if step == total or step % 10 == 0:
        print(f"step {step}/{total}", file=sys.stderr, flush=True)
