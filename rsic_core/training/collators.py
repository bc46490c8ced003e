"""Training batches: (image, caption) pairs in, model inputs with caption-only labels out.

The collator stays on the CPU (the Trainer moves batches to the device). It reads each image with
:func:`rsic_core.data.images.load_image` and asks the model family to build the inputs
(:meth:`rsic_core.models.base.Family.encode`: the processor masks prompt, image and pad tokens; a BOS
token that some families put before the caption is masked here too), so the loss covers the
caption tokens and the closing EOS only.

An image that cannot be read is skipped and reported in :attr:`CaptionCollator.skipped` (and by
the training run in its log), never a crash; a batch whose images are all unreadable is filled
with the last readable example so the step still runs.

Example::

    pairs = caption_pairs(dataset.select(split="train"))
    collate = CaptionCollator(captioner.family, captioner.processor)
    batch = collate(pairs[:4])          # input_ids, pixel_values, attention_mask, labels, ...
    ScstCollator(captioner.family, captioner.processor)(image_references(records)[:4])  # images, references

SCST (:mod:`rsic_core.training.scst`) trains on images with all their references:
:func:`image_references` gives one example per image and :class:`ScstCollator` yields the loaded
images and their references (the inputs are built inside the loss, from the sampled captions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rsic_core.data.images import MAX_IMAGE_PIXELS, load_image
from rsic_core.models.base import IGNORE_INDEX


def caption_pairs(records: Iterable, captions_per_image: int = 0) -> list[dict]:
    """One training example per (image, reference caption).

    Args:
        records: :class:`~rsic_core.data.records.ImageRecord` objects (images marked missing are left out).
        captions_per_image (0): use at most this many references per image (0 = all, as the studies do).

    Returns:
        Dicts with ``image_id``, ``path`` and ``caption``.
    """
    pairs = []
    for record in records:
        if not record.has_image:
            continue
        captions = record.captions[:captions_per_image] if captions_per_image else record.captions
        pairs += [{"image_id": record.image_id, "path": str(record.path), "caption": c} for c in captions if c.strip()]
    return pairs


def image_references(records: Iterable) -> list[dict]:
    """One SCST example per image with a readable file and references: ``image_id``, ``path``, ``references``."""
    examples = []
    for record in records:
        references = [c for c in record.captions if c.strip()]
        if record.has_image and references:
            examples.append({"image_id": record.image_id, "path": str(record.path), "references": references})
    return examples


@dataclass
class CaptionCollator:
    """Turns a list of ``{"path", "caption"}`` examples into one batch of model inputs.

    Args:
        family: the model's :class:`~rsic_core.models.base.Family`.
        processor: the model's processor.
        padding_side ("right"): where pad tokens go; "left" puts every caption at the end of its row
            (needed to compute logits only over the caption positions).
        max_image_pixels: larger images are refused (and skipped).
        augment (none): an :class:`~rsic_core.training.augment.Augmenter` applied to every image read
            (training views: flips, rotations, crops).
    """

    family: Any
    processor: Any
    padding_side: str = "right"
    max_image_pixels: int = MAX_IMAGE_PIXELS
    augment: Any = None
    skipped: list[str] = field(default_factory=list)  # "path: why" for every unreadable image met
    batches: int = 0  # batches built by this process (each rank of a distributed run has its own)
    _fallback: tuple | None = field(default=None, repr=False)

    def __call__(self, examples: list[dict]) -> dict:
        if "scene" not in examples[0]:
            images, captions = self.read(examples, "caption")
            return self.encode(images, captions)
        import torch

        from rsic_core.training.scene_loss import SCENE_LABELS

        images, targets = self.read([{**e, "target": (e["caption"], e["scene"])} for e in examples], "target")
        batch = self.encode(images, [caption for caption, _ in targets])
        batch[SCENE_LABELS] = torch.tensor([scene for _, scene in targets])  # the scene head's targets
        return batch

    def read(self, examples: list[dict], target: str) -> tuple[list, list]:
        """The readable examples' images and their ``target`` values; unreadable ones are skipped and reported.

        A batch with no readable image takes the last readable example of an earlier batch, so the step still runs.
        """
        images, targets = [], []
        for example in examples:
            try:
                image = load_image(example["path"], max_pixels=self.max_image_pixels)
                images.append(self.augment(image) if self.augment else image)
                targets.append(example[target])
            except ValueError as e:
                self.skipped.append(str(e))
        if not images:
            if self._fallback is None:
                raise ValueError(
                    "no image of the first batch could be read: " + "; ".join(self.skipped[-len(examples) :])
                )
            images, targets = [self._fallback[0]], [self._fallback[1]]
        self._fallback = (images[-1], targets[-1])
        self.batches += 1
        return images, targets

    def encode(self, images: list, captions: list[str]) -> dict:
        """Model inputs for already loaded ``images`` with their target ``captions``."""
        tokenizer = self.processor.tokenizer
        batch = self.family.encode(self.processor, images, captions, padding_side=self.padding_side)
        if tokenizer.bos_token_id is not None:  # BLIP-2 keeps the BOS before the caption in its labels
            batch["labels"][batch["input_ids"] == tokenizer.bos_token_id] = IGNORE_INDEX
        return dict(batch)


@dataclass
class ScstCollator(CaptionCollator):
    """Turns ``{"path", "references"}`` examples into ``{"images": [PIL images], "references": [[str]]}``.

    Unreadable images are skipped and reported as :class:`CaptionCollator` does; :meth:`encode`
    builds the teacher-forced inputs of the sampled captions.
    """

    def __call__(self, examples: list[dict]) -> dict:
        images, references = self.read(examples, "references")
        return {"images": images, "references": [list(r) for r in references]}
