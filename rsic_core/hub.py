"""Deprecated alias of :mod:`rsic_core.offline` (renamed: ``rsic_core.data.hub`` reads hub datasets; this asked
whether the hub answers). Kept for a while so that old imports work; it warns once."""

import warnings

from rsic_core.offline import hub_unreachable

warnings.warn(
    "rsic_core.hub is renamed rsic_core.offline (whether the Hugging Face hub can be reached); "
    "the old name will be removed",
    DeprecationWarning,
    stacklevel=2,
)
__all__ = ["hub_unreachable"]
