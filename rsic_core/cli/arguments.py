"""Command-line options made from dataclass fields, spelled one way across the ``rsic`` commands.

    add_dataclass_arguments(parser, CaptionConfig)       # --gen-num-beams, --gen-max-new-tokens, ...
    config = dataclass_from_args(CaptionConfig, parser.parse_args())

A field ``gen_num_beams`` is the option ``--gen-num-beams``, listed in ``--help`` with the field's
help text and default. ``--gen_num_beams`` (the spelling ``rsic train`` also takes, through
HfArgumentParser) and the older spellings in the field's ``metadata["aliases"]`` (``--beams``)
work too without being listed; :func:`alias_epilog` names the older ones at the end of ``--help``.
A switch ``eval_efficiency`` is ``--eval-efficiency [true|false]`` and ``--no-eval-efficiency``;
a tuple field takes comma-separated values (parsed by :func:`rsic_core.options.split_list`).
"""

from __future__ import annotations

import argparse
import dataclasses
import textwrap
import types
import typing

from rsic_core.options import split_list


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, unset: bool = False, skip: tuple = ()) -> None:
    """One option per field of the dataclass ``cls`` (fields holding a dataclass are left out).

    Args:
        parser: the parser (or sub-command parser) to add the options to.
        cls: the dataclass; each field's ``metadata`` gives ``help`` and, optionally, ``option`` (its option
            name where not ``--field-name``), ``also`` (other current spellings) and ``aliases`` (older ones).
        unset (False): an option not given is None instead of the field's default (the default
            still shows in ``--help``), for commands that lay the options over a config file.
        skip (()): fields the command does not take (another config's field says the same).
    """
    group = parser.add_argument_group(cls.__name__)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = _plain(hints[f.name])
        if dataclasses.is_dataclass(kind) or f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        text = f.metadata.get("help", "") + ("" if default is None else f" (default {default or repr(default)})")
        names = spellings(f)
        value = None if unset else default
        if kind is bool:
            _add(group, names, dest=f.name, type=_bool, nargs="?", const=True, default=value, help=text)
            off = ["--no" + ("_" if "_" in n else "-") + n[2:] for n in names]
            _add(group, off, dest=f.name, action="store_false", default=argparse.SUPPRESS, help=f"turn off {names[0]}")
        elif kind is tuple:
            _add(group, names, dest=f.name, nargs="*", default=value, help=f"{text}; comma separated")
        else:
            _add(group, names, dest=f.name, type=kind, default=value, help=text)


MODEL_HELP = {
    "demo": "Hugging Face id or model folder; demo = the offline demo model (synthetic scenes), ucm = the shipped "
    "real-photo model (default: demo)",
    "auto": "Hugging Face id or model folder; demo = the offline demo model (synthetic scenes), ucm = the shipped "
    "real-photo model; auto (default) = demo for the demo dataset's own images, ucm for any other photo",
}


def add_model_arguments(
    parser: argparse.ArgumentParser, device_help: str = "", default: str = "demo", adapter_help: str = ""
) -> None:
    """``--model``, ``--adapter``, ``--device`` and ``--dtype``: the model a captioning command loads."""
    parser.add_argument("--model", default=default, help=MODEL_HELP[default])
    parser.add_argument("--adapter", help=adapter_help or "LoRA adapter folder to apply")
    parser.add_argument("--device", help=device_help or "cpu, cuda... (default: CUDA when available)")
    parser.add_argument("--dtype", help="bf16, fp16 or fp32 (default: bf16 on CUDA, fp32 on CPU)")


def spellings(f: dataclasses.Field) -> list[str]:
    """The option strings of field ``f``: ``--field-name`` first (or ``metadata["option"]``: a name shared with other
    commands, e.g. ``--image-bands``), then ``--field_name``, the field's other current spellings
    (``metadata["also"]``, e.g. ``--embedder``: the sentence embedder of whichever command) and its older aliases."""
    names = [f.metadata.get("option") or "--" + f.name.replace("_", "-")]
    if "_" in f.name:
        names.append("--" + f.name)
    names += [a for a in f.metadata.get("also", []) if a not in names]
    return names + [a for a in f.metadata.get("aliases", []) if a not in names]


def dataclass_from_args(cls, args: argparse.Namespace, **values):
    """An instance of ``cls`` from the parsed options of its fields (``values`` override them)."""
    hints = typing.get_type_hints(cls)
    found = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    for name, value in found.items():
        if _plain(hints[name]) is tuple and value is not None:
            found[name] = tuple(split_list(value))
    return cls(**{**found, **values})


def alias_epilog(*classes) -> str:
    """A line for the end of ``--help`` naming the older spellings the fields of ``classes`` still accept."""
    pairs = []
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            switch = "--no-" if _plain(hints[f.name]) is bool else "--"  # a switch's alias is used to turn it off
            pairs += [f"{switch}{a[2:]} ({switch}{spellings(f)[0][2:]})" for a in f.metadata.get("aliases", [])]
    return f"Older spellings, deprecated but still accepted: {', '.join(pairs)}." if pairs else ""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, without breaking an option name at its hyphens."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        return textwrap.fill(
            " ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )


def _add(group, names: list[str], **options) -> None:
    """``names[0]`` as listed; the other spellings as hidden options with the same destination."""
    group.add_argument(names[0], **options)
    for alias in names[1:]:
        group.add_argument(alias, **{**options, "help": argparse.SUPPRESS, "default": argparse.SUPPRESS})


def _plain(hint):
    """``int`` for ``int | None``, ``tuple`` for ``tuple[str, ...]``: the type an option converts to."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.get_origin(hint) or hint


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "y", "on"):
        return True
    if value in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
