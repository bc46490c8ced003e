"""``rsic``: the command line for headless work.

    rsic data validate PATH
    rsic data demo OUT
    rsic scene caption SCENE.tif --out SCENE.geojson

Each command group is a module here with ``register(subparsers)`` (listed in ``COMMAND_MODULES``): ``data``,
``preprocess``, ``train`` (and ``experiment``), ``evaluate`` (and ``score``), ``compare``, ``caption``,
``demo_model``, ``convert``, ``efficiency``, ``model``, ``explain``, ``scene``. What they share:

- ``arguments``: the one option parser (``OptionParser``, transformers' ``HfArgumentParser`` over the config
  dataclasses) every command's parser is, ``--config FILE``, the model options, the help layout
- ``config_files``: reading a ``--config`` file and checking each value as its option would
- ``engine``: ``--engine local|ray`` and the Ray options
- ``outputs``: ``--out`` checks, lines streamed to ``<out>.partial``, progress on stderr

Handlers import the heavy libraries themselves, so that ``rsic --help`` costs only the import of transformers'
parser (about a second).

May import: everything of ``rsic_core`` (the top layer of the library).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rsic_core.cli.arguments import OptionParser, add_config_option, with_config_file

# One module per command group; each adds its sub-commands.
COMMAND_MODULES = [
    "rsic_core.cli.data",
    "rsic_core.cli.preprocess",
    "rsic_core.cli.train",
    "rsic_core.cli.evaluate",
    "rsic_core.cli.compare",
    "rsic_core.cli.caption",
    "rsic_core.cli.demo_model",
    "rsic_core.cli.convert",
    "rsic_core.cli.efficiency",
    "rsic_core.cli.model",
    "rsic_core.cli.explain",
    "rsic_core.cli.scene",
]


def build_parser() -> OptionParser:
    """``rsic`` and its commands, every parser an :class:`OptionParser`; each command takes ``--config FILE``."""
    parser = OptionParser(prog="rsic", description="RSIC Studio: remote-sensing image captioning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OptionParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command in _commands(parser):
        if command.prefix_chars == "+":  # rsic train and experiment parse their own options (and --config)
            continue
        add_config_option(command)
        command.set_defaults(options_parser=command)
    return parser


def _commands(parser: argparse.ArgumentParser):
    """The parsers that run a command (those without sub-commands of their own), each once."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield parser
    seen = set()
    for group in groups:
        for child in group.choices.values():
            if id(child) not in seen:
                seen.add(id(child))
                yield from _commands(child)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rsic-studio")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args = with_config_file(parser, args, argv)
        return int(args.func(args) or 0)
    except (ValueError, OSError, KeyError) as e:  # OSError: FileNotFoundError, a full disk, no permission...
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"rsic: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rsic: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
