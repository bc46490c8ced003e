"""The training losses and the Trainer class that computes them, for every family alike.

Cross-entropy (``objective="xe"``) is computed here, and the run's ``label_smoothing_factor`` (0:
plain cross-entropy) is the one knob it obeys: a model's own loss may smooth by itself (PureT's
``config.label_smoothing``, 0.1 as released; BLIP's ``text_config.label_smoothing``), and the
Trainer's ``LabelSmoother`` shifts labels only for model classes in the causal-LM mapping, which the
image-text models of this project are not in (it would score each position against its own token).
The loss is a ``compute_loss_func`` of the Trainer (so it receives ``num_items_in_batch`` and
gradient accumulation is normalised as for the model's own loss) over :func:`aligned` logits and
labels: labels are the input ids with prompt, image and pad tokens masked, and a decoder predicts
position ``t + 1`` from position ``t`` (an encoder-decoder config, ``is_encoder_decoder``, aligns
them as they are). The smoothed loss is ``(1 - eps) * NLL + eps * mean over the vocabulary of
-log p``, as the Trainer's ``LabelSmoother`` and ``torch.nn.functional.cross_entropy(label_smoothing=eps)``
compute it.

Example::

    trainer_class, extra = caption_trainer(config)          # Trainer subclass and its extra init kwargs
    trainer = trainer_class(model=model, args=config, **extra, ...)
"""

from __future__ import annotations

from rsic_core.models.base import IGNORE_INDEX


def labels_shifted(model) -> bool:
    """Whether ``model`` predicts label ``t + 1`` at position ``t`` (decoders), not ``t`` (encoder-decoders)."""
    config = getattr(model, "config", None)
    return not getattr(config, "is_encoder_decoder", False)


def aligned(logits, labels, shift: bool = True):
    """``(logits, labels)`` of the same length, each logit row facing the label it predicts.

    Logits longer than the labels (a model that returns logits for extra leading positions) are cut
    to the last ``labels.shape[1]`` positions first; ``shift`` drops the last logit and the first label.
    """
    if logits.shape[1] > labels.shape[1]:
        logits = logits[:, -labels.shape[1] :]
    if shift:
        logits, labels = logits[:, :-1], labels[:, 1:]
    return logits, labels.to(logits.device)


def smoothed_caption_loss(epsilon: float, shift: bool = True):
    """A Trainer ``compute_loss_func``: label-smoothed cross-entropy over the caption tokens.

    Args:
        epsilon: the smoothing factor (``label_smoothing_factor``).
        shift (True): see :func:`aligned`.

    Returns:
        ``loss(outputs, labels, num_items_in_batch=None)``: the summed loss divided by
        ``num_items_in_batch`` (the Trainer's count over the whole accumulated batch) or, without it,
        by this batch's caption tokens.
    """
    import torch.nn.functional as F

    def loss(outputs, labels, num_items_in_batch=None):
        logits, targets = aligned(outputs["logits"], labels, shift)
        total = F.cross_entropy(
            logits.float().flatten(0, 1),
            targets.flatten(),
            ignore_index=IGNORE_INDEX,
            label_smoothing=float(epsilon),
            reduction="sum",
        )
        count = (targets != IGNORE_INDEX).sum() if num_items_in_batch is None else num_items_in_batch
        if hasattr(count, "to"):
            count = count.to(total.device)
        return total / count

    return loss


def sequence_log_probs(logits, labels, shift: bool = True):
    """The log-probability of each row's labelled tokens, summed over the row (0 for a row without any)."""
    import torch

    logits, targets = aligned(logits, labels, shift)
    mask = targets != IGNORE_INDEX
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(dim=1)


def caption_window(inputs: dict) -> dict:
    """Model inputs that ask for logits only from the position before the first caption token on.

    With left padding every caption ends its row, so the last ``keep`` positions hold all labelled
    tokens (and the position predicting the first of them); labels are cut to the same window and
    the model's own shifted loss is unchanged.
    """
    labels = inputs["labels"]
    first = int((labels != IGNORE_INDEX).int().argmax(dim=1).min())
    keep = labels.shape[1] - first + 1
    return {**inputs, "labels": labels[:, -keep:], "logits_to_keep": keep}


def use_label_window(config, model) -> bool:
    """Whether a cross-entropy run computes logits only over the caption window (see :func:`caption_window`).

    ``config.logits_only_labels`` decides when set; unset, the window is used on CUDA for a model whose
    forward takes ``logits_to_keep`` and whose positions are rotary (PaliGemma), where the window, which
    needs left-padded rows, gives the plain loss (BLIP's absolute positions would move with the padding).
    """
    if config.objective != "xe":
        return False
    if config.logits_only_labels is not None:
        return bool(config.logits_only_labels)
    return not config.use_cpu and model is not None and label_window_fits(model)


def label_window_fits(model) -> bool:
    """Whether ``model`` (a peft model too) takes ``logits_to_keep`` and places its tokens with rotary positions."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config.get_text_config() if hasattr(base.config, "get_text_config") else base.config
    rotary = any(getattr(config, name, None) is not None for name in ("rope_theta", "rope_parameters"))
    return rotary and "logits_to_keep" in inspect.signature(base.forward).parameters


def caption_trainer(config, model=None) -> tuple[type, dict]:
    """The Trainer class of a cross-entropy run and the extra keyword arguments it is built with.

    Args:
        config: the run's :class:`~rsic_core.training.config.TrainConfig`.
        model (None): the model, to tell how its labels align (default: a decoder).

    Returns:
        ``(Trainer class, {"compute_loss_func": ...})``: the loss with ``config.label_smoothing_factor``,
        never the model's own (which may smooth by its own config).
    """
    from transformers import Trainer

    shift = labels_shifted(model) if model is not None else True
    extra = {"compute_loss_func": smoothed_caption_loss(config.label_smoothing_factor, shift)}
    if not use_label_window(config, model):
        return Trainer, extra

    class LabelLogitsTrainer(Trainer):
        """Computes vocabulary logits only from the first caption position on (left-padded batches)."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            return super().compute_loss(model, caption_window(inputs), return_outputs, num_items_in_batch)

    return LabelLogitsTrainer, extra
