"""Self-critical sequence training (SCST) through the transformers Trainer, for any family that generates.

    rsic train --objective scst --scst-samples 5 --model XE_RUN --per-device-train-batch-size 16 --learning-rate 1e-3

(LoRA on the demo model: bench/bench_scst.py. Give each update many images: with 4 per step the
noisy updates lowered val CIDEr; a full model wants a far smaller learning rate, PureT's 5e-6.)

Per training image the model samples ``scst_samples`` captions with its own ``generate``
(``do_sample``, no top-k or top-p: the policy itself; the prompt and length limit of captioning);
each sample's reward ``r`` is its CIDEr-D against the image's references, the document frequencies
coming from the training references as in SCST (:class:`CiderD`, the formula of coco-caption's
CIDEr-D that :mod:`rsic_core.scoring` computes); its baseline ``b`` is the mean reward of the other
samples of the same image; the loss is ``-(r - b) * log p(sample)``, the log-probability summed over
exactly the tokens ``generate`` drew (through the first EOS), teacher-forced in the row layout of
the family's own training encoding (:meth:`~rsic_core.models.base.Family.encode`: image and prompt
tokens as in cross-entropy training; see :func:`sampled_batch`), averaged over samples. Encoding
the decoded text again would score other token sequences for about one sample in six on the demo
model (BPE splits, byte fragments, PaliGemma's location tokens, an EOS a cut sample never drew).

Samples are drawn with dropout off (``eval()``), then the model goes back to training mode for
the teacher-forced pass. Rewards use coco-caption's tokenisation in Python (lowercase words,
punctuation dropped: what the PTB tokenizer leaves of plain captions), not the Java tokenizer, so a
step does not start a JVM. :class:`ScstTrainer` logs the mean reward and baseline with each loss.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rsic_core.models.base import IGNORE_INDEX, image_token_id
from rsic_core.training.losses import labels_shifted, sequence_log_probs

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def words(text: str) -> str:
    """A caption as coco-caption scores it: lowercase words separated by single spaces, punctuation dropped."""
    return " ".join(_WORD.findall(str(text).lower()))


def _ngrams(sentence: str, n: int) -> Counter:
    tokens = sentence.split()
    return Counter(tuple(tokens[i : i + k]) for k in range(1, n + 1) for i in range(len(tokens) - k + 1))


class CiderD:
    """CIDEr-D (coco-caption's: tf-idf n-grams 1-4, clipped, Gaussian length penalty, x10) with fixed statistics.

    Args:
        corpus: the references of every image the document frequencies are counted over (SCST: the
            training split); each image counts once per n-gram, as coco-caption counts.
        n (4) / sigma (6.0): coco-caption's n-gram order and length-penalty width.

    Given the same references it scores, it gives exactly coco-caption's per-image CIDEr-D.
    """

    def __init__(self, corpus: Iterable[Sequence[str]], n: int = 4, sigma: float = 6.0):
        self.n, self.sigma = n, sigma
        self.df: Counter = Counter()
        images = 0
        for refs in corpus:
            images += 1
            self.df.update({g for ref in refs for g in _ngrams(words(ref), n)})
        if not images:
            raise ValueError("CIDEr-D needs at least one image with references to count document frequencies")
        self.log_images = math.log(float(images))
        self._refs: dict[tuple, list] = {}

    def _vector(self, counts: Counter) -> tuple[list[dict], list[float], int]:
        vec = [dict() for _ in range(self.n)]
        norm = [0.0] * self.n
        for gram, tf in counts.items():
            weight = float(tf) * (self.log_images - math.log(max(1.0, self.df[gram])))
            vec[len(gram) - 1][gram] = weight
            norm[len(gram) - 1] += weight * weight
        length = sum(tf for gram, tf in counts.items() if len(gram) == 2)  # coco-caption counts bigrams here
        return vec, [math.sqrt(x) for x in norm], length

    def _similarity(self, hyp, ref) -> float:
        (vh, nh, lh), (vr, nr, lr) = hyp, ref
        penalty = math.exp(-((lh - lr) ** 2) / (2 * self.sigma**2))
        total = 0.0
        for k in range(self.n):
            value = sum(min(w, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, w in vh[k].items())
            if nh[k] != 0 and nr[k] != 0:
                value /= nh[k] * nr[k]
            total += value * penalty
        return total / self.n

    def score(self, candidate: str, references: Sequence[str]) -> float:
        """CIDEr-D of one caption against its references (0 for no references or an empty caption)."""
        if not references:
            return 0.0
        key = tuple(references)
        if key not in self._refs:
            self._refs[key] = [self._vector(_ngrams(words(r), self.n)) for r in references]
        hyp = self._vector(_ngrams(words(candidate), self.n))
        return 10.0 * sum(self._similarity(hyp, ref) for ref in self._refs[key]) / len(references)

    def scores(self, candidates: Sequence[str], references: Sequence[Sequence[str]]) -> list[float]:
        """One CIDEr-D per candidate, each against its own references."""
        return [self.score(c, r) for c, r in zip(candidates, references)]


def self_critical_advantages(rewards):
    """``r - b`` for a ``(images, samples)`` tensor of rewards, ``b`` the mean reward of the image's other samples."""
    k = rewards.shape[1]
    if k < 2:
        raise ValueError("SCST needs at least 2 samples per image (scst_samples) for the baseline of the others")
    baseline = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)
    return rewards - baseline, baseline


