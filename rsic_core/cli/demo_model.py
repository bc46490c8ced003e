"""``rsic demo-model``: rebuild the offline demo model.

rsic demo-model train --out assets/demo_model
"""

from __future__ import annotations

import argparse
import json

from rsic_core.cli.arguments import dataclass_from_args


def register(subparsers) -> None:
    from rsic_core.training.demo_model import DemoModelConfig

    demo = subparsers.add_parser("demo-model", help="the offline demo model: train rebuilds it").add_subparsers(
        dest="demo_command", required=True
    )
    p = demo.add_parser("train", help="train the demo model on the demo dataset (7-15 min on 2 cores)")
    p.add_argument("--out", default="assets/demo_model", help="folder to write (default assets/demo_model)")
    p.add_argument("--dataset", help="demo dataset folder (default: the generated one, 1200 images, seed 0)")
    p.add_dataclass(DemoModelConfig)
    p.set_defaults(func=_train_demo)


def _train_demo(args: argparse.Namespace) -> int:
    from rsic_core.training.demo_model import DemoModelConfig, train_demo_model

    report = train_demo_model(args.out, args.dataset, dataclass_from_args(DemoModelConfig, args))
    print(f"wrote {args.out}: test scores {json.dumps(report['test'])}")
    return 0
