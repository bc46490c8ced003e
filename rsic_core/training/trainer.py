"""LoRA fine-tuning of a captioning model with peft and the transformers Trainer.

    rsic train --model demo --lora-r 8 --max-steps 200          # or: train(TrainConfig(...))

A run folder (under :func:`rsic_core.paths.runs_dir` unless ``output_dir`` is given; files named by
:class:`rsic_core.runs.layout.RunLayout`) holds::

    config.json          # the exact TrainConfig, every field (plus kind/adapter/split keys the Runs page reads)
    status.json          # queued/running/completed/failed/cancelled, pid, step, max_steps, message
    train_log.jsonl      # loss and learning rate per logged step (the Train page tails it)
    val_metrics.jsonl    # corpus scores on the validation subset every eval_steps
    lora.json            # LoRA targets, modules wrapped per tower, trainable share, pruned layers
    checkpoints/         # Trainer checkpoints (adapter safetensors, optimizer, scheduler, RNG)
    adapter/             # the final adapter (peft save_pretrained: adapter_model.safetensors)
    predictions.jsonl, metrics.json   # captions and scores on the evaluation split
    ranks/rank-<k>.json  # batches each process built (distributed runs: who took part)

A run killed at any moment continues from its last checkpoint with ``rsic train --resume RUN``
(or the same command again): the Trainer restores weights, optimizer, scheduler, RNG and data
position, and the step and validation logs are cut back to the checkpoint (to step 0 when it was
killed before its first one) so no step appears twice. An ``output_dir`` that holds a run started
with other options, a finished run or another kind of run is refused (nothing there changes)
unless ``overwrite``; a finished run is not resumed. A start that fails before its first step
(a wrong model path) removes the folder it made under the runs directory; a folder named with
``output_dir`` (the Train page's) keeps ``status.json`` saying why it failed.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rsic_core.options import split_list
from rsic_core.runs.layout import RunKind, RunLayout, RunStatus, write_json
from rsic_core.training import jobs
from rsic_core.training.config import TrainConfig, load_train_config, prepare_run


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
        ValueError: bad captions (natural-language guard), LoRA targets that wrap nothing, a
            NaN/inf loss (the message says what to change; the status is then ``failed``), or an
            ``output_dir`` holding a run with other options (nothing written).
        FileNotFoundError: the model, the data or the run to resume is missing.
    """
    from rsic_core.training import callbacks as cb

    made_here = not (config.resume or config.output_dir)  # a new folder under the runs directory
    run_dir = _shared_run_dir(config)
    layout = RunLayout(run_dir)
    if config.resume or config.output_dir:  # the folder's own config rules (resume keeps what it ran with)
        config = load_train_config(run_dir, output_dir=str(run_dir), resume="")
    main = _is_main_process()
    if main:
        jobs.write_status(run_dir, RunStatus.RUNNING, "loading model and data", pid=os.getpid(), started=time.time())
    cancel = cb.CancelCallback().install()
    try:
        session = _TrainingSession(config, run_dir, progress, captioner)
        checkpoint = jobs.last_complete_checkpoint(layout.checkpoints_dir)
        if main:  # steps after the checkpoint (all of them without one) are redone: they leave the logs
            jobs.trim_to_step(layout, int(Path(checkpoint).name.rsplit("-", 1)[-1]) if checkpoint else 0)
        trainer = session.trainer(cancel)
        if checkpoint and jobs.checkpoint_is_final(checkpoint):  # the Trainer would take one step more
            session.load_checkpoint(checkpoint)
        else:
            trainer.train(resume_from_checkpoint=checkpoint)
        if not main:
            return run_dir
        step = trainer.state.global_step
        if cancel.cancelled:
            layout.update_config(adapter=str(session.save_adapter()))  # what it learnt, for the Runs page too
            message = f"cancelled at step {step}; continue with `rsic train --resume {run_dir}`"
            jobs.write_status(run_dir, RunStatus.CANCELLED, message, step=step)
            return run_dir
        session.finish(trainer)
        jobs.write_status(run_dir, RunStatus.COMPLETED, f"{step} steps", step=step)
        return run_dir
    except jobs.EvaluationCancelled:
        shutil.rmtree(layout.eval_dir, ignore_errors=True)
        message = (
            f"cancelled during the final evaluation, after all {step} steps (the adapter is saved); "
            f"`rsic train --resume {run_dir}` runs the evaluation"
        )
        jobs.write_status(run_dir, RunStatus.CANCELLED, message, step=step)
        return run_dir
    except BaseException as e:
        if main and made_here and not jobs.has_progress(layout):
            shutil.rmtree(run_dir, ignore_errors=True)  # a failed start (a typo) leaves no folder in runs/
        elif main:
            message = str(e) if isinstance(e, (ValueError, FileNotFoundError)) else f"{type(e).__name__}: {e}"
            jobs.write_status(run_dir, RunStatus.FAILED, message)
            layout.error_file.write_text(traceback.format_exc(), encoding="utf-8")
        raise
    finally:
        cancel.uninstall()


