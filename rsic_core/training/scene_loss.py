"""An auxiliary scene-classification loss on the image tower, for towers trained from scratch.

    rsic train --train-mode full --scene-loss-weight 1.0 ...     # TrainConfig.scene_loss_weight

A caption loss teaches an image tower built from scratch its scenes slowly: of a caption's ten-odd
tokens one or two name the scene, and on UCM-captions (1,680 training photos) a ResNet tower trained
by captions alone separated the 21 classes of unseen photos no better than 47 % (a linear probe on its
pooled features) while it fit the training photos to 90 %. Classifying the scene is the classic
remedy of this field (multi-task captioning with a scene label): a linear head on the tower's
mean-pooled output predicts each training image's class, and ``weight`` times its cross-entropy is
added to the caption loss. The head exists only in the Trainer (its parameters are an extra optimizer
group): the saved model is the captioner alone, and a resumed run starts a new head.

transformers' Trainer has no auxiliary-head hook; :func:`scene_loss_trainer` subclasses the run's
Trainer class (the way :func:`rsic_core.training.losses.caption_trainer` does for the label window).
"""

from __future__ import annotations

from collections.abc import Sequence

SCENE_LABELS = "scene_labels"  # the batch key of the class indices (left out of the model's inputs)


def scene_classes(records: Sequence, split: str) -> list[str]:
    """The sorted classes of the training records; every record must have one.

    Raises:
        ValueError: a record has no class (the dataset has no labels to classify).
    """
    unlabelled = [r for r in records if not r.label]
    if unlabelled:
        raise ValueError(
            f"scene_loss_weight needs a class for every training image, but {len(unlabelled)} of {len(records)} "
            f"images of split {split!r} have none (e.g. {unlabelled[0].image_id}); set --scene-loss-weight 0"
        )
    return sorted({r.label for r in records})


def scene_targets(records: Sequence, pairs: list[dict], config) -> tuple[list[str], list[dict]]:
    """The classes and the pairs with their image's class index (``scene``); ``([], pairs)`` when the loss is off."""
    if not config.scene_loss_weight:
        return [], pairs
    classes = scene_classes(records, config.train_split)
    index, label = {c: i for i, c in enumerate(classes)}, {r.image_id: r.label for r in records}
    return classes, [{**p, "scene": index[label[p["image_id"]]]} for p in pairs]


def tower_output_pool(output):
    """The mean over positions of a tower's output: ``[B, C, H, W]`` or ``[B, N, C]`` -> ``[B, C]``."""
    hidden = output.last_hidden_state if hasattr(output, "last_hidden_state") else output
    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return hidden.mean(dim=(2, 3)) if hidden.dim() == 4 else hidden.mean(dim=1)


def image_tower(model, family):
    """The image tower module of ``model`` (a peft model too): the family's ``backbone`` or ``vision`` tower."""
    prefix = next((family.towers[t] for t in ("backbone", "vision") if t in family.towers), None)
    found = [m for n, m in model.named_modules() if prefix and (n == prefix or n.endswith("." + prefix))]
    if not found:
        raise ValueError(f"scene_loss_weight: {family.title} has no image tower this loss can read")
    return found[0]  # named_modules lists the outermost match first


def tower_width(tower, pixel_values) -> int:
    """Channels of ``tower``'s pooled output, from one forward of real ``pixel_values``."""
    import torch

    captured = []
    handle = tower.register_forward_hook(lambda _m, _i, output: captured.append(output))
    was = tower.training
    try:
        tower.eval()
        with torch.no_grad():
            tower(pixel_values.to(next(tower.parameters()).device, next(tower.parameters()).dtype))
    finally:
        tower.train(was)
        handle.remove()
    return int(tower_output_pool(captured[0]).shape[-1])


def scene_loss_trainer(trainer_class: type, captioner, batch: dict, classes: Sequence[str], config) -> type:
    """``trainer_class`` adding ``scene_loss_weight`` x cross-entropy of a linear scene head on the image tower.

    Args:
        trainer_class: the run's Trainer class (cross-entropy objective).
        captioner: the model being trained (its image tower's output is read through a forward hook).
        batch: one collated batch (its pixels tell the tower's width).
        classes: the class names, in the order of the batch's ``scene_labels`` indices.
        config: the run's config (``scene_loss_weight``).
    """
    tower = image_tower(captioner.model, captioner.family)
    width, weight = tower_width(tower, batch["pixel_values"]), config.scene_loss_weight
    from torch import nn

    class SceneLossTrainer(trainer_class):
        """The caption loss plus the scene head's cross-entropy; the head is trained with the model."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pooled = None
            tower.register_forward_hook(lambda _module, _inputs, output: setattr(self, "_pooled", output))
            self.scene_head = nn.Linear(width, len(classes)).to(next(self.model.parameters()).device)

        def create_optimizer(self, model=None):
            optimizer = super().create_optimizer(model)
            if not any(g.get("scene_head") for g in optimizer.param_groups):
                group = {"params": list(self.scene_head.parameters()), "weight_decay": 0.0, "scene_head": True}
                optimizer.add_param_group(group)
            return optimizer

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop(SCENE_LABELS)
            result = super().compute_loss(model, inputs, True, num_items_in_batch)
            loss, outputs = result
            logits = self.scene_head(tower_output_pool(self._pooled).float())
            loss = loss + weight * nn.functional.cross_entropy(logits, labels.to(logits.device))
            return (loss, outputs) if return_outputs else loss

    SceneLossTrainer.__name__ = f"SceneLoss{trainer_class.__name__}"
    return SceneLossTrainer
