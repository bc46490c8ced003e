"""``rsic model new``: a tiny (or user-sized) random model of any family, saved for ``rsic train`` / ``rsic caption``.

rsic model new paligemma2 --out models/tiny-paligemma2
rsic model new blip2-opt --out models/blip2-small --data ~/data/UCM --image-size 64 --vocab-size 600 \
    --text '{"hidden_size": 64, "ffn_dim": 128, "word_embed_proj_dim": 64}'
rsic model new list

The model is built from configs by :func:`rsic_core.models.registry.build_tiny` (no download): the
family's tiny sizes, overridden by ``--vision``/``--text``/``--extra`` (JSON objects of config
fields), with a tokenizer trained on the training captions of ``--data`` (default: the offline
demo dataset), and written with ``save_pretrained``, so ``rsic train --model DIR`` and
``rsic caption --model DIR`` open it like any model folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    model = subparsers.add_parser(
        "model",
        help="model folders: new (a random model of any family and size), ship (a run as a bf16 model with its card)",
    ).add_subparsers(dest="model_command", required=True)
    p = model.add_parser(
        "new",
        help="build a tiny random model of a family (tokenizer trained on a dataset's captions) and save it",
    )
    p.add_argument("family", help="a registered family (e.g. paligemma2, blip2-opt), or 'list' to list them")
    p.add_argument("--out", help="model folder to write (must not exist, or be empty)")
    p.add_argument("--data", help="dataset whose training captions train the tokenizer (default: the demo dataset)")
    p.add_argument("--split", default="train", help="split whose captions train the tokenizer (default train)")
    p.add_argument("--image-size", type=int, default=32, help="input resolution in pixels (default 32)")
    p.add_argument("--vocab-size", type=int, default=300, help="tokenizer vocabulary size (default 300)")
    p.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    for tower in ("vision", "text", "extra"):
        p.add_argument(f"--{tower}", help=f"JSON object of {tower} config fields over the family's tiny sizes")
    p.set_defaults(func=_new)
    ship = model.add_parser(
        "ship",
        help="a finished full-training run as a model folder to hand out: bf16 weights and its card (training.json)",
    )
    ship.add_argument("run", help="the training run folder (rsic train --train-mode full)")
    ship.add_argument("--out", required=True, help="model folder to write (must not exist, or be empty)")
    ship.add_argument("--knows", required=True, help="what the model knows, as a phrase the pages show")
    ship.add_argument("--dtype", default="bf16", help="weights' dtype: bf16 (default), fp16 or fp32")
    ship.add_argument("--notes", help="a JSON object of more card fields (provenance, licence, commands)")
    ship.set_defaults(func=_ship)


def _new(args: argparse.Namespace) -> int:
    from rsic_core.models.registry import FAMILIES, build_tiny, get_family

    if args.family == "list":
        print("\n".join(f"{name}\t{family.title}" for name, family in FAMILIES.items()))
        return 0
    get_family(args.family)  # an unknown name: one sentence listing the families
    if not args.out:
        raise ValueError("--out is required: the model folder to write")
    out = _check_out(args.out)
    sizes = {tower: parse_sizes(f"--{tower}", getattr(args, tower)) for tower in ("vision", "text", "extra")}
    for name in ("image_size", "vocab_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(args, name)})")
    captions, source = training_captions(args.data, args.split)
    started = time.perf_counter()
    try:
        captioner = build_tiny(
            args.family,
            captions=captions,
            image_size=args.image_size,
            vocab_size=args.vocab_size,
            seed=args.seed,
            device="cpu",
            **sizes,
        )
    except TypeError as e:  # a config field the family's config classes do not take
        raise ValueError(
            f"{args.family}: a size given in --vision/--text/--extra is not a config field ({e})"
        ) from None
    check_fields(captioner, sizes)
    captioner.save(out)
    total = captioner.num_parameters()
    print(
        f"wrote a random {captioner.family.title} model to {out}: {total:,} parameters, "
        f"{args.image_size} px images, tokenizer of {len(captioner.processor.tokenizer):,} tokens trained on "
        f"{len(captions):,} captions of {source}, in {time.perf_counter() - started:.1f} s"
    )
    print(f"next: rsic train --model {out} ...  or  rsic caption IMAGES --model {out}", file=sys.stderr)
    return 0


def _ship(args: argparse.Namespace) -> int:
    from rsic_core.training.ship import ship_run

    notes = parse_sizes("--notes", args.notes)
    card = ship_run(args.run, args.out, args.knows, dtype=args.dtype, notes=notes)
    print(f"wrote {args.out}: {card['model']}, {len(card['classes'])} classes, {card['steps']} steps, {args.dtype}")
    return 0


def parse_sizes(option: str, text: str | None) -> dict:
    """The JSON object given to ``option`` (empty when not given).

    Raises:
        ValueError: not JSON, or not an object of field names.
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{option}: not valid JSON ({e.msg} at character {e.pos}): {text}") from None
    if not isinstance(value, dict):
        raise ValueError(f'{option}: expected a JSON object of config fields, e.g. {{"hidden_size": 64}}, got {text}')
    return value


def check_fields(captioner, sizes: dict[str, dict]) -> None:
    """Refuse a size that no config of the model declares (transformers keeps an unknown key silently).

    Raises:
        ValueError: one sentence naming the option, the key and the closest field.
    """
    import dataclasses
    import difflib

    from transformers import PretrainedConfig

    known, todo = set(), [captioner.model.config]
    while todo:
        config = todo.pop()
        known |= {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set(vars(config))
        todo += [v for v in vars(config).values() if isinstance(v, PretrainedConfig)]
    for tower, given in zip(("vision", "text", "extra"), captioner.family.tiny_sizes, strict=False):
        allowed = known | set(given) | {"image_size", "model_type"}  # model_type: a backbone of another kind
        for key, value in sizes[tower].items():
            keys = [key, *(value if isinstance(value, dict) else {})]
            for name in (k for k in keys if k not in allowed):
                close = difflib.get_close_matches(name, sorted(allowed), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ValueError(f"--{tower}: {name} is not a config field of {captioner.family.title}{hint}")


def training_captions(data: str | None, split: str = "train") -> tuple[list[str], str]:
    """The captions of ``split`` of the dataset at ``data`` (default: the demo dataset), and its name for people.

    Raises:
        ValueError: the dataset has no caption in that split.
    """
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import demo_dataset_dir

    path = Path(data).expanduser() if data else demo_dataset_dir()
    dataset = load_dataset(path)
    captions = [c for r in dataset.select(split=split) for c in r.captions]
    if not captions:
        splits = ", ".join(sorted(dataset.split_counts())) or "none"
        raise ValueError(f"{path}: no caption in split {split!r} to train the tokenizer on (splits: {splits})")
    name = f"the {split} split of {'the demo dataset' if not data else path}"
    return captions, name


def _check_out(out: str) -> Path:
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {out} is a file; name a new folder")
    if path.is_dir() and any(path.iterdir()):
        raise ValueError(f"--out {out} already holds files; name a new or empty folder")
    return path