def check_splits(splits: dict[str, int], config: TrainConfig, dataset_name: str) -> None:
    """Refuse, before any step, a split the run needs that the dataset lacks (``splits``: its split counts).

    ``val_split`` counts when ``eval_steps`` is set, ``eval_split`` unless ``predict_limit`` is -1.

    Raises:
        ValueError: naming the split, the option that chose it and the splits there are.
    """
    wanted = [("--train-split", config.train_split, "")]
    if config.eval_steps:
        wanted.append(("--val-split", config.val_split, " or --eval-steps 0 (no validation)"))
    if config.predict_limit >= 0:
        wanted.append(("--eval-split", config.eval_split, " or --predict-limit -1 (no final evaluation)"))
    for option, split, other in wanted:
        if split not in splits:
            raise ValueError(
                f"{dataset_name}: no split {split!r} ({option}); its splits are {', '.join(splits) or 'none'}: "
                f"choose one of them{other}"
            )


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
        self.layout = RunLayout(run_dir)
        self.dataset = load_dataset(config.data or _demo_data())
        check_splits(self.dataset.split_counts(), config, self.dataset.name)
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
        self.captioner.model, self.lora = apply_lora(
            self.captioner.model,
            family,
            config.lora_r,
            config.lora_alpha,
            config.lora_dropout,
            config.lora_targets,
            tuple(split_list(config.lora_require_towers)),
        )
        self.lora["pruned"] = {k: list(v) for k, v in pruned.items()}
        if _is_main_process():
            write_json(run_dir, self.layout.lora_file.name, self.lora)
        side = "left" if config.logits_only_labels else "right"
        self.collator = CaptionCollator(family, self.captioner.processor, padding_side=side)

    def trainer(self, cancel) -> object:
        """The Trainer, with the run's config as its arguments (checkpoints in the run's checkpoints/)."""
        from rsic_core.training import callbacks as cb

        args = copy.copy(self.config)  # every Trainer option as given; only the output folder is the Trainer's own
        args.output_dir = str(self.layout.checkpoints_dir)
        callbacks = [
            cb.RunLogCallback(self.run_dir, self.progress, self.collator),
            cancel,
            cb.RankReportCallback(self.run_dir, self.collator),
        ]
        if args.eval_steps:
            callbacks.append(cb.ValidationCallback(self.run_dir, self.validate, int(args.eval_steps)))
        trainer_class = _label_logits_trainer() if args.logits_only_labels else _trainer_class()
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
        model, step = self._trainer.model, self._trainer.state.global_step
        was_training = model.training
        model.eval()
        try:
            folder = self._evaluate(
                self.config.val_split,
                self.config.eval_limit,
                False,
                self.config.val_metrics,
                self.layout.val_step_dir(step),
                {"step": step},
            )
        finally:
            model.train(was_training)
        return _corpus(folder)

    def _evaluate(self, split, limit: int, efficiency: bool, metrics: str, out: Path, extra: dict, progress=None):
        from rsic_core.models.inference import CaptionConfig
        from rsic_core.runs.evaluation import EvalConfig, evaluate
        from rsic_core.scoring.metrics import ScoreConfig

        c = self.config
        config = EvalConfig(
            eval_split=split,
            eval_limit=limit or None,
            eval_efficiency=efficiency,
            caption=CaptionConfig(
                gen_num_beams=c.gen_num_beams,
                gen_max_new_tokens=c.gen_max_new_tokens,
                batch_size=c.per_device_eval_batch_size,
            ),
            scoring=ScoreConfig(score_metrics=tuple(split_list(metrics))),
        )
        extra = {"kind": RunKind.TRAINING_EVAL, "train_run": str(self.run_dir), "train_name": c.name, **extra}
        extra.setdefault("step", self._trainer.state.global_step)
        return evaluate(self._captioner(), self.dataset, split, config, out, progress, extra_config=extra)

    def load_checkpoint(self, checkpoint: str) -> None:
        """The weights and Trainer state of a checkpoint taken at the last step (the run only evaluates)."""
        from peft.utils import load_peft_weights, set_peft_model_state_dict
        from transformers import TrainerState

        set_peft_model_state_dict(self._trainer.model, load_peft_weights(checkpoint, device="cpu"))
        self._trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))

    def save_adapter(self) -> Path:
        folder = self.layout.adapter_dir
        self._trainer.model.save_pretrained(str(folder))
        return folder

    def finish(self, trainer) -> None:
        """Final adapter, then captions, scores and efficiency on the evaluation split."""
        adapter = self.save_adapter()
        self.captioner.adapter = str(adapter)
        self.layout.update_config(
            adapter=str(adapter),
            dataset_name=self.dataset.name,
            family=self.captioner.family.name,
            trainable_share=self.lora["share"],
            steps=trainer.state.global_step,
        )
        if self.config.predict_limit < 0:
            return
        trainer.model.eval()
        out, c = self.layout.eval_dir, self.config
        if out.exists():  # a resumed run that died while evaluating
            shutil.rmtree(out)
        jobs.cancel_stops_at_once()
        _evaluation_progress(self.run_dir, c.eval_split, 0, None)
        progress = functools.partial(_evaluation_progress, self.run_dir, c.eval_split)
        self._evaluate(c.eval_split, c.predict_limit, c.eval_efficiency, c.eval_metrics, out, {}, progress)
        if self.lora["pruned"]:
            self._save_pruned(out)
        for source, target in zip(RunLayout(out).record_files[1:], self.layout.record_files[1:]):
            if source.is_file():  # predictions, metrics, efficiency: the run folder itself reads as a run
                shutil.copyfile(source, target)

    def _save_pruned(self, eval_dir: Path) -> None:
        """A pruned base does not fit the original model: save the merged, pruned model (loadable as is)."""
        from rsic_core.runs.layout import load_run
        from rsic_core.scoring.efficiency import size_on_disk

        folder = self.layout.model_dir
        merged = self._trainer.model.merge_and_unload()
        merged.save_pretrained(str(folder))
        self.captioner.processor.save_pretrained(str(folder))
        report = load_run(eval_dir, with_predictions=False).efficiency
        if report:
            report["size_on_disk_bytes"], report["size_on_disk_kind"] = size_on_disk(path=folder)
            report["size_on_disk_kind"] += " (merged pruned model)"
            write_json(eval_dir, RunLayout.EFFICIENCY, report)
        self.layout.update_config(merged_model=str(folder))