@dataclass
class ScstSetup:
    """What the SCST loss needs besides the model and the batch."""

    family: Any
    processor: Any
    collator: Any  # a CaptionCollator: its ``encode`` builds the teacher-forced inputs
    reward: CiderD
    samples: int = 5
    max_new_tokens: int = 40
    generate_kwargs: dict = field(default_factory=dict)  # overrides (tests)


@dataclass
class Samples:
    """What :func:`sample_captions` drew: the captions as text and the token ids ``generate`` returned."""

    captions: list[str]
    sequences: Any  # (images * samples, length): generate's rows, image after image


def sample_captions(model, setup: ScstSetup, images: list, device) -> Samples:
    """``setup.samples`` sampled captions per image, image after image (dropout off while sampling)."""
    import torch

    inputs = setup.family.encode(setup.processor, images)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    prefix = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    kwargs = dict(do_sample=True, num_beams=1, top_k=0, top_p=1.0, temperature=1.0)
    kwargs |= dict(num_return_sequences=setup.samples, max_new_tokens=setup.max_new_tokens)
    image_id = image_token_id(setup.processor)
    if image_id is not None:  # a drawn image placeholder would be read as an image slot when teacher-forced
        kwargs["suppress_tokens"] = [image_id]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            sequences = model.generate(**inputs, **{**kwargs, **setup.generate_kwargs})
    finally:
        model.train(was_training)
    return Samples(setup.family.decode(setup.processor, sequences, prefix), sequences.cpu())


def _eos_ids(model, tokenizer) -> list[int]:
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    eos = tokenizer.eos_token_id if eos is None else eos
    return [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None]


def sampled_batch(setup: ScstSetup, images: list, samples: Samples, eos_ids: Sequence[int]) -> dict:
    """Teacher-forced inputs and labels of exactly the sampled tokens (not of the captions' text re-encoded).

    Decoding a sample and encoding its text again is not the identity: a byte-level BPE splits a word
    another way, a broken UTF-8 byte or a location token of PaliGemma's vocabulary decodes to text
    that encodes to other tokens, whitespace is normalised, and a sample cut at the length limit
    gets an EOS it never drew. So the family's training encoding of the captions gives the row's
    layout (image and prompt tokens, other inputs such as ``pixel_values``), and the caption part of
    every row is replaced by the tokens ``generate`` drew after that prompt, through the first EOS.

    Args:
        setup: see :class:`ScstSetup` (its collator's ``encode`` builds the layout, right-padded).
        images: one image per sample (each image repeated ``samples`` times).
        samples: what :func:`sample_captions` returned.
        eos_ids: the token ids that end a caption.

    Raises:
        ValueError: the rows ``generate`` returned do not begin with the training row's prompt.
    """
    import torch

    batch = setup.collator.encode(images, samples.captions)
    ids, labels = batch["input_ids"], batch["labels"]
    starts = (labels != IGNORE_INDEX).int().argmax(dim=1)
    start, sequences = int(starts[0]), samples.sequences.to(ids.device)
    if (
        bool((starts != start).any())
        or sequences.shape[1] < start
        or not torch.equal(sequences[:, :start], ids[:, :start])
    ):
        raise ValueError(
            f"{setup.family.title}: the sampled rows do not begin with the training row's {start} prompt tokens; "
            "SCST cannot teacher-force what was sampled"
        )
    drawn = sequences[:, start:]
    ended = torch.isin(drawn, torch.tensor(list(eos_ids), device=drawn.device))
    lengths = torch.where(ended.any(dim=1), ended.int().argmax(dim=1) + 1, drawn.shape[1])
    width = start + int(lengths.max())
    keep = torch.arange(width - start, device=drawn.device)[None, :] < lengths[:, None]
    pad = setup.processor.tokenizer.pad_token_id or 0
    out = {}
    for key, value in batch.items():
        if not (torch.is_tensor(value) and value.dim() == 2 and value.shape == ids.shape):
            out[key] = value
            continue
        tail = value[:, start : start + 1].expand(-1, width - start)  # the caption's value (token_type_ids: 1)
        if key == "input_ids":
            tail = torch.where(keep, _fit(drawn, width - start, pad), pad)
        elif key == "labels":
            tail = torch.where(keep, _fit(drawn, width - start, pad), IGNORE_INDEX)
        else:
            tail = torch.where(keep, tail, 0)
        out[key] = torch.cat([value[:, :start], tail.to(value.dtype)], dim=1)
    return out


