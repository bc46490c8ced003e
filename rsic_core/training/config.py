"""The configuration of a training run: the Trainer's own ``TrainingArguments`` plus the project's fields.

    rsic train --model demo --lora-r 8 --max-steps 200 --adam-beta2 0.95      # any Trainer option too
    rsic train --train-mode full --objective scst --model RUN_DIR             # full weights, SCST after a run
    train(TrainConfig(model="demo", lora_r=8, max_steps=200, lr_scheduler_kwargs={"num_cycles": 2}))

:class:`TrainConfig` subclasses :class:`transformers.TrainingArguments` (as TRL's ``SFTConfig``
does), so every Trainer option is a field, parsed by ``HfArgumentParser`` and handed to the
Trainer as is. It changes a few Trainer defaults to the project's (LoRA-sized batches, a log line
per step, checkpoints every 50 steps, no progress bars, no trackers, AdamW at 5e-5) and adds the
model, data, training mode and objective, LoRA, precision and evaluation fields. ``output_dir`` is the run folder; the Trainer
writes its checkpoints to ``output_dir/checkpoints``.

A run folder's ``config.json`` is :meth:`TrainConfig.to_dict` (every field, plain JSON), written by
:func:`rsic_core.training.run_folders.prepare_run`; reading it back (:func:`load_train_config`) ignores unknown keys, gives
missing ones their default and reads the names older runs used (``device``, ``eval_batch_size``, ``eval_limit``).
A folder that already holds a training run is continued only with the options it was started
with, and never once it finished; a folder holding another kind of run (an evaluation) is left
alone. ``overwrite`` deletes such a folder's run and trains afresh.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from transformers import TrainingArguments
from transformers.training_args import OptimizerNames

from rsic_core.models.inference import DEFAULT_MAX_NEW_TOKENS
from rsic_core.options import split_list
from rsic_core.runs.layout import RunLayout
from rsic_core.training.augment import check_augmentations
from rsic_core.training.checks import check_numbers

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
TRAIN_MODES = ("lora", "full")  # peft adapters, or every parameter outside the family's frozen towers
OBJECTIVES = ("xe", "scst")  # cross-entropy on the references, self-critical sequence training
DEVICES = ("auto", "cpu", "cuda")
# Gradient checkpointing under its name in this transformers version (activation_checkpointing from 5.2x on).
CHECKPOINTING = next(
    n for n in ("activation_checkpointing", "gradient_checkpointing") if n in TrainingArguments.__dataclass_fields__
)
# Keys of older config.json (and config files), read as today's names.
_OLD_NAMES = {"device": "train_device", "eval_batch_size": "per_device_eval_batch_size", "eval_limit": "val_limit"}
_NOT_COMPARED = ("output_dir", "resume", "overwrite")  # where a run lives, not how it trains
_TRACKER_PACKAGES = {"azure_ml": "azureml-core", "comet_ml": "comet-ml"}  # pip names where they differ


def _trainer_field(name: str, default, help: str | None = None):
    """The Trainer's option ``name`` with the project's ``default`` (and the Trainer's help text unless ``help``)."""
    metadata = dict(TrainingArguments.__dataclass_fields__[name].metadata)
    return field(default=default, metadata={**metadata, "help": help} if help else metadata)


@dataclass
class TrainConfig(TrainingArguments):
    """One training run: every Trainer option, plus model, data, mode and objective, adapter, precision, evaluation."""

    # The Trainer's options whose default differs here (every other one keeps the Trainer's default).
    output_dir: str | None = _trainer_field(
        "output_dir",
        "",
        "Run folder (the Trainer's checkpoints go to its checkpoints/); empty = a new folder under the runs "
        "directory. A folder that holds a run continues it when the options are the same.",
    )
    per_device_train_batch_size: int = _trainer_field("per_device_train_batch_size", 4)
    per_device_eval_batch_size: int = _trainer_field(
        "per_device_eval_batch_size", 16, "Images per generate() call when captioning the validation and evaluation."
    )
    gradient_accumulation_steps: int = _trainer_field("gradient_accumulation_steps", 4)
    num_train_epochs: float = _trainer_field("num_train_epochs", 1.0)
    optim: OptimizerNames | str = _trainer_field(
        "optim", "auto", "Optimizer (the Trainer's names); auto = adamw_torch_fused on CUDA, adamw_torch on CPU."
    )
    logging_steps: float = _trainer_field("logging_steps", 1)
    logging_nan_inf_filter: bool = _trainer_field("logging_nan_inf_filter", False)  # a NaN loss stops the run
    disable_tqdm: bool | None = _trainer_field("disable_tqdm", True)
    report_to: None | str | list[str] = _trainer_field(
        "report_to", "none", "Trackers, comma separated: none, all, tensorboard, wandb, mlflow, ... (when installed)."
    )
    eval_steps: int = _trainer_field(
        "eval_steps",
        0,
        "Score the validation subset every N steps (0 = never); the project's validation (captions and corpus "
        "scores), while the Trainer's own evaluation stays off.",
    )
    save_steps: float = _trainer_field("save_steps", 50)
    save_total_limit: int | None = _trainer_field("save_total_limit", 2)
    remove_unused_columns: bool = _trainer_field("remove_unused_columns", False)  # the collator needs every key
    ddp_find_unused_parameters: bool | None = _trainer_field("ddp_find_unused_parameters", False)

    # The project's fields.
    model: str = field(
        default="demo",
        metadata={
            "help": "Model folder or Hugging Face id; 'demo' = the offline demo model; or a training run to start "
            "from (its model/, or its base with its adapter merged: SCST after cross-entropy)."
        },
    )
    data: str = field(
        default="", metadata={"help": "Dataset folder or annotation file; empty = the offline demo dataset."}
    )
    name: str = field(default="lora", metadata={"help": "Run name (the folder is <timestamp>-<name>)."})
    resume: str = field(
        default="", metadata={"help": "A run folder to continue from its last checkpoint, with its own config."}
    )
    overwrite: bool = field(
        default=False,
        metadata={
            "help": "output_dir may hold a finished run or a run of another kind (e.g. an evaluation): delete "
            "it and train afresh. Without it such a folder is refused and left as it is."
        },
    )
    train_mode: str = field(
        default="lora",
        metadata={
            "help": "lora (adapters; the run saves adapter/) or full (every parameter outside the family's frozen "
            "towers, fp32 weights; the run saves the whole model to model/).",
            "choices": TRAIN_MODES,
        },
    )
    objective: str = field(
        default="xe",
        metadata={
            "help": "xe (cross-entropy on the references; label_smoothing_factor applies) or scst (self-critical: "
            "CIDEr-D reward of sampled captions; start --model from a cross-entropy model folder or training run).",
            "choices": OBJECTIVES,
        },
    )
    scst_samples: int = field(
        default=5, metadata={"help": "SCST: captions sampled per image (baseline: mean reward of the others)."}
    )
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    val_split: str = field(default="val", metadata={"help": "Split of the periodic validation."})
    eval_split: str = field(default="test", metadata={"help": "Split captioned and scored at the end."})
    train_limit: int = field(default=0, metadata={"help": "Use the first N training images (0 = all)."})
    captions_per_image: int = field(default=0, metadata={"help": "References per image used as targets (0 = all)."})
    augment: str = field(
        default="",
        metadata={
            "help": "Training-image augmentation, comma separated: dihedral (flips and 90-degree rotations: an "
            "aerial photo has no up), crop (a random square of 60-100 %% of the area); empty = none."
        },
    )
    scene_loss_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of an auxiliary scene-classification loss (cross-entropy objective): a linear head on the "
            "image tower's pooled output predicts each training image's class, added to the caption loss; the head "
            "is not saved. For a tower trained from scratch on few photos; 0 = off."
        },
    )
    train_captions: str = field(
        default="",
        metadata={
            "help": "A preprocessed caption set (a folder `rsic preprocess --out` or the app's Save these captions "
            "wrote): the training targets come from it, matched by image id; validation and the final evaluation "
            "still score against the dataset's own references. Empty = the dataset's own captions."
        },
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha (scaling = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    lora_targets: str = field(
        default="default",
        metadata={
            "help": "'default' (family preset), a preset name (all-linear, language-only) or a comma list of module names."
        },
    )
    lora_require_towers: str = field(
        default="language",
        metadata={
            "help": "Comma list of towers that must get adapters (vision, qformer, projector, language); empty = no check."
        },
    )
    prune_qformer_layers: int = field(
        default=0, metadata={"help": "Keep the first N Q-Former layers before LoRA (0 = all; BLIP-2)."}
    )
    prune_lm_layers: int = field(
        default=0, metadata={"help": "Keep the first N language-model layers before LoRA (0 = all)."}
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "auto (bf16 where supported, fp16 with loss scaling on other GPUs, fp32 on CPU), bf16, fp16 or "
            "fp32; sets the Trainer's bf16/fp16 and the dtype of the frozen base weights.",
            "choices": PRECISIONS,
        },
    )
    train_device: str = field(
        default="auto",
        metadata={
            "help": "auto (CUDA where there is a GPU), cpu or cuda; cpu sets the Trainer's use_cpu.",
            "choices": DEVICES,
            "also": ["--device"],  # as on caption, evaluate and scene
        },
    )
    attn_implementation: str = field(
        default="", metadata={"help": "Attention kernel (sdpa, eager); empty = the model's default."}
    )
    logits_only_labels: bool | None = field(
        default=None,
        metadata={
            "help": "Compute vocabulary logits only over the caption positions (saves memory, same loss); default: "
            "on CUDA for models that take logits_to_keep and have rotary positions (PaliGemma), off elsewhere."
        },
    )
    val_limit: int = field(
        default=32,
        metadata={
            "help": "Validation images: a sample stratified by class (0 = all).",
            "aliases": ["--eval-limit", "--eval_limit"],  # older spellings (rsic evaluate's eval_limit is its own)
        },
    )
    eval_seed: int = field(default=0, metadata={"help": "Seed of the validation and --predict-limit image samples."})
    val_metrics: str = field(default="bleu,cider", metadata={"help": "Metric groups of the periodic validation."})
    predict_limit: int = field(
        default=0, metadata={"help": "Evaluation-split images at the end, stratified by class (0 = all, -1 = none)."}
    )
    eval_metrics: str = field(
        default="bleu,meteor,rouge,cider,geo_sim", metadata={"help": "Metric groups of the final evaluation."}
    )
    gen_num_beams: int = field(default=1, metadata={"help": "Beam width of the evaluation captions."})
    gen_max_new_tokens: int = field(
        default=DEFAULT_MAX_NEW_TOKENS,
        metadata={"help": "Longest evaluation caption, in tokens (the default of every page and command)."},
    )
    eval_efficiency: bool = field(
        default=True, metadata={"help": "Measure parameters, GFLOPs, latency, memory and size at the end."}
    )

    def __post_init__(self):
        self._check()
        self.report_to = split_list(self.report_to) or "none"  # the Trainer takes a list
        _check_trackers(self.report_to)
        device = self._choose_device()
        self.use_cpu = device == "cpu"
        self._choose_precision(device)
        if self.optim == "auto":  # fused AdamW: one kernel for all parameters (CUDA only)
            self.optim = "adamw_torch_fused" if device == "cuda" else "adamw_torch"
        super().__post_init__()
        if getattr(self, CHECKPOINTING) and getattr(self, f"{CHECKPOINTING}_kwargs") is None:
            for name in {CHECKPOINTING, "gradient_checkpointing"}:  # the deprecated name mirrors the new one
                setattr(self, f"{name}_kwargs", {"use_reentrant": False})

    def _check(self) -> None:
        check_numbers(self)  # every number finite and in its range (checks.py)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})")
        if self.train_device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)} (got {self.train_device!r})")
        for name, allowed in (("train_mode", TRAIN_MODES), ("objective", OBJECTIVES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {getattr(self, name)!r})")
        if int(self.scst_samples) < 2:
            raise ValueError(
                f"scst_samples must be at least 2: the baseline is the others' mean (got {self.scst_samples})"
            )
        check_augmentations(split_list(self.augment))
        if self.scene_loss_weight and self.objective != "xe":
            raise ValueError("scene_loss_weight applies to the cross-entropy objective (objective xe) only")

    def _choose_device(self) -> str:
        """cpu or cuda: ``train_device``, auto meaning CUDA where there is a GPU (the Trainer's use_cpu forces cpu)."""
        import torch

        if self.use_cpu or self.train_device == "cpu":
            return "cpu"
        if self.train_device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda was asked for but CUDA is not available here; use --device cpu or auto")
        return "cuda" if torch.cuda.is_available() else "cpu"

    def _choose_precision(self, device: str) -> None:
        """The Trainer's bf16/fp16 from ``precision`` (auto: bf16 where supported, else fp16, on GPU only)."""
        import torch

        if self.precision == "auto":
            if device == "cuda" and not (self.bf16 or self.fp16):  # the Trainer's own --bf16/--fp16 win
                self.bf16 = torch.cuda.is_bf16_supported()
                self.fp16 = not self.bf16
            return
        if self.precision != "fp32" and device == "cpu":
            raise ValueError(f"precision {self.precision} needs a GPU; on CPU use precision fp32 (or auto)")
        self.bf16, self.fp16 = self.precision == "bf16", self.precision == "fp16"

    @property
    def weights_dtype(self) -> str:
        """bf16, fp16 or fp32: the dtype the frozen base weights are loaded in (adapters stay fp32; full: fp32)."""
        if self.train_mode == "full":
            return "fp32"  # trained weights: the Trainer's autocast does the mixed precision
        return "bf16" if self.bf16 else "fp16" if self.fp16 else "fp32"

    @property
    def device_name(self) -> str:
        """Where the model is loaded for training: ``cpu`` or the Trainer's own device (``cuda:<local rank>``)."""
        return "cpu" if self.use_cpu else str(self.device)

    @classmethod
    def from_dict(cls, data: Mapping, **overrides) -> TrainConfig:
        """A config from a dict (a run's config.json): unknown keys ignored, missing keys default.

        Args:
            data: field values (read through :func:`current_names`).
            **overrides: field values that replace those of ``data``.
        """
        names = {f.name for f in fields(cls) if f.init}
        return cls(**{k: v for k, v in current_names({**data, **overrides}).items() if k in names})

    def changed_options(self, other: TrainConfig) -> dict[str, tuple]:
        """The fields (other than where the run lives) whose value differs in ``other``: name -> (ours, theirs)."""
        ours, theirs = _comparable(self), _comparable(other)
        return {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}


def _check_trackers(report_to) -> None:
    """Every tracker named in ``report_to`` is one the Trainer knows and is installed here."""
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    names = [n for n in ([report_to] if isinstance(report_to, str) else report_to) if n not in ("none", "all")]
    for name in names:
        if name not in INTEGRATION_TO_CALLBACK:
            raise ValueError(
                f"report_to {name!r} is not a tracker the Trainer knows (none, all, {', '.join(INTEGRATION_TO_CALLBACK)})"
            )
        if name not in get_available_reporting_integrations() and name not in ("flyte", "kubeflow"):
            package = _TRACKER_PACKAGES.get(name, name)
            raise ValueError(f"{name} is not installed: pip install {package}, or --report-to none")


def current_names(values: Mapping) -> dict:
    """Field values with the names older versions wrote renamed, and the placeholders ``to_dict`` writes for tokens left out."""
    renamed = {_OLD_NAMES.get(k, k): v for k, v in values.items() if k in _OLD_NAMES}
    renamed |= {k: v for k, v in values.items() if k not in _OLD_NAMES}  # a current name wins over an older one
    if CHECKPOINTING not in renamed and "gradient_checkpointing" in renamed:  # written before the rename
        renamed[CHECKPOINTING] = renamed.pop("gradient_checkpointing")
    return {k: v for k, v in renamed.items() if not (k.endswith("_token") and v == f"<{k.upper()}>")}


def _comparable(config: TrainConfig) -> dict:
    data = json.loads(json.dumps(config.to_dict(), default=str))
    return {k: v for k, v in data.items() if k not in _NOT_COMPARED}


def load_train_config(run_dir: str | Path, **overrides) -> TrainConfig:
    """The :class:`TrainConfig` a run folder was started with (``overrides`` replace fields)."""
    layout = RunLayout(run_dir)
    if not layout.config_file.is_file():
        raise FileNotFoundError(f"{run_dir}: no config.json (not a training run folder)")
    return TrainConfig.from_dict(layout.read_config(), **overrides)
