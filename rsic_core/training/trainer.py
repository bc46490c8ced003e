"""LoRA fine-tuning of a captioning model with peft and the transformers Trainer.

    rsic train --model demo --lora_r 8 --max_steps 200          # or: train(TrainConfig(...))

A run folder (under :func:`rsic_core.paths.runs_dir` unless ``output_dir`` is given) holds::

    config.json          # the exact TrainConfig (plus kind/adapter/split keys the Runs page reads)
    status.json          # queued/running/completed/failed/cancelled, pid, step, max_steps, message
    train_log.jsonl      # loss and learning rate per logged step (the Train page tails it)
    val_metrics.jsonl    # corpus scores on the validation subset every eval_steps
    lora.json            # LoRA targets, modules wrapped per tower, trainable share, pruned layers
    checkpoints/         # Trainer checkpoints (adapter safetensors, optimizer, scheduler, RNG)
    adapter/             # the final adapter (peft save_pretrained: adapter_model.safetensors)
    predictions.jsonl, metrics.json   # captions and scores on the evaluation split
    ranks/rank-<k>.json  # batches each process built (distributed runs: who took part)

A run killed at any moment continues from its last checkpoint with ``rsic train --resume RUN``
(or the same ``--output_dir``): the Trainer restores weights, optimizer, scheduler, RNG and data
position, and the step log is cut back to the checkpoint so no step appears twice.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from rsic_core.runs.layout import CONFIG, new_run_dir, write_json
from rsic_core.training import jobs

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


@dataclass
class TrainConfig:
    """One LoRA training run: model, data, adapter, optimisation, logging and evaluation."""

    model: str = field(
        default="demo", metadata={"help": "Model folder or Hugging Face id; 'demo' = the offline demo model."}
    )
    data: str = field(
        default="", metadata={"help": "Dataset folder or annotation file; empty = the offline demo dataset."}
    )
    name: str = field(default="lora", metadata={"help": "Run name (the folder is <timestamp>-<name>)."})
    output_dir: str = field(
        default="",
        metadata={"help": "Run folder; empty = a new folder under the runs directory. An existing one is resumed."},
    )
    resume: str = field(
        default="", metadata={"help": "A run folder to continue from its last checkpoint, with its own config."}
    )
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    val_split: str = field(default="val", metadata={"help": "Split of the periodic validation."})
    eval_split: str = field(default="test", metadata={"help": "Split captioned and scored at the end."})
    train_limit: int = field(default=0, metadata={"help": "Use the first N training images (0 = all)."})
    captions_per_image: int = field(default=0, metadata={"help": "References per image used as targets (0 = all)."})
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
    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW peak learning rate."})
    lr_scheduler_type: str = field(
        default="linear", metadata={"help": "Learning-rate schedule (linear, cosine, constant, ...)."}
    )
    warmup_steps: float = field(
        default=0, metadata={"help": "Warm-up steps (a value below 1 is a fraction of all steps)."}
    )
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Examples per device per micro-batch."})
    gradient_accumulation_steps: int = field(
        default=4, metadata={"help": "Micro-batches per optimizer step (effective batch = 4 x 4 x devices)."}
    )
    num_train_epochs: float = field(
        default=1.0, metadata={"help": "Epochs over the (image, caption) pairs (ignored when max_steps > 0)."}
    )
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps; -1 = use num_train_epochs."})
    precision: str = field(
        default="auto",
        metadata={
            "help": "auto (bf16 where supported, fp16 with loss scaling on other GPUs, fp32 on CPU), bf16, fp16 or fp32."
        },
    )
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda."})
    seed: int = field(default=42, metadata={"help": "Seed of LoRA initialisation, data order and dropout."})
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations in backward (larger batches, slower steps)."}
    )
    optim: str = field(
        default="adamw_torch", metadata={"help": "Trainer optimizer (adamw_torch, adamw_torch_fused, ...)."}
    )
    attn_implementation: str = field(
        default="", metadata={"help": "Attention kernel (sdpa, eager); empty = the model's default."}
    )
    logits_only_labels: bool = field(
        default=False,
        metadata={"help": "Compute vocabulary logits only over the caption positions (PaliGemma; saves memory)."},
    )
    logging_steps: int = field(default=1, metadata={"help": "Write the loss every N steps."})
    eval_steps: int = field(
        default=0, metadata={"help": "Score the validation subset every N steps (0 = never during training)."}
    )
    eval_limit: int = field(default=32, metadata={"help": "Validation images scored each time."})
    val_metrics: str = field(default="bleu,cider", metadata={"help": "Metric groups of the periodic validation."})
    predict_limit: int = field(
        default=0, metadata={"help": "Evaluation-split images captioned at the end (0 = all, -1 = none)."}
    )
    eval_metrics: str = field(
        default="bleu,meteor,rouge,cider,geo_sim", metadata={"help": "Metric groups of the final evaluation."}
    )
    gen_num_beams: int = field(default=1, metadata={"help": "Beam width of the evaluation captions."})
    gen_max_new_tokens: int = field(default=40, metadata={"help": "Longest evaluation caption, in tokens."})
    eval_efficiency: bool = field(
        default=True, metadata={"help": "Measure parameters, GFLOPs, latency, memory and size at the end."}
    )
    eval_batch_size: int = field(default=16, metadata={"help": "Images per generate() call in evaluation."})
    save_steps: int = field(default=50, metadata={"help": "Write a checkpoint every N steps."})
    save_total_limit: int = field(default=2, metadata={"help": "Checkpoints kept (oldest removed)."})
    report_to: str = field(
        default="none", metadata={"help": "Trackers: none, tensorboard, wandb, mlflow (when installed)."}
    )
    dataloader_num_workers: int = field(default=0, metadata={"help": "Data-loading worker processes."})

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})")
        for name in (
            "lora_r",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "logging_steps",
            "save_steps",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ValueError("give max_steps > 0 or num_train_epochs > 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive (got {self.learning_rate})")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """A config from a dict (a run's config.json): unknown keys ignored, missing keys default."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def load_train_config(run_dir: str | Path) -> TrainConfig:
    """The :class:`TrainConfig` a run folder was started with."""
    file = Path(run_dir) / CONFIG
    if not file.is_file():
        raise FileNotFoundError(f"{run_dir}: no config.json (not a training run folder)")
    return TrainConfig.from_dict(json.loads(file.read_text(encoding="utf-8")))


def prepare_run(config: TrainConfig) -> Path:
    """Create (or reopen) the run folder and write its config.json; returns the folder."""
    if config.resume:
        run_dir = Path(config.resume).expanduser()
        if not (run_dir / CONFIG).is_file():
            raise FileNotFoundError(f"{run_dir}: no config.json here, nothing to resume")
        return run_dir
    run_dir = Path(config.output_dir).expanduser() if config.output_dir else new_run_dir(config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / CONFIG).is_file():
        write_json(
            run_dir,
            CONFIG,
            {
                **asdict(config),
                "output_dir": str(run_dir),
                "kind": "training",
                "adapter": None,
                "split": config.eval_split,
            },
        )
    return run_dir


def train(config: TrainConfig, progress: Callable[[int, int], None] | None = None, captioner=None) -> Path:
    """Train a LoRA adapter; returns the run folder.

    Args:
        config: the run (see :class:`TrainConfig`); with ``resume`` or an ``output_dir`` that holds
            checkpoints, training continues from the last one.
        progress (None): ``callable(step, max_steps)`` after each logged step.
        captioner (None): a model already in memory (benchmarks on random-weight shapes); by
            default ``config.model`` is loaded.

    Returns:
        The run folder, with ``status.json`` saying completed or cancelled.

    Raises:
        ValueError: bad captions (natural-language guard), LoRA targets that wrap nothing, or a
            NaN/inf loss (the message says what to change). The status is then ``failed``.
        FileNotFoundError: the model, the data or the run to resume is missing.
    """
    from rsic_core.training import callbacks as cb

    run_dir = _shared_run_dir(config)
    if config.resume or config.output_dir:  # the folder's own config rules (resume keeps what it ran with)
        saved = load_train_config(run_dir)
        config = TrainConfig.from_dict({**asdict(saved), "output_dir": str(run_dir), "resume": ""})
    main = _is_main_process()
    if main:
        jobs.write_status(run_dir, "running", "loading model and data", pid=os.getpid(), started=time.time())
    cancel = cb.CancelCallback().install()
    try:
        session = _TrainingSession(config, run_dir, progress, captioner)
        checkpoint = last_complete_checkpoint(run_dir / "checkpoints")
        if checkpoint and main:
            step = int(Path(checkpoint).name.rsplit("-", 1)[-1])
            jobs.truncate_jsonl(run_dir / jobs.STEP_LOG, step)
            jobs.truncate_jsonl(run_dir / jobs.VAL_LOG, step)
        trainer = session.trainer(cancel)
        trainer.train(resume_from_checkpoint=checkpoint)
        if not main:
            return run_dir
        if cancel.cancelled:
            session.save_adapter()
            jobs.write_status(
                run_dir,
                "cancelled",
                f"cancelled at step {trainer.state.global_step}; continue with `rsic train --resume {run_dir}`",
                step=trainer.state.global_step,
            )
            return run_dir
        session.finish(trainer)
        jobs.write_status(run_dir, "completed", f"{trainer.state.global_step} steps", step=trainer.state.global_step)
        return run_dir
    except BaseException as e:
        if main:
            message = str(e) if isinstance(e, (ValueError, FileNotFoundError)) else f"{type(e).__name__}: {e}"
            jobs.write_status(run_dir, "failed", message)
            (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        raise
    finally:
        cancel.uninstall()


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint whose trainer state was fully written; half-written newer ones are removed.

    A run killed while saving leaves a checkpoint folder without (or with a truncated)
    ``trainer_state.json``, the last file the Trainer writes.
    """
    import shutil

    from transformers.trainer_utils import get_last_checkpoint

    while Path(folder).is_dir():
        last = get_last_checkpoint(str(folder))
        if last is None:
            return None
        try:
            json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))
            return last
        except (OSError, ValueError):
            shutil.rmtree(last, ignore_errors=True)
    return None


class _TrainingSession:
    """The pieces of one run: captioner with LoRA, datasets, collator, Trainer, final evaluation."""

    def __init__(self, config: TrainConfig, run_dir: Path, progress, captioner=None):
        from transformers import set_seed

        from rsic_core.data.datasets import load_dataset
        from rsic_core.text.guard import check_natural_language
        from rsic_core.training.collators import CaptionCollator, caption_pairs
        from rsic_core.training.lora import apply_lora
        from rsic_core.training.pruning import prune_layers

        self.config, self.run_dir, self.progress = config, run_dir, progress
        self.dataset = load_dataset(config.data or _demo_data())
        records = [r for r in self.dataset.select(split=config.train_split) if r.has_image]
        records = records[: config.train_limit] if config.train_limit else records
        self.pairs = caption_pairs(records, config.captions_per_image)
        if not self.pairs:
            raise ValueError(
                f"{self.dataset.name}: no training pairs in split {config.train_split!r} "
                f"(splits: {self.dataset.split_counts()})"
            )
        check_natural_language([p["caption"] for p in self.pairs]).raise_if_failed()
        self.captioner = _load_for_training(config) if captioner is None else captioner
        if config.attn_implementation:
            self.captioner.model.set_attn_implementation(config.attn_implementation)
        self.captioner.model.train()
        family = self.captioner.family
        pruned = prune_layers(self.captioner.model, family, config.prune_qformer_layers, config.prune_lm_layers)
        set_seed(config.seed)
        towers = tuple(t.strip() for t in config.lora_require_towers.split(",") if t.strip())
        self.captioner.model, self.lora = apply_lora(
            self.captioner.model,
            family,
            config.lora_r,
            config.lora_alpha,
            config.lora_dropout,
            config.lora_targets,
            towers,
        )
        self.lora["pruned"] = {k: list(v) for k, v in pruned.items()}
        if _is_main_process():
            write_json(run_dir, "lora.json", self.lora)
        side = "left" if config.logits_only_labels else "right"
        self.collator = CaptionCollator(family, self.captioner.processor, padding_side=side)

    def trainer(self, cancel) -> object:
        from transformers import TrainingArguments

        from rsic_core.training import callbacks as cb

        c = self.config
        precision = _precision(c.precision, self.captioner.device)
        args = TrainingArguments(
            output_dir=str(self.run_dir / "checkpoints"),
            per_device_train_batch_size=c.per_device_train_batch_size,
            gradient_accumulation_steps=c.gradient_accumulation_steps,
            learning_rate=c.learning_rate,
            lr_scheduler_type=c.lr_scheduler_type,
            warmup_steps=c.warmup_steps,
            weight_decay=c.weight_decay,
            max_grad_norm=c.max_grad_norm,
            num_train_epochs=c.num_train_epochs,
            max_steps=c.max_steps,
            bf16=precision == "bf16",
            fp16=precision == "fp16",
            use_cpu=self.captioner.device == "cpu",
            seed=c.seed,
            optim=c.optim,
            **_checkpointing_args(c.gradient_checkpointing),
            logging_steps=c.logging_steps,
            logging_nan_inf_filter=False,
            save_strategy="steps",
            save_steps=c.save_steps,
            save_total_limit=c.save_total_limit,
            report_to=_report_to(c.report_to),
            remove_unused_columns=False,
            dataloader_num_workers=c.dataloader_num_workers,
            disable_tqdm=True,
            eval_strategy="no",
            ddp_find_unused_parameters=False,
        )
        callbacks = [
            cb.RunLogCallback(self.run_dir, self.progress, self.collator),
            cancel,
            cb.RankReportCallback(self.run_dir, self.collator),
        ]
        if c.eval_steps:
            callbacks.append(cb.ValidationCallback(self.run_dir, self.validate, c.eval_steps))
        trainer_class = _label_logits_trainer() if c.logits_only_labels else _trainer_class()
        self._trainer = trainer_class(
            model=self.captioner.model,
            args=args,
            train_dataset=self.pairs,
            data_collator=self.collator,
            callbacks=callbacks,
        )
        return self._trainer

    def _captioner(self):
        """The model being trained, as a Captioner on the Trainer's device."""
        import dataclasses

        model = self._trainer.model
        device = str(next(model.parameters()).device)
        return dataclasses.replace(self.captioner, model=model, device=device)

    def validate(self) -> dict:
        """Corpus scores of the current weights on the validation subset (a run folder under val/)."""
        from rsic_core.scoring.metrics import ScoreConfig

        model, step = self._trainer.model, self._trainer.state.global_step
        was_training = model.training
        model.eval()
        try:
            metrics = tuple(m.strip() for m in self.config.val_metrics.split(",") if m.strip())
            folder = self._evaluate(
                self.config.val_split,
                self.config.eval_limit,
                False,
                ScoreConfig(score_metrics=metrics),
                self.run_dir / "val" / f"step-{step}",
                {"step": step},
            )
        finally:
            model.train(was_training)
        return _corpus(folder)

    def _evaluate(self, split: str, limit: int, efficiency: bool, scoring, out: Path, extra: dict) -> Path:
        from rsic_core.runs.evaluation import EvalConfig, evaluate

        config = EvalConfig(
            eval_split=split,
            eval_limit=limit or None,
            eval_efficiency=efficiency,
            caption=self._caption_config(),
            scoring=scoring,
        )
        extra = {"kind": "training-eval", "train_run": str(self.run_dir), "train_name": self.config.name, **extra}
        return evaluate(self._captioner(), self.dataset, split, config, out=out, extra_config=extra)

    def save_adapter(self) -> Path:
        folder = self.run_dir / "adapter"
        self._trainer.model.save_pretrained(str(folder))
        return folder

    def finish(self, trainer) -> None:
        """Final adapter, then captions, scores and efficiency on the evaluation split."""
        import shutil

        from rsic_core.runs.layout import EFFICIENCY, METRICS, PREDICTIONS, load_run
        from rsic_core.scoring.metrics import ScoreConfig

        adapter = self.save_adapter()
        self.captioner.adapter = str(adapter)
        config = load_run(self.run_dir, with_predictions=False).config
        config.update(
            adapter=str(adapter),
            dataset_name=self.dataset.name,
            family=self.captioner.family.name,
            trainable_share=self.lora["share"],
            steps=trainer.state.global_step,
        )
        write_json(self.run_dir, CONFIG, config)
        if self.config.predict_limit < 0:
            return
        trainer.model.eval()
        metrics = tuple(m.strip() for m in self.config.eval_metrics.split(",") if m.strip())
        out = self.run_dir / "eval"
        if out.exists():  # a resumed run that died while evaluating
            shutil.rmtree(out)
        self._evaluate(
            self.config.eval_split,
            self.config.predict_limit,
            self.config.eval_efficiency,
            ScoreConfig(score_metrics=metrics),
            out,
            {"step": trainer.state.global_step},
        )
        if self.lora["pruned"]:
            self._save_pruned(out)
        for name in (PREDICTIONS, METRICS, EFFICIENCY):  # the run folder itself reads as a run
            if (out / name).is_file():
                shutil.copyfile(out / name, self.run_dir / name)

    def _save_pruned(self, eval_dir: Path) -> None:
        """A pruned base does not fit the original model: save the merged, pruned model (loadable as is)."""
        from rsic_core.runs.layout import EFFICIENCY, load_run
        from rsic_core.scoring.efficiency import size_on_disk

        folder = self.run_dir / "model"
        merged = self._trainer.model.merge_and_unload()
        merged.save_pretrained(str(folder))
        self.captioner.processor.save_pretrained(str(folder))
        report = load_run(eval_dir, with_predictions=False).efficiency
        if report:
            report["size_on_disk_bytes"], report["size_on_disk_kind"] = size_on_disk(path=folder)
            report["size_on_disk_kind"] += " (merged pruned model)"
            write_json(eval_dir, EFFICIENCY, report)
        config = load_run(self.run_dir, with_predictions=False).config
        write_json(self.run_dir, CONFIG, {**config, "merged_model": str(folder)})

    def _caption_config(self):
        from rsic_core.models.inference import CaptionConfig

        return CaptionConfig(
            gen_num_beams=self.config.gen_num_beams,
            gen_max_new_tokens=self.config.gen_max_new_tokens,
            batch_size=self.config.eval_batch_size,
        )


def _corpus(folder: Path) -> dict:
    try:
        data = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in (data.get("corpus") or {}).items() if v is not None} or {"error": data.get("error")}


def _trainer_class():
    from transformers import Trainer

    return Trainer


def caption_window(inputs: dict) -> dict:
    """Model inputs that ask for logits only from the position before the first caption token on.

    With left padding every caption ends its row, so the last ``keep`` positions hold all labelled
    tokens (and the position predicting the first of them); labels are cut to the same window and
    the model's own shifted loss is unchanged.
    """
    labels = inputs["labels"]
    first = int((labels != -100).int().argmax(dim=1).min())
    keep = labels.shape[1] - first + 1
    return {**inputs, "labels": labels[:, -keep:], "logits_to_keep": keep}


def _label_logits_trainer():
    from transformers import Trainer

    class LabelLogitsTrainer(Trainer):
        """Computes vocabulary logits only from the first caption position on (left-padded batches)."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            return super().compute_loss(model, caption_window(inputs), return_outputs, num_items_in_batch)

    return LabelLogitsTrainer


def _load_for_training(config: TrainConfig):
    from rsic_core.models.registry import choose_device, load_captioner

    device = choose_device(None if config.device == "auto" else config.device)
    precision = _precision(config.precision, device)
    dtype = {"bf16": "bf16", "fp16": "fp16"}.get(precision, "fp32")  # frozen base weights; adapters stay fp32
    return load_captioner(config.model, device=device, dtype=dtype)


def _checkpointing_args(enabled: bool) -> dict:
    """Gradient checkpointing options under their name in this transformers version (renamed in 5.2x)."""
    from transformers import TrainingArguments

    if not enabled:
        return {}
    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
        else "gradient_checkpointing"
    )
    return {name: True, f"{name}_kwargs": {"use_reentrant": False}}


def _precision(precision: str, device: str) -> str:
    import torch

    if precision != "auto":
        if precision in ("bf16", "fp16") and not str(device).startswith("cuda"):
            raise ValueError(f"precision {precision} needs a GPU; on CPU use precision fp32 (or auto)")
        return precision
    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def _report_to(value: str):
    names = [v.strip() for v in value.split(",") if v.strip() and v.strip() != "none"]
    return names or "none"


def _demo_data() -> Path:
    from rsic_core.data.demo.dataset import demo_dataset_dir

    return demo_dataset_dir()


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _shared_run_dir(config: TrainConfig) -> Path:
    """The run folder; under torchrun/accelerate the main process creates it and tells the others."""
    if _world_size() == 1:
        return prepare_run(config)
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState()
    holder = [str(prepare_run(config)) if state.is_main_process else None]
    broadcast_object_list(holder)
    return Path(holder[0])
