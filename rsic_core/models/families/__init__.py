"""One module per model family; each imports ``rsic_core.models.base`` and nothing else of ``models``.

Only :mod:`rsic_core.models.registry` imports these modules.
"""
