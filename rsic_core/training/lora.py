"""LoRA adapters on a captioning model: target presets, and a check of what each tower got.

peft silently skips a tower whose module names do not match the target list (BLIP-2's vision
tower has a fused ``qkv``; ViT in transformers 5 has ``q_proj``); :func:`apply_lora` therefore
counts the wrapped modules per tower (the family's ``towers``: tower -> module prefix) and fails with one sentence when a target name matches
nothing at all or a tower that must be adapted (the language model, by default) got nothing.

Example::

    model, report = apply_lora(captioner.model, captioner.family, r=8, alpha=16, targets="default")
    report["wrapped"]      # {"vision": 8, "projector": 0, "language": 8}
"""

from __future__ import annotations

import re
from typing import Any

from rsic_core.options import split_list


def resolve_targets(family, spec: str | list | tuple | None) -> str | list[str]:
    """peft ``target_modules`` for ``spec``.

    Args:
        family: the model's :class:`~rsic_core.models.base.Family`.
        spec: "default" (the family's preset, e.g. q_proj,v_proj for PaliGemma), a preset name of
            the family ("all-linear", "language-only"), a comma list of module names, or a list.

    Raises:
        ValueError: the spec is empty.
    """
    if isinstance(spec, (list, tuple)):
        names = [str(s).strip() for s in spec if str(s).strip()]
    else:
        spec = (spec or "default").strip()
        if spec == "default":
            targets = family.lora_targets
            return targets if isinstance(targets, str) else list(targets)
        if spec in family.lora_presets:
            preset = family.lora_presets[spec]
            return list(preset) if isinstance(preset, (list, tuple)) else preset
        if spec == "all-linear":
            return spec
        names = split_list(spec)
    if not names:
        raise ValueError(
            "lora_targets is empty; give a preset (default, all-linear) or module names like q_proj,v_proj"
        )
    return names


def apply_lora(
    model,
    family,
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.05,
    targets: str | list | None = "default",
    require_towers: tuple[str, ...] = ("language",),
) -> tuple[Any, dict]:
    """Wrap ``model`` with LoRA adapters and report what was wrapped.

    Args:
        model: a transformers model of ``family``.
        family: its :class:`~rsic_core.models.base.Family`.
        r (8) / alpha (16) / dropout (0.05): LoRA rank, scaling numerator and dropout.
        targets ("default"): see :func:`resolve_targets`.
        require_towers (("language",)): towers that must receive at least one adapter.

    Returns:
        The peft model and a report: ``targets``, ``wrapped`` (tower -> modules wrapped),
        ``trainable``, ``total`` and ``share`` (trainable / total parameters).

    Raises:
        ValueError: a target name matches no module, or a required tower got no adapter.
    """
    from peft import LoraConfig, get_peft_model
    from peft.tuners.lora import LoraLayer

    from rsic_core.models.loading import quiet_peft

    if r < 1:
        raise ValueError(f"lora_r must be at least 1 (got {r})")
    target_modules = resolve_targets(family, targets)
    if isinstance(target_modules, list):
        _check_names_exist(model, family, target_modules)
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules, bias="none")
    with quiet_peft():
        peft_model = get_peft_model(model, config)
    wrapped = {tower: 0 for tower in family.towers}
    for name, module in peft_model.named_modules():
        if isinstance(module, LoraLayer):
            tower = family.tower_of(name)
            wrapped[tower] = wrapped.get(tower, 0) + 1
    missing = [t for t in require_towers if t and not wrapped.get(t)]
    if missing:
        raise ValueError(
            f"LoRA targets {target_modules!r} wrapped nothing in the {', '.join(missing)} tower(s) of this "
            f"{family.title} model (wrapped per tower: {wrapped}); choose modules of that tower, e.g. "
            f"{_linear_names(model, family, missing[0])}"
        )
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in peft_model.parameters())
    report = {
        "targets": target_modules,
        "wrapped": wrapped,
        "trainable": trainable,
        "total": total,
        "share": trainable / total if total else 0.0,
    }
    return peft_model, report


def _check_names_exist(model, family, names: list[str]) -> None:
    suffixes = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules() if n}
    full = [n for n, _ in model.named_modules() if n]
    unknown = [
        t for t in names if t not in suffixes and not any(re.fullmatch(t, n) or n.endswith("." + t) for n in full)
    ]
    if unknown:
        raise ValueError(
            f"LoRA target(s) {', '.join(unknown)} match no module of this {family.title} model; "
            f"its linear layers are named {_linear_names(model, family)}"
        )


def _linear_names(model, family, tower: str | None = None) -> str:
    import torch

    names = sorted(
        {
            n.rsplit(".", 1)[-1]
            for n, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and (tower is None or family.tower_of(n) == tower)
        }
    )
    return ", ".join(names) or "(none)"
