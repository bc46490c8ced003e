"""Batched captioning: images in, one :class:`CaptionResult` per image out, in input order.

An image that cannot be read (corrupt, truncated, huge) gets a result with ``error`` set and no
caption instead of stopping the batch; the model runs on the readable ones.

Example::

    cap = load_captioner()                                  # the offline demo model
    results = caption_images(cap, ["a.jpg", "b.png"], CaptionConfig(gen_num_beams=5))
    results[0].caption, results[0].seconds
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rsic_core.data.images import MAX_IMAGE_PIXELS, image_name, load_image
from rsic_core.models.base import Captioner


@dataclass
class CaptionConfig:
    """How captions are generated."""

    gen_num_beams: int = field(
        default=1, metadata={"help": "Beam width; 1 = greedy, 5 as in the RSIC studies.", "aliases": ["--beams"]}
    )
    gen_max_new_tokens: int = field(
        default=30, metadata={"help": "Longest caption, in tokens.", "aliases": ["--max-new-tokens"]}
    )
    gen_min_new_tokens: int = field(
        default=0, metadata={"help": "Shortest caption, in tokens (benchmarks fix the length)."}
    )
    gen_prompt: str | None = field(
        default=None, metadata={"help": "Text prompt; default: the family's own ('caption en' for PaliGemma)."}
    )
    batch_size: int = field(default=8, metadata={"help": "Images per generate() call."})
    max_image_pixels: int = field(
        default=MAX_IMAGE_PIXELS, metadata={"help": "Refuse images larger than this many pixels."}
    )

    def __post_init__(self):
        for name in ("gen_num_beams", "gen_max_new_tokens", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")


@dataclass
class CaptionResult:
    """The caption of one image, or why there is none."""

    name: str  # the path or upload name of the image
    caption: str  # "" when ``error`` is set
    seconds: float  # time spent on this image (its share of the batch)
    error: str | None = None  # why the image could not be captioned

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return asdict(self)


def caption_images(
    captioner: Captioner,
    images: Sequence[Any],
    config: CaptionConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    names: Sequence[str] | None = None,
) -> list[CaptionResult]:
    """Caption ``images`` in batches.

    Args:
        captioner: from :func:`rsic_core.models.registry.load_captioner`.
        images: paths, bytes, uploads or PIL images (anything :func:`rsic_core.data.images.load_image` reads).
        config (None): generation settings (default :class:`CaptionConfig`).
        progress (None): ``callable(done, total)`` after each batch.
        names (None): names to report, one per image (default: path or upload name).

    Returns:
        One :class:`CaptionResult` per input image, in input order.
    """
    config = config or CaptionConfig()
    total = len(images)
    names = list(names) if names is not None else [image_name(image) for image in images]
    results: list[CaptionResult | None] = [None] * total
    for start in range(0, total, config.batch_size):
        began = time.perf_counter()
        loaded, indices = [], []
        for i in range(start, min(start + config.batch_size, total)):
            try:
                loaded.append(load_image(images[i], name=names[i], max_pixels=config.max_image_pixels))
                indices.append(i)
            except ValueError as e:
                results[i] = CaptionResult(names[i], "", 0.0, str(e))
        captions = generate_captions(captioner, loaded, config) if loaded else []
        share = (time.perf_counter() - began) / max(len(loaded), 1)
        for i, caption in zip(indices, captions):
            results[i] = CaptionResult(names[i], caption, share)
        if progress is not None:
            progress(min(start + config.batch_size, total), total)
    return results  # type: ignore[return-value]


def generate_captions(captioner: Captioner, images: list, config: CaptionConfig | None = None) -> list[str]:
    """Captions for one batch of PIL images (no error handling, no batching)."""
    import torch

    config = config or CaptionConfig()
    family = captioner.family
    inputs = family.encode(captioner.processor, images, prompt=config.gen_prompt)
    inputs = _to_device(inputs, captioner)
    prompt_length = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    with torch.inference_mode():
        sequences = captioner.model.generate(**inputs, **generation_kwargs(config))
    return family.decode(captioner.processor, sequences, prompt_length)


def generation_kwargs(config: CaptionConfig) -> dict:
    """Keyword arguments of ``model.generate`` for ``config`` (deterministic: no sampling)."""
    kwargs = {"do_sample": False, "num_beams": config.gen_num_beams, "max_new_tokens": config.gen_max_new_tokens}
    if config.gen_min_new_tokens:
        kwargs["min_new_tokens"] = config.gen_min_new_tokens
    if config.gen_num_beams > 1:
        kwargs["early_stopping"] = True
    return kwargs


def _to_device(inputs, captioner: Captioner) -> dict:
    moved = {}
    for key, value in inputs.items():
        value = value.to(captioner.device)
        if value.is_floating_point():
            value = value.to(captioner.dtype)
        moved[key] = value
    return moved
