"""Option values every layer reads the same way: comma-separated lists, and numbers that are numbers.

    split_list("bleu, cider,")    # ["bleu", "cider"]
    split_list(["2,4", "8"])      # ["2", "4", "8"]  (a list from YAML or nargs, items may hold commas)

Config fields that hold several values (``lora_require_towers``, ``val_metrics``, ``report_to``, the
experiment grids, ``rsic evaluate --metrics``...) are written as one comma-separated string on
the command line and in the app, and parsed here only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import fields


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """The items of a comma-separated option, stripped, empty ones dropped.

    Args:
        value: ``"a,b"``, a list of such strings (each may hold commas), or None (no items).

    Returns:
        The items in order, e.g. ``["a", "b"]``.
    """
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def check_number_fields(config) -> None:
    """Refuse, in the dataclass ``config``, a number field holding a boolean or a non-finite float.

    A field counts as a number when its default is an ``int`` or ``float`` (not a ``bool``). A JSON or YAML
    ``true`` would otherwise pass as 1, and ``inf``/``nan`` pass every ``<`` and ``>`` check as ranges are written.

    Raises:
        ValueError: one sentence naming the field and the value.
    """
    for f in fields(config):
        value, default = getattr(config, f.name, None), f.default
        is_number = isinstance(default, (int, float)) and not isinstance(default, bool)
        if isinstance(value, bool) and is_number:
            kind = "a whole number" if isinstance(default, int) else "a number"
            raise ValueError(f"{f.name} must be {kind}, not {str(value).lower()} (a JSON/YAML true or false)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{f.name} must be a finite number (got {value})")
