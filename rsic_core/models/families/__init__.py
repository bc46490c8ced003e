"""One module (or package) per model family: everything a family knows, from config detection to converters.

``blip`` (BLIP), ``blip2`` (BLIP-2), ``paligemma`` (PaliGemma and PaliGemma 2), ``puret`` (PureT: model,
processor, released-checkpoint converter) and ``bita`` (BITA: model, IFT, converter).

Of the rest of ``rsic_core`` a family imports only ``models.base`` (the :class:`~rsic_core.models.base.Family`
API), ``models.grounding`` (the heatmap of its attention), ``models.backbones`` (public configs of shared
backbones, OPT-2.7B) and, in a converter, ``models.checkpoints`` (reading released weights); never another
family (import-linter keeps both true: pyproject.toml). Only :mod:`rsic_core.models.registry` imports these modules.
"""