def _fit(tokens, width: int, pad: int):
    """``tokens`` cut or right-padded with ``pad`` to ``width`` columns."""
    import torch.nn.functional as F

    return F.pad(tokens[:, :width], (0, max(0, width - tokens.shape[1])), value=pad)


def scst_loss(model, generator, inputs: dict, setup: ScstSetup, prepare) -> tuple[Any, dict]:
    """The SCST loss of one batch of ``{"images", "references"}`` and what to log of it.

    Args:
        model: the model as the Trainer calls it (maybe wrapped for distribution).
        generator: the unwrapped model (``generate``).
        inputs: the :class:`~rsic_core.training.collators.ScstCollator` batch.
        setup: see :class:`ScstSetup`.
        prepare: moves a batch to the model's device (the Trainer's ``_prepare_inputs``).

    Returns:
        The loss tensor and ``{"reward", "baseline", "reward_max"}`` (means over the batch).
    """
    import torch

    images, references = inputs["images"], inputs["references"]
    device = next(generator.parameters()).device
    samples = sample_captions(generator, setup, images, device)
    k = setup.samples
    repeated_refs = [refs for refs in references for _ in range(k)]
    rewards = torch.tensor(setup.reward.scores(samples.captions, repeated_refs), dtype=torch.float32)
    rewards = rewards.view(len(images), k)
    advantages, baseline = self_critical_advantages(rewards)
    repeated = [image for image in images for _ in range(k)]
    batch = prepare(sampled_batch(setup, repeated, samples, _eos_ids(generator, setup.processor.tokenizer)))
    labels = batch.pop("labels")
    outputs = model(**batch)
    log_probs = sequence_log_probs(outputs["logits"], labels, labels_shifted(generator))
    loss = -(advantages.flatten().to(log_probs.device) * log_probs).mean()
    stats = {
        "reward": float(rewards.mean()),
        "baseline": float(baseline.mean()),
        "reward_max": float(rewards.max(dim=1).values.mean()),
    }
    return loss, stats


def scst_trainer_class():
    """A ``transformers.Trainer`` whose loss is :func:`scst_loss` (built with ``scst=ScstSetup(...)``)."""
    from transformers import Trainer

    class ScstTrainer(Trainer):
        """Self-critical sequence training; logs mean reward and baseline with every loss."""

        loss_is_scaled_for_ga = False  # a per-batch mean: the Trainer divides it by the accumulation steps

        def __init__(self, *args, scst: ScstSetup, **kwargs):
            super().__init__(*args, **kwargs)
            self.scst, self._stats = scst, []

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            generator = self.accelerator.unwrap_model(model)
            loss, stats = scst_loss(model, generator, inputs, self.scst, self._prepare_inputs)
            self._stats.append(stats)
            return (loss, None) if return_outputs else loss

        def log(self, logs, start_time=None):
            if "loss" in logs and self._stats:
                logs = {**logs, **{k: sum(s[k] for s in self._stats) / len(self._stats) for k in self._stats[0]}}
                self._stats = []
            super().log(logs, start_time)

    return ScstTrainer
