"""``rsic convert FAMILY CHECKPOINT``: the authors' released checkpoint as a model folder of this project.

    rsic convert puret caption_model_27.pth --out models/puret-coco --vocab coco_vocabulary.txt
    rsic convert puret caption_model_27.pth --check-only          # "513 of 513 keys mapped"

One sub-command per registered family with ``convert_options`` (its options become flags, e.g.
``--vocab``, ``--backbone``); the family's :meth:`~rsic_core.models.base.Family.convert` does the work.
``--check-only`` builds the architecture on the meta device and maps the file's keys without
writing anything or loading any tower's weights. A checkpoint that does not fit (missing, unexpected
or mis-shaped keys), an unreadable file or a refused pickle exits 2 with one sentence; nothing is written.
"""

from __future__ import annotations


def register(subparsers) -> None:
    from rsic_core.models.registry import FAMILIES

    p = subparsers.add_parser("convert", help="turn a released PureT or BITA checkpoint into a model folder")
    families = p.add_subparsers(dest="convert_family", required=True, metavar="FAMILY")
    for family in FAMILIES.values():
        if not family.convert_options:
            continue
        aliases = [family.model_type] if family.model_type != family.name else []  # rsic convert bita = bita-opt
        q = families.add_parser(
            family.name,
            aliases=aliases,
            help=f"convert a released {family.title} checkpoint",
        )
        q.add_argument("checkpoint", help="the authors' file (read with torch.load(weights_only=True))")
        q.add_argument("--out", help="model folder to write (new or empty); not with --check-only")
        q.add_argument(
            "--check-only",
            action="store_true",
            help="map the keys against the architecture built on the meta device and report; write nothing",
        )
        for option, text in family.convert_options.items():
            q.add_argument("--" + option.replace("_", "-"), dest=option, help=text)
        q.set_defaults(func=_convert, convert_options=tuple(family.convert_options), convert_family=family.name)


def _convert(args) -> int:
    from rsic_core.models.registry import get_family

    if args.check_only and args.out:
        raise ValueError("--check-only writes nothing: leave out --out (or drop --check-only to convert)")
    if not args.check_only and not args.out:
        raise ValueError("--out DIR is needed to write the model folder (or use --check-only)")
    options = {name: getattr(args, name) for name in args.convert_options if getattr(args, name) is not None}
    print(get_family(args.convert_family).convert(args.checkpoint, args.out, check_only=args.check_only, **options))
    return 0
