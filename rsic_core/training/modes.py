"""What a run trains and what it keeps: LoRA adapters or the whole model, and the model it starts from.

``train_mode="lora"`` wraps the family's LoRA targets (:func:`rsic_core.training.lora.apply_lora`)
and the run saves ``adapter/``. ``train_mode="full"`` trains every parameter outside the family's
``frozen_towers`` (PureT leaves its Swin backbone frozen; the other families freeze nothing), without
peft, with weights in fp32 (the Trainer's bf16/fp16 autocast does the mixed precision), and the run
saves the whole model, processor included, to ``model/`` (``rsic evaluate --model RUN/model``).

A run may start from a training run instead of a model folder (``--model RUN``, e.g. SCST after a
cross-entropy run): from its ``model/`` when it saved one, else from its base model with its
adapter merged in. A LoRA run started from a merged adapter (or on pruned layers) saves ``model/``
too, the merged result, since its adapter fits no model folder on disk.

Example::

    model, report = prepare_model(captioner.model, captioner.family, config)
    report["trainable"], report["share"]          # as lora.json records them for either mode
"""

from __future__ import annotations

from pathlib import Path

from rsic_core.options import split_list
from rsic_core.runs.layout import RunKind, RunLayout


def start_model(model: str) -> tuple[str, str | None]:
    """The model folder (or hub id) and adapter a run on ``model`` starts from.

    Args:
        model: a model folder, a hub id, "demo", or a training run folder.

    Raises:
        ValueError: ``model`` is a training run that has no trained weights yet.
    """
    folder = Path(str(model)).expanduser()
    layout = RunLayout(folder)
    if not folder.is_dir() or layout.kind != RunKind.TRAINING:
        return str(model), None
    config = layout.read_config()
    if config.get("merged_model") and Path(config["merged_model"]).is_dir():
        return str(config["merged_model"]), None
    if config.get("adapter") and Path(config["adapter"]).is_dir():
        base, adapter = start_model(config.get("model") or "demo")
        if adapter is not None:
            raise ValueError(
                f"{folder}: its adapter was trained on the merged weights of {config.get('model')}, which this "
                "run did not save; start from that run instead"
            )
        return base, str(config["adapter"])
    state = layout.read_status().get("state", "unknown")
    raise ValueError(
        f"{folder}: this training run ({state}) has saved no adapter or model yet; start from a finished run, "
        "or from a model folder"
    )


def load_start(config):
    """The captioner a run trains: ``config.model`` (see :func:`start_model`), in the run's dtype and device."""
    from rsic_core.models.registry import load_captioner

    model, adapter = start_model(config.model)
    return load_captioner(model, adapter=adapter, device=config.device_name, dtype=config.weights_dtype)


def prepare_model(model, family, config) -> tuple[object, dict]:
    """The model to hand to the Trainer, and the report lora.json keeps (``mode``, ``trainable``, ``total``, ``share``).

    Raises:
        ValueError: LoRA targets that wrap nothing (see :func:`~rsic_core.training.lora.apply_lora`), or a
            frozen tower the family does not have.
    """
    if config.train_mode == "full":
        return model, freeze_towers(model, family)
    from rsic_core.training.lora import apply_lora

    model, report = apply_lora(
        model,
        family,
        config.lora_r,
        config.lora_alpha,
        config.lora_dropout,
        config.lora_targets,
        tuple(split_list(config.lora_require_towers)),
    )
    return model, {"mode": "lora", **report}


def freeze_towers(model, family) -> dict:
    """Make every parameter trainable except those of the towers the family leaves frozen for this model; returns the report.

    The frozen towers are ``family.frozen_towers_of(model.config)``: the family's recipe (PureT's backbone, BITA's CLIP and
    OPT), unless the model's config says otherwise (a tiny BITA built from scratch trains its towers).

    Returns:
        ``mode`` "full", ``frozen`` (towers), ``trainable_per_tower`` (tower -> parameters),
        ``trainable``, ``total`` and ``share``.
    """
    frozen = family.frozen_towers_of(model.config)
    unknown = [t for t in frozen if t not in family.towers]
    if unknown:
        raise ValueError(f"{family.title}: frozen tower(s) {', '.join(unknown)} are not towers of this family")
    per_tower: dict[str, int] = {}
    for name, parameter in model.named_parameters():
        tower = family.tower_of(name)
        parameter.requires_grad = tower not in frozen
        if parameter.requires_grad:
            per_tower[tower] = per_tower.get(tower, 0) + parameter.numel()
    trainable = sum(per_tower.values())
    if not trainable:
        raise ValueError(f"full training of this {family.title} model would train nothing: every tower is frozen")
    total = sum(p.numel() for p in model.parameters())
    return {
        "mode": "full",
        "frozen": list(frozen),
        "trainable_per_tower": per_tower,
        "trainable": trainable,
        "total": total,
        "share": trainable / total if total else 0.0,
    }


def save_model_folder(model, processor, folder: Path) -> Path:
    """The whole model (a peft model merged first) and its processor, loadable by ``load_captioner``."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return folder


def load_checkpoint_weights(model, checkpoint: str | Path, train_mode: str) -> None:
    """The trained weights of a Trainer checkpoint into ``model`` (an adapter, or the whole model).

    A whole model is read back with its class's ``from_pretrained``: ``save_pretrained`` writes some
    models' keys in their original checkpoint layout (PaliGemma's ``language_model.model.*``), which
    a plain ``load_state_dict`` (what the Trainer's resume does) silently matches to nothing.
    """
    if train_mode == "lora":
        from peft.utils import load_peft_weights, set_peft_model_state_dict

        set_peft_model_state_dict(model, load_peft_weights(str(checkpoint), device="cpu"))
        return
    import torch

    dtype = next(model.parameters()).dtype
    loaded = type(model).from_pretrained(str(checkpoint), dtype=dtype, device_map="cpu")
    with torch.no_grad():
        model.load_state_dict(loaded.state_dict(), strict=True)


def full_model_trainer(trainer_class: type) -> type:
    """``trainer_class`` resuming a full run's checkpoints through :func:`load_checkpoint_weights`."""

    class FullModelTrainer(trainer_class):
        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            load_checkpoint_weights(model if model is not None else self.model, resume_from_checkpoint, "full")

    FullModelTrainer.__name__ = f"FullModel{trainer_class.__name__}"
    return FullModelTrainer
