"""Checks of a training run's numbers: options that cannot train, weights that came out unusable, and leakage.

    check_numbers(config)                # in TrainConfig.__post_init__: every number finite and in range
    check_saved_weights(run / "adapter")      # after training: no NaN/inf saved
    leakage(config.to_dict())            # "leakage: this run trains on split 'test' and is scored..." or None

Every number of :class:`~rsic_core.training.config.TrainConfig` (the Trainer's own options too) must be
finite: ``--learning-rate inf`` trains a step and saves an adapter of NaN, and a run that says
"completed" over such weights is silently wrong. A whole number that a JSON or YAML config gives as
``true`` is refused too (Python would take it as 1). Ranges that no training can use (a learning rate
of 0, ``--max-steps 0``, a beta of 1) are refused with the field named, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rsic_core.options import check_number_fields

POSITIVE = ("learning_rate", "adam_epsilon", "logging_steps", "save_steps")  # > 0
AT_LEAST_ONE = ("lora_r", "lora_alpha", "per_device_train_batch_size", "per_device_eval_batch_size")
AT_LEAST_ONE += ("gradient_accumulation_steps", "gen_num_beams", "gen_max_new_tokens")
NOT_NEGATIVE = ("weight_decay", "max_grad_norm", "warmup_steps", "warmup_ratio", "num_train_epochs", "eval_steps")
NOT_NEGATIVE += ("scene_loss_weight", "seed", "eval_delay")
FRACTIONS = ("adam_beta1", "adam_beta2", "lora_dropout", "label_smoothing_factor")  # 0 <= x < 1
MAX_STEP = 1e30  # learning rate (times weight decay): above, AdamW's float32 step overflows inside torch (1e39 did)
LOWEST = {"train_limit": 0, "captions_per_image": 0, "val_limit": 0, "predict_limit": -1, "eval_seed": 0}
LOWEST |= {"prune_qformer_layers": 0, "prune_lm_layers": 0}


def check_numbers(config) -> None:
    """Refuse a number of ``config`` (a TrainConfig) that is not finite, a boolean, or out of its range.

    Raises:
        ValueError: one sentence naming the field and the value.
    """
    check_number_fields(config)  # inf and nan pass every range check as written; true passes as 1
    _check_ranges(config)


def _check_ranges(config) -> None:
    def value(name):
        return getattr(config, name, None)

    for name in POSITIVE:
        if value(name) is not None and not value(name) > 0:
            raise ValueError(f"{name} must be positive (got {value(name)})")
    for name in AT_LEAST_ONE:
        if value(name) is not None and int(value(name)) < 1:
            raise ValueError(f"{name} must be at least 1 (got {value(name)})")
    for name in NOT_NEGATIVE:
        if value(name) is not None and value(name) < 0:
            raise ValueError(f"{name} must be 0 or more (got {value(name)})")
    for name in FRACTIONS:
        if value(name) is not None and not 0 <= value(name) < 1:
            raise ValueError(f"{name} must be at least 0 and below 1 (got {value(name)})")
    for name, lowest in LOWEST.items():
        if int(value(name)) < lowest:
            raise ValueError(f"{name} must be {lowest} or more (got {value(name)})")
    steps = {
        "learning_rate": config.learning_rate,
        "learning_rate x weight_decay": config.learning_rate * config.weight_decay,
    }
    for name, step in steps.items():
        if step > MAX_STEP:  # torch's step would raise "value cannot be converted to type float without overflow"
            raise ValueError(
                f"{name} must be at most {MAX_STEP:g} (got {step:g}): the optimizer's float32 step overflows"
            )
    if config.max_steps == 0 or config.max_steps < -1:
        raise ValueError(
            f"max_steps must be a number of steps, 1 or more, or -1 to train num_train_epochs (got {config.max_steps})"
        )
    if config.max_steps == -1 and not config.num_train_epochs > 0:
        raise ValueError("give max_steps > 0 or num_train_epochs > 0")


def check_saved_weights(folder) -> None:
    """Refuse the weights a run saved in ``folder`` (adapter/ or model/) when a tensor holds NaN or infinity.

    Raises:
        ValueError: naming the first such tensor and what to change.
    """
    from rsic_core.models.loading import first_nonfinite

    name = first_nonfinite(sorted(Path(folder).glob("*.safetensors")))
    if name:
        raise ValueError(
            f"training diverged: the saved weights hold NaN or infinite values ({name} in {folder}); the run is "
            "not usable: lower --learning-rate (or keep --max-grad-norm above 0) and train again"
        )


def leakage(values: Mapping) -> str | None:
    """A warning when a run is scored on the images it trains on, else None.

    Args:
        values: the run's fields (``TrainConfig.to_dict()``, a run's config.json, the Train page's form);
            missing ones take TrainConfig's defaults (train, val, test; final evaluation on, no validation).
    """
    train = values.get("train_split", "train")
    scored = []
    if int(values.get("predict_limit", 0)) >= 0 and values.get("eval_split", "test") == train:
        scored.append(f"its evaluation split (--eval-split {train})")
    if values.get("eval_steps") and values.get("val_split", "val") == train:
        scored.append(f"its validation split (--val-split {train})")
    if not scored:
        return None
    return (
        f"leakage: this run trains on split {train!r} and is scored on the same images ({' and '.join(scored)}); "
        "its scores measure memory, not captioning: score it on a split it did not train on"
    )
