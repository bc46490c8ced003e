"""Option values every layer reads the same way: comma-separated lists.

    split_list("bleu, cider,")    # ["bleu", "cider"]
    split_list(["2,4", "8"])      # ["2", "4", "8"]  (a list from YAML or nargs, items may hold commas)

Config fields that hold several values (``lora_require_towers``, ``val_metrics``, ``report_to``, the
experiment grids, ``rsic evaluate --metrics``...) are written as one comma-separated string on
the command line and in the app, and parsed here only.
"""

from __future__ import annotations

from collections.abc import Iterable


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
