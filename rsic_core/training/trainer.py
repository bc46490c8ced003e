"""Fine-tuning a captioning model with the transformers Trainer: LoRA (peft) or full, cross-entropy or SCST.

    rsic train --model demo --lora-r 8 --max-steps 200          # or: train(TrainConfig(...))
    rsic train --model XE_RUN --objective scst --train-mode full  # SCST after a cross-entropy run (modes.py, scst.py)

A run folder (under :func:`rsic_core.paths.runs_dir` unless ``output_dir`` is given; files named by
:class:`rsic_core.runs.layout.RunLayout`) holds::

    config.json          # the exact TrainConfig, every field (plus kind/adapter/split keys the Runs page reads;
                         # train_captions_set: path, name, sha256 and preprocessing config of the caption set)
    status.json          # queued/running/completed/failed/cancelled, pid, step, max_steps, message
    train_log.jsonl      # loss and learning rate per logged step (the Train page tails it)
    val_metrics.jsonl    # corpus scores on the validation subset every eval_steps
    lora.json            # mode; LoRA targets and modules wrapped per tower (or frozen towers); trainable share
    checkpoints/         # Trainer checkpoints (adapter or model safetensors, optimizer, scheduler, RNG)
    adapter/             # the final adapter of a LoRA run (peft save_pretrained: adapter_model.safetensors)
    model/               # the whole model of a full run (or a merged LoRA one: pruned, or started from a run)
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
import pickle
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rsic_core.models.checkpoints import checkpoint_refusal
from rsic_core.options import split_list
from rsic_core.runs.layout import RunKind, RunLayout, RunStatus, write_json
from rsic_core.training import jobs
from rsic_core.training.config import TrainConfig, load_train_config
from rsic_core.training.run_folders import check_splits, shared_run_dir


def train(config: TrainConfig, progress: Callable[[int, int], None] | None = None, captioner=None) -> Path:
    """Train an adapter or the whole model; returns the run folder.

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
    run_dir = shared_run_dir(config)
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
        try:
            if checkpoint and jobs.checkpoint_is_final(checkpoint):  # the Trainer would take one step more
                session.load_checkpoint(checkpoint)
            else:
                trainer.train(resume_from_checkpoint=checkpoint)
        except pickle.UnpicklingError:  # torch's weights-only refusal of a planted pickle (its advice is not shown)
            raise ValueError(checkpoint_refusal(checkpoint)) from None
        if not main:
            return run_dir
        step = trainer.state.global_step
        if cancel.cancelled:
            layout.update_config(**session.save_weights())  # what it learnt, for the Runs page too
            message = f"cancelled at step {step}; continue with `rsic train --resume {run_dir}`"
            jobs.write_status(run_dir, RunStatus.CANCELLED, message, step=step)
            return run_dir
        session.finish(trainer)
        note = f"; {session.captions_note}" if session.captions_note else ""
        jobs.write_status(run_dir, RunStatus.COMPLETED, f"{step} steps{note}", step=step)
        return run_dir
    except jobs.EvaluationCancelled:
        shutil.rmtree(layout.eval_dir, ignore_errors=True)
        message = (
            f"cancelled during the final evaluation, after all {step} steps (the trained weights are saved); "
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


class _TrainingSession:
    """The pieces of one run: captioner (LoRA or full), datasets, collator, Trainer, final evaluation."""

    def __init__(self, config: TrainConfig, run_dir: Path, progress, captioner=None):
        from transformers import set_seed

        from rsic_core.data.datasets import load_dataset
        from rsic_core.data.demo.dataset import demo_dataset_dir
        from rsic_core.text.guard import check_natural_language
        from rsic_core.training.augment import Augmenter
        from rsic_core.training.collators import CaptionCollator, ScstCollator, caption_pairs, image_references
        from rsic_core.training.losses import use_label_window
        from rsic_core.training.modes import load_start, prepare_model, start_model
        from rsic_core.training.pruning import prune_layers
        from rsic_core.training.scene_loss import scene_targets

        self.config, self.run_dir, self.progress = config, run_dir, progress
        self.layout = RunLayout(run_dir)
        self.dataset = load_dataset(config.data or demo_dataset_dir())
        check_splits(self.dataset.split_counts(), config, self.dataset.name)  # before any model is loaded
        records = [r for r in self.dataset.select(split=config.train_split) if r.has_image]
        self.captions_note = None
        if config.train_captions:  # targets from a preprocessed set; validation and evaluation keep the dataset's
            records = self._use_caption_set(records)
        records = records[: config.train_limit] if config.train_limit else records
        self.pairs = caption_pairs(records, config.captions_per_image)
        self.scene_classes, self.pairs = scene_targets(records, self.pairs, config)  # [] and as they are when off
        if _is_main_process():  # the Runs page names the data of a run that stops early too
            self.layout.update_config(dataset_name=self.dataset.name, scene_classes=self.scene_classes or None)
        if not self.pairs:
            raise ValueError(
                f"{self.dataset.name}: no training pairs in split {config.train_split!r} "
                f"(splits: {self.dataset.split_counts()})"
            )
        check_natural_language([p["caption"] for p in self.pairs]).raise_if_failed()
        self.examples = image_references(records) if config.objective == "scst" else self.pairs
        self.val_subset = self._validation_subset() if config.eval_steps else None
        self.merged_start = captioner is None and start_model(config.model)[1] is not None
        self.captioner = load_start(config) if captioner is None else captioner
        if config.attn_implementation:
            self.captioner.model.set_attn_implementation(config.attn_implementation)
        self.captioner.model.train()
        family = self.captioner.family
        pruned = prune_layers(self.captioner.model, family, config.prune_qformer_layers, config.prune_lm_layers)
        set_seed(config.seed)
        self.captioner.model, self.lora = prepare_model(self.captioner.model, family, config)
        self.lora["pruned"] = {k: list(v) for k, v in pruned.items()}
        if _is_main_process():
            write_json(run_dir, self.layout.lora_file.name, self.lora)
        side = "left" if use_label_window(config, self.captioner.model) else "right"  # the window needs left
        collator = ScstCollator if config.objective == "scst" else CaptionCollator
        augment = Augmenter(split_list(config.augment), seed=config.seed)
        self.collator = collator(family, self.captioner.processor, padding_side=side, augment=augment)

    def _use_caption_set(self, records: list) -> list:
        """The training records with the caption set's captions as targets; the set is recorded in config.json."""
        from rsic_core.data.caption_sets import read_caption_set, train_targets

        started = self.layout.read_config().get("train_captions_set") or {}  # a resumed run: what it started with
        captions = read_caption_set(self.config.train_captions, expect_sha256=started.get("sha256"))
        records, self.captions_note = train_targets(captions, self.dataset, records, self.config.train_split)
        if _is_main_process():
            self.layout.update_config(train_captions_set={**captions.describe(), "note": self.captions_note})
        return records

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
            images = self.val_subset.description
            callbacks.append(cb.ValidationCallback(self.run_dir, self.validate, int(args.eval_steps), images))
        trainer_class, extra = self._trainer_class()
        if self.config.train_mode == "full":
            from rsic_core.training.modes import full_model_trainer

            trainer_class = full_model_trainer(trainer_class)
        self._trainer = trainer_class(
            model=self.captioner.model,
            args=args,
            train_dataset=self.examples,
            data_collator=self.collator,
            callbacks=callbacks,
            **extra,
        )
        return self._trainer

    def _trainer_class(self) -> tuple[type, dict]:
        """The Trainer subclass of the run's objective and its extra init arguments."""
        from rsic_core.training.losses import caption_trainer

        if self.config.objective == "xe" and self.scene_classes:
            from rsic_core.training.scene_loss import scene_loss_trainer

            trainer_class, extra = caption_trainer(self.config, self.captioner.model)
            batch = self.collator(self.examples[:1])  # one real batch tells the tower's width
            return scene_loss_trainer(trainer_class, self.captioner, batch, self.scene_classes, self.config), extra
        if self.config.objective == "xe":
            return caption_trainer(self.config, self.captioner.model)
        from rsic_core.models.inference import CaptionConfig, fit_token_limits
        from rsic_core.training import scst

        limits, _ = fit_token_limits(self.captioner, CaptionConfig(gen_max_new_tokens=self.config.gen_max_new_tokens))
        reward = scst.CiderD(example["references"] for example in self.examples)
        setup = scst.ScstSetup(
            self.captioner.family, self.captioner.processor, self.collator, reward, self.config.scst_samples
        )
        setup.max_new_tokens = limits.gen_max_new_tokens
        return scst.scst_trainer_class(), {"scst": setup}

    def _captioner(self):
        """The model being trained, as a Captioner on the Trainer's device."""
        import dataclasses

        model = self._trainer.model
        device = str(next(model.parameters()).device)
        return dataclasses.replace(self.captioner, model=model, device=device)

    def _validation_subset(self):
        """The validation images: those the run recorded (a resumed run), else a new sample, recorded as val_subset."""
        from rsic_core.runs.evaluation import split_subset

        c, recorded = self.config, self.layout.read_config().get("val_subset") or {}
        subset = split_subset(self.dataset, c.val_split, c.val_limit, c.eval_seed, recorded.get("image_ids"))
        if not recorded and _is_main_process():
            self.layout.update_config(val_subset=subset.to_dict())
        return subset

    def validate(self) -> dict:
        """Corpus scores of the current weights on the validation subset (a run folder under val/)."""
        model, step = self._trainer.model, self._trainer.state.global_step
        was_training = model.training
        model.eval()
        try:
            c, out = self.config, self.layout.val_step_dir(step)
            folder = self._evaluate(
                c.val_split, c.val_limit, False, c.val_metrics, out, {"step": step}, None, self.val_subset
            )
        finally:
            model.train(was_training)
        return _corpus(folder)

    def _evaluate(
        self, split, limit, efficiency: bool, metrics: str, out: Path, extra: dict, progress=None, subset=None
    ):
        from rsic_core.models.inference import CaptionConfig
        from rsic_core.runs.evaluation import EvalConfig, evaluate
        from rsic_core.scoring.metrics import ScoreConfig

        c = self.config
        config = EvalConfig(
            eval_split=split,
            eval_limit=limit or None,
            eval_seed=c.eval_seed,
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
        return evaluate(self._captioner(), self.dataset, split, config, out, progress, extra, subset=subset)

    def load_checkpoint(self, checkpoint: str) -> None:
        """The weights and Trainer state of a checkpoint taken at the last step (the run only evaluates)."""
        from transformers import TrainerState

        from rsic_core.training.modes import load_checkpoint_weights

        load_checkpoint_weights(self._trainer.model, checkpoint, self.config.train_mode)
        self._trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))

    def save_weights(self) -> dict:
        """Save what the run trained (adapter/, or model/ for a full run); returns the config keys naming it."""
        from rsic_core.training.checks import check_saved_weights
        from rsic_core.training.modes import save_model_folder

        if self.config.train_mode == "full":
            folder = save_model_folder(self._trainer.model, self.captioner.processor, self.layout.model_dir)
            check_saved_weights(folder)  # NaN/inf weights fail the run instead of "completed"
            return {"adapter": None, "merged_model": str(folder)}
        self._trainer.model.save_pretrained(str(self.layout.adapter_dir))
        check_saved_weights(self.layout.adapter_dir)
        return {"adapter": str(self.layout.adapter_dir)}

    def finish(self, trainer) -> None:
        """Final adapter or model, then captions, scores and efficiency on the evaluation split."""
        saved = self.save_weights()
        self.captioner.adapter = saved["adapter"]
        if saved.get("merged_model"):  # the evaluation run names the model folder it scored
            self.captioner.name = saved["merged_model"]
        self.layout.update_config(
            **saved,
            train_mode=self.config.train_mode,
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
        self.layout.update_config(subset=RunLayout(out).read_config().get("subset"))  # what the run's scores cover
        if self.config.train_mode == "lora" and (self.lora["pruned"] or self.merged_start):
            self._save_merged(out)
        for source, target in zip(RunLayout(out).record_files[1:], self.layout.record_files[1:]):
            if source.is_file():  # predictions, metrics, efficiency: the run folder itself reads as a run
                shutil.copyfile(source, target)

    def _save_merged(self, eval_dir: Path) -> None:
        """The adapter fits no model on disk (a pruned base, or a start with a merged adapter): save the merged model."""
        from rsic_core.runs.layout import load_run
        from rsic_core.scoring.efficiency import size_on_disk
        from rsic_core.training.modes import save_model_folder

        folder = save_model_folder(self._trainer.model, self.captioner.processor, self.layout.model_dir)
        report = load_run(eval_dir, with_predictions=False).efficiency
        if report:
            report["size_on_disk_bytes"], report["size_on_disk_kind"] = size_on_disk(path=folder)
            report["size_on_disk_kind"] += " (merged model)"
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


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0
