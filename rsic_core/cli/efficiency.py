"""``rsic efficiency``: parameters and MACs per image of a real-shape model, on the meta device (nothing allocated).

rsic efficiency --shape blip2-opt-2.7b
rsic efficiency --shape puret --vocab-size 3000 --json
rsic efficiency --shape all
rsic efficiency --shape list

See :mod:`rsic_core.scoring.costs` for what is counted and what "trainable" means.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "efficiency",
        help="parameters and MACs/FLOPs per image of a real-shape model (meta device, seconds, no weights)",
        description=(
            "Build a real-shape model with random weights on the meta device and print its total and trainable "
            "parameters and, per image, MACs (what papers call GFLOPs) and FLOPs (2 per MAC)."
        ),
    )
    p.add_argument(
        "--shape", required=True, help="a real shape (e.g. blip2-opt-2.7b), 'all' for every one, 'list' to list them"
    )
    p.add_argument("--vocab-size", type=int, help="vocabulary as the shape counts it (default: the shape's own)")
    p.add_argument(
        "--caption-tokens", type=int, help="caption length of the counted pass (default: the shape's, else 20)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_efficiency)


def _efficiency(args: argparse.Namespace) -> int:
    from rsic_core.scoring.costs import CONVENTIONS, shape_cost, shape_names

    names = shape_names()
    if args.shape == "list":
        print(json.dumps({"shapes": names}) if args.json else "\n".join(names))
        return 0
    if args.shape != "all" and args.shape not in names:
        raise ValueError(f"unknown shape {args.shape!r}; choose one of {', '.join(names)} (or all, or list)")
    chosen = names if args.shape == "all" else [args.shape]
    costs = [shape_cost(name, vocab_size=args.vocab_size, caption_tokens=args.caption_tokens) for name in chosen]
    if args.json:
        body = costs[0].to_dict() if len(costs) == 1 else {"shapes": [c.to_dict() for c in costs]}
        print(json.dumps({**body, "conventions": CONVENTIONS}, indent=1))
    else:
        print("\n\n".join(c.to_text() for c in costs))
        print(f"\n{CONVENTIONS}")
    return 0
