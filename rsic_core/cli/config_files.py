"""Config files of the ``rsic`` commands: read one, and check each value as its option would take its text.

    data = read_config_file(Path("eval.yaml"))                        # a mapping, or one sentence naming the line
    value = config_value(file, "gen_num_beams", action, 2.5, int)     # ValueError: ... must be a whole number (got 2.5)

argparse converts and checks only what comes from the command line; a value laid under it with
``set_defaults`` would reach the command as the file spelled it (``batch_size: true`` as 1, ``gen_num_beams:
2.5`` as a float that crashes in generate). :func:`config_value` gives every value the option's own
conversion and choices. Used by :class:`rsic_core.cli.arguments.OptionParser`.
"""

from __future__ import annotations

import argparse
import json
import typing
from pathlib import Path
from types import UnionType

from transformers.hf_argparser import string_to_bool

from rsic_core.paths import check_regular

_KINDS = {"int": "a whole number", "float": "a number", "switch_value": "true or false"}
# A switch's values: HfArgumentParser's string_to_bool words, and on/off.
SWITCH_WORDS = frozenset(("true", "false", "yes", "no", "y", "n", "t", "f", "1", "0", "on", "off"))


def read_config_file(file: Path) -> dict:
    """The values of a JSON or YAML config file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a pipe, device or folder; not valid JSON/YAML (the message names its line) or not a mapping.
    """
    check_regular(file)  # a FIFO or /dev/zero would block or fill memory
    if file.is_dir():
        raise ValueError(f"{file}: a folder, not a config file; give a JSON or YAML file")
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such config file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{file}: not a UTF-8 text file") from None
    if file.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise ValueError(f"{file}: not valid YAML{where} ({problem})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{file}: not valid JSON at line {e.lineno} ({e.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a mapping of field names to values")
    return data


def switch_value(text: str) -> bool:
    """A switch's value: HfArgumentParser's ``string_to_bool`` words, and ``on``/``off``.

    Raises:
        argparse.ArgumentTypeError: any other word (argparse prints it as a usage error).
    """
    value = str(text).strip().lower()
    if value in ("on", "off"):
        return value == "on"
    try:
        return string_to_bool(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected true/false, yes/no, on/off or 1/0 (got {text!r})") from None


def config_value(file, key, action: argparse.Action, value, hint):
    """``value`` from a config file as the option ``action`` would take its text; one sentence naming file and key.

    Lists and mappings stay as they are where the field's type takes them (``report_to: [none]``,
    ``lr_scheduler_kwargs: {num_cycles: 2}``); a list for a text field is one comma-separated value
    (``val_metrics: [bleu, cider]``); None only where the option may be None.

    Raises:
        ValueError: a value the option does not take.
    """
    union = isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union
    takes = {typing.get_origin(a) or a for a in (typing.get_args(hint) if union else (hint,))}
    if value is None:
        if type(None) in takes or action.default is None:
            return None
        raise ValueError(f"{file}: {key} needs a value (the file gives null)")
    if isinstance(value, list) and takes & {list, tuple} or isinstance(value, dict) and dict in takes:
        return value
    if isinstance(value, list) and str in takes and not any(isinstance(v, (list, dict)) for v in value):
        value = ",".join(map(str, value))  # the comma fields (grids, metric lists) take a list too
    if isinstance(value, (list, dict)):
        raise ValueError(f"{file}: {key} takes one value (got {_shown(value)})")
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    convert = switch_value if isinstance(action, argparse._StoreConstAction) else action.type
    try:
        converted = convert(text) if callable(convert) else text
    except (TypeError, ValueError, KeyError, argparse.ArgumentTypeError):
        kind = getattr(convert, "__name__", "value")
        raise ValueError(f"{file}: {key} must be {_KINDS.get(kind, 'a valid ' + kind)} (got {_shown(value)})") from None
    if isinstance(action, argparse._StoreConstAction):  # plain on-switches such as --allow-missing: the const when on
        return action.const if converted else (not action.const if isinstance(action.const, bool) else action.default)
    if action.choices is not None and converted not in action.choices:
        raise ValueError(f"{file}: {key} must be one of {', '.join(map(str, action.choices))} (got {_shown(value)})")
    return converted


def _shown(value) -> str:
    """A config value as the file spells it: true, null, "abc", [1, 2]."""
    return json.dumps(value, default=str)