def _evaluation_progress(run_dir: Path, split: str, done: int, total: int | None) -> None:
    """The status while the final evaluation runs (``total`` None: before the first batch)."""
    message = f"training done; final evaluation on the {split} split"
    if total is not None:
        message += f": {done} of {total} images captioned" + (", scoring" if done == total else "")
    jobs.write_status(run_dir, RunStatus.RUNNING, message)


def _corpus(folder: Path) -> dict:
    try:
        data = json.loads(RunLayout(folder).metrics.read_text(encoding="utf-8"))
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
    from rsic_core.models.registry import load_captioner

    return load_captioner(config.model, device=config.device_name, dtype=config.weights_dtype)


def _demo_data() -> Path:
    from rsic_core.data.demo.dataset import demo_dataset_dir

    return demo_dataset_dir()


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _shared_run_dir(config: TrainConfig) -> Path:
    """The run folder; under torchrun/accelerate the main process prepares it and tells the others (or why not)."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return prepare_run(config)
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    holder: list = [None]
    if PartialState().is_main_process:
        try:
            holder = [str(prepare_run(config))]
        except (ValueError, FileNotFoundError) as e:
            holder = [e]
    broadcast_object_list(holder)
    if isinstance(holder[0], Exception):
        raise holder[0]
    return Path(holder[0])
