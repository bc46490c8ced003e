"""Layer pruning as in the BLIP-2 remote-sensing study: keep the first N layers of a tower.

The study cut BLIP-2's Q-Former and OPT decoder to their first layers before LoRA and compared
accuracy with speed and size. Here the same cut works on the bridge between vision and language
(the family's ``bridge_tower``: BLIP-2's Q-Former, BITA's Interactive Fourier Transformer) and on the
language model of every family (OPT, Gemma, BLIP's text decoder, PureT's decoder); the model's config is updated so that
``save_pretrained`` writes a model that loads back at the pruned size. Which layer lists may be cut
is the family's ``prunable`` (tower -> layer-list path and the configs that count its layers).

Example::

    kept = prune_layers(captioner.model, captioner.family, qformer_layers=6, lm_layers=16)
    kept   # {"qformer": (12, 6), "language": (32, 16)}   (before, after)
"""

from __future__ import annotations


def prune_layers(model, family, qformer_layers: int = 0, lm_layers: int = 0) -> dict[str, tuple[int, int]]:
    """Keep the first ``qformer_layers`` Q-Former layers and the first ``lm_layers`` language-model layers.

    Args:
        model: a transformers model of ``family`` (changed in place).
        family: its :class:`~rsic_core.models.base.Family`.
        qformer_layers (0): layers of the family's bridge tower to keep (0 = all; BLIP-2's Q-Former, BITA's IFT).
        lm_layers (0): language-model layers to keep (0 = all).

    Returns:
        Tower -> (layers before, layers after), for the towers that were cut.

    Raises:
        ValueError: a tower this family lacks, or a count outside 1..layers.
    """
    towers = family.prunable
    kept = {}
    for tower, keep, option in (
        (family.bridge_tower, qformer_layers, "prune_qformer_layers"),
        ("language", lm_layers, "prune_lm_layers"),
    ):
        if not keep:
            continue
        if tower not in towers:
            from rsic_core.models.registry import FAMILIES

            able = ", ".join(
                f.title
                for f in FAMILIES.values()
                if f.prunable.get(f.bridge_tower if option == "prune_qformer_layers" else "language")
            )
            raise ValueError(f"{family.title} has no {tower} tower to prune; {option} works on {able}")
        path, config_names = towers[tower]
        layers = model.get_submodule(path)
        if not 1 <= keep <= len(layers):
            raise ValueError(f"cannot keep {keep} {tower} layers: the model has {len(layers)}; choose 1..{len(layers)}")
        before = len(layers)
        del layers[keep:]
        for config in _configs(model, config_names):
            config.num_hidden_layers = keep
            if isinstance(getattr(config, "layer_types", None), list):
                config.layer_types = config.layer_types[:keep]
        kept[tower] = (before, keep)
    return kept


def _configs(model, names: tuple[str, ...]):
    """The config objects that describe a tower (the model's sub-config, "" = the model's own, and its sub-module's)."""
    seen = []
    for name in names:
        config = getattr(model.config, name, None) if name else model.config
        if config is not None and all(config is not c for c in seen):
            seen.append(config)
    for module in model.modules():
        config = getattr(module, "config", None)
        if module is not model and config is not None and type(config) in {type(c) for c in seen}:
            if all(config is not c for c in seen):
                seen.append(config)
    return seen
