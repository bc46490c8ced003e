"""One option parser for every ``rsic`` command: transformers' ``HfArgumentParser`` over the config dataclasses.

    parser = OptionParser(prog="rsic caption")
    parser.add_dataclass(CaptionConfig)                   # --gen-num-beams, --gen-max-new-tokens, ...
    config = dataclass_from_args(CaptionConfig, parser.parse_args())

Every ``rsic`` parser and sub-command parser is an :class:`OptionParser` (``rsic train`` and ``rsic
experiment`` build theirs over ``TrainConfig``), so ``--help``, config files and older spellings behave the
same everywhere:

- A field ``gen_num_beams`` is the option ``--gen-num-beams``, listed in ``--help`` with the field's help
  text and default; ``--gen_num_beams`` works too, unlisted. ``metadata["option"]`` names a field's option
  where it is not ``--field-name`` (``--image-bands`` on a scene), ``metadata["also"]`` other current
  spellings, listed beside it (``--embedder``), and ``metadata["aliases"]`` older ones: accepted with a
  deprecation warning and named at the end of ``--help``.
- How a value converts (numbers, choices, ``Literal``/``Enum``, ``str | None``, switches) is
  HfArgumentParser's. A switch ``eval_efficiency`` is ``--eval-efficiency [true|false|on|off]`` and
  ``--no-eval-efficiency``; it takes a value only when one of those words follows it (``rsic score --spice RUN``
  leaves RUN to the command). A tuple field (which HfArgumentParser does not take) is one comma-separated value
  (:func:`rsic_core.options.split_list`).
- ``--config FILE`` (JSON or YAML) gives option values keyed by field name, each checked as its option's text
  would be (:mod:`rsic_core.cli.config_files`); options on the command line override it, and a key of a
  current name overrides one of an older name. :func:`add_config_option` adds it to every command of ``rsic``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import sys
import textwrap
import types
import typing
from pathlib import Path

from transformers import HfArgumentParser
from transformers.hf_argparser import string_to_bool

from rsic_core.cli.config_files import SWITCH_WORDS, config_value, read_config_file, switch_value
from rsic_core.options import split_list

_OWN_METADATA = ("option", "also", "aliases")  # the spellings, which this module adds itself


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, without breaking an option name at its hyphens."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        return textwrap.fill(
            " ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )


class OptionParser(HfArgumentParser):
    """``HfArgumentParser`` with the project's spellings, one help layout and config files (see the module)."""

    def __init__(self, dataclass_types=None, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        self._skip: frozenset[str] = frozenset()
        self.deprecated: list[tuple[str, str]] = []  # (older spelling, current one), for the end of --help
        self.switches: set[str] = set()  # the option strings of switches (see parse_known_args)
        self.older: set[str] = set()  # the older spellings (their keys in a config file lose to current ones)
        self.warned: set[str] = set()  # older spellings already warned of (a command is parsed twice with --config)
        self.hints: dict[str, typing.Any] = {}  # field name -> its type, to check config-file values
        self.no_option: dict[str, dataclasses.Field] = {}  # fields without an option (they hold a dataclass)
        super().__init__(dataclass_types, **kwargs)

    def add_dataclass(self, cls, skip: tuple = ()) -> None:
        """One option per field of the dataclass ``cls``, in a group named after it.

        Args:
            cls: the dataclass; a field holding a dataclass is left out.
            skip (()): fields the command does not take (another config's field says the same).
        """
        self._skip = frozenset(skip)
        try:
            self._add_dataclass_arguments(cls)
        finally:
            self._skip = frozenset()
        self.dataclass_types.append(cls)

    def _add_dataclass_arguments(self, dtype) -> None:
        # HfArgumentParser's, with a group per dataclass and the fields a command leaves out skipped.
        group = self.add_argument_group(dtype.__name__)
        hints = typing.get_type_hints(dtype)
        for f in dataclasses.fields(dtype):
            if not f.init or f.name in self._skip:
                continue
            if dataclasses.is_dataclass(_plain(hints[f.name])):  # no option, only its default (for HF's parse)
                self.set_defaults(**{f.name: _default(f)})
                self.no_option[f.name] = f
                continue
            f.type = self.hints[f.name] = hints[f.name]
            self._parse_dataclass_field(group, f)

    def _parse_dataclass_field(self, parser, field: dataclasses.Field) -> None:
        """The field's options: HfArgumentParser's conversion, the project's spellings (see the module)."""
        listed, hidden, older = spellings(field)
        if _plain(field.type) is tuple:  # one comma-separated value (several would swallow a command's arguments)
            options = {"default": ",".join(map(str, _default(field)))}
        else:
            plain = copy.copy(field)
            plain.metadata = types.MappingProxyType({k: v for k, v in field.metadata.items() if k not in _OWN_METADATA})
            recorder = _Recorder()
            HfArgumentParser._parse_dataclass_field(recorder, plain)
            options = recorder.calls[0]  # the field itself; HfArgumentParser's "--no_" complement is redone below
        switch = options.get("type") is string_to_bool
        if switch:  # --name alone turns it on, also where the field may be None; on/off as well as true/false
            options |= {"type": switch_value, "nargs": "?", "const": True}
            self.switches |= {*listed, *hidden, *older}
        default = options.get("default") if _plain(field.type) is tuple else _default(field)
        shown = "" if default in (None, "", dataclasses.MISSING) else f" (default {default or repr(default)})"
        options |= {"dest": field.name, "help": field.metadata.get("help", "") + shown.replace("%", "%%")}
        parser.add_argument(*listed, **options)
        quiet = {**options, "help": argparse.SUPPRESS, "default": argparse.SUPPRESS}
        quiet.pop("required", None)
        for name in hidden:
            parser.add_argument(name, **quiet)
        for name in older:
            parser.add_argument(name, action=_warns(argparse._StoreAction, listed[0]), **quiet)
        self.older |= set(older)
        if not switch:
            self.deprecated += [(name, listed[0]) for name in older if "_" not in name[2:]]
            return
        # A switch: --no-NAME turns it off, for every spelling (a switch's old name is used to turn it off).
        off = {"dest": field.name, "default": argparse.SUPPRESS}
        parser.add_argument(*map(_no, listed), action="store_false", help=f"turn off {listed[0]}", **off)
        for name in hidden:
            parser.add_argument(_no(name), action="store_false", help=argparse.SUPPRESS, **off)
        for name in older:
            action = _warns(argparse._StoreFalseAction, _no(listed[0]))
            parser.add_argument(_no(name), action=action, help=argparse.SUPPRESS, **off)
            self.deprecated += [(_no(name), _no(listed[0]))] if "_" not in name[2:] else []

    def parse_known_args(self, args=None, namespace=None):
        # A switch takes a value only when one follows (--cleaning off); before anything else it stands alone, so that
        # `rsic score --spice RUN` leaves RUN to the command (argparse would give it to the switch's optional value).
        if args is not None and self.switches:
            args = [
                f"{a}=true"
                if a in self.switches and (i + 1 == len(args) or args[i + 1].lower() not in SWITCH_WORDS)
                else a
                for i, a in enumerate(args)
            ]
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        if self.deprecated and not self.epilog:
            pairs = ", ".join(f"{old} ({new})" for old, new in self.deprecated)
            self.epilog = f"Older spellings, deprecated but still accepted: {pairs}."
        with _shown_required(self):
            return super().format_help()

    def format_usage(self) -> str:
        with _shown_required(self):
            return super().format_usage()

    def config_values(self, file: str | Path, renames=None) -> dict:
        """The option values of a JSON or YAML config file, by destination, checked (for :meth:`set_defaults`).

        Keys are field names (``gen_num_beams``; dashes, the other current spellings and the older ones
        work too, ``no_X`` does not). ``renames`` maps a dict of keys of older files to current ones.
        Each value is converted as the option's text would be (argparse converts only the command line).

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file cannot be read as a mapping (the message names its line), holds a key
                that is no option of this command, or a value the option does not take (file and key named).
        """
        data = read_config_file(Path(file))
        data = renames(data) if renames else data
        options = {}
        for action in self._actions:
            if action.dest in ("help", "config", argparse.SUPPRESS) or not action.option_strings:
                continue
            if isinstance(action, argparse._StoreFalseAction):
                continue
            for name in action.option_strings:
                options[name.lstrip("-").replace("-", "_")] = action
        keys = {str(k): str(k).replace("-", "_") for k in data}
        unknown = sorted(k for k, name in keys.items() if name not in options and name not in self.no_option)
        if unknown:
            raise ValueError(f"{file}: unknown field(s) {', '.join(unknown)}; `{self.prog} --help` lists the fields")
        older = {o.lstrip("-").replace("-", "_") for o in self.older}
        values, given = {}, {}  # given: destination -> the current-name key that set it
        # Older names first, so that a current name in the same file wins over them.
        for key, value in sorted(data.items(), key=lambda item: keys[str(item[0])] not in older):
            name = keys[str(key)]
            if name in self.no_option:  # a field holding a dataclass (the Trainer's parallelism_config): null only
                if value is not None:
                    raise ValueError(f"{file}: {key} is not an option; give its fields at the top level of the file")
                values[name] = None
                continue
            action = options[name]
            if name in older:
                print(f"rsic: warning: {file}: {key} is an older name; use {action.dest}", file=sys.stderr)
            elif action.dest in given:
                raise ValueError(f"{file}: {action.dest} is given twice (as {given[action.dest]} and {key})")
            else:
                given[action.dest] = key
            values[action.dest] = config_value(file, key, action, value, self.hints.get(action.dest))
        return values

    def parse_with_config(self, argv: list[str], renames=None) -> list:
        """The dataclasses of this parser from ``--config FILE`` and the options in ``argv`` (which override it).

        Raises:
            FileNotFoundError, ValueError: as :meth:`config_values`; an option that is not a field.
        """
        if not any(a.dest == "config" for a in self._actions):
            add_config_option(self)
        known, _ = self.parse_known_args(argv)
        if known.config:
            self.set_defaults(**self.config_values(known.config, renames))
        try:
            *configs, remaining = self.parse_args_into_dataclasses(
                args=argv, return_remaining_strings=True, look_for_args_file=False
            )
        except (TypeError, ImportError) as e:  # what TrainingArguments raises besides ValueError, e.g. deepspeed absent
            raise ValueError(f"{self.prog}: {' '.join(str(e).split())}") from None
        configs = [c for c in configs if not isinstance(c, argparse.Namespace)]  # --config itself
        remaining = [r for r in remaining if r]
        if remaining:
            raise ValueError(f"unknown option(s) {' '.join(remaining)}; `{self.prog} --help` lists the fields")
        return configs


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: option values from a JSON or YAML file (see :meth:`OptionParser.config_values`).

    The command's required options may come from the file too: they are checked by :func:`with_config_file`.
    """
    parser.add_argument(
        "--config",
        help="JSON or YAML file of option values keyed by their names with underscores (as --help lists them); "
        "options given here override it",
    )
    parser.required_options = [a for a in parser._actions if a.required and a.option_strings]
    for action in parser.required_options:
        action.required = False


def with_config_file(parser: argparse.ArgumentParser, args: argparse.Namespace, argv):
    """``args`` again with the command's ``--config`` file laid under the options given; its required options checked.

    Raises:
        SystemExit: a required option is neither given nor in the file (argparse's usage message).
    """
    command = getattr(args, "options_parser", None)
    if command is None:
        return args
    if getattr(args, "config", None):
        command.set_defaults(**command.config_values(args.config))
        args = parser.parse_args(argv)
    missing = [a.option_strings[0] for a in command.required_options if getattr(args, a.dest, None) is None]
    if missing:
        command.error(f"the following arguments are required: {', '.join(missing)}")
    return args


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


def spellings(f: dataclasses.Field) -> tuple[list[str], list[str], list[str]]:
    """The option strings of field ``f``: listed (``--field-name`` or ``metadata["option"]``, then
    ``metadata["also"]``), unlisted (``--field_name``, and the listed ones with underscores) and older ones
    (``metadata["aliases"]``)."""
    listed = [f.metadata.get("option") or "--" + f.name.replace("_", "-")]
    listed += [a for a in f.metadata.get("also", []) if a not in listed]
    hidden = []
    for name in ["--" + f.name, *("--" + a[2:].replace("-", "_") for a in listed)]:
        if name not in listed + hidden and name != "--" + f.name.replace("_", "-"):
            hidden.append(name)
    older = [a for a in f.metadata.get("aliases", []) if a not in listed + hidden]
    return listed, hidden, older


def dataclass_from_args(cls, args: argparse.Namespace, **values):
    """An instance of ``cls`` from the parsed options of its fields (``values`` override them)."""
    hints = typing.get_type_hints(cls)
    found = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    for name, value in found.items():
        if _plain(hints[name]) is tuple and value is not None:
            found[name] = tuple(split_list(value))
    return cls(**{**found, **values})


class _Recorder:
    """Stands in for a parser to keep what HfArgumentParser would add for a field (its first call: the field)."""

    def __init__(self):
        self.calls: list[dict] = []

    def add_argument(self, *names, **options):
        self.calls.append(options)


def _warns(action: type, current: str) -> type:
    """``action`` that first says on stderr that the spelling used is deprecated, and which one is current.

    Hand-written: argparse's ``deprecated=`` arrived in Python 3.13; the project runs on 3.11.
    """

    class Deprecated(action):
        def __call__(self, parser, namespace, values, option_string=None):
            warned = getattr(parser, "warned", set())
            if option_string not in warned:  # once, though a command with --config is parsed twice
                print(f"rsic: warning: {option_string} is deprecated; use {current}", file=sys.stderr)
                warned.add(option_string)
            super().__call__(parser, namespace, values, option_string)

    return Deprecated


@contextlib.contextmanager
def _shown_required(parser):
    """The options :func:`add_config_option` made optional (the file may give them) shown as required in help."""
    options = getattr(parser, "required_options", [])
    for action in options:
        action.required = True
    try:
        yield
    finally:
        for action in options:
            action.required = False


def _no(name: str) -> str:
    """``--no-eval-efficiency`` for ``--eval-efficiency``, ``--no_eval_efficiency`` for ``--eval_efficiency``."""
    return "--no" + ("_" if "_" in name else "-") + name[2:]


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING


def _plain(hint):
    """``int`` for ``int | None``, ``tuple`` for ``tuple[str, ...]``: the type an option converts to."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.get_origin(hint) or hint
