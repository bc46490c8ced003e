"""Batched captioning: images in, one :class:`CaptionResult` per image out, in input order.

An image that cannot be read (corrupt, truncated, huge) gets a result with ``error`` set and no
caption instead of stopping the batch; the model runs on the readable ones. A result's ``note`` says
what was done that the user should know: how a 16-bit or multi-band raster was shown to the model
(bands, stretch; ``CaptionConfig.image_bands`` picks the bands), or token limits capped at the
model's context.

Example::

    cap = load_captioner()                                  # the offline demo model
    results = caption_images(cap, ["a.jpg", "b.png"], CaptionConfig(gen_num_beams=5))
    results[0].caption, results[0].seconds
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rsic_core.data.images import MAX_IMAGE_PIXELS, image_name, read_image
from rsic_core.data.rasters import parse_bands
from rsic_core.models.base import Captioner


@dataclass
class CaptionConfig:
    """How captions are generated."""

    gen_num_beams: int = field(
        default=1, metadata={"help": "Beam width; 1 = greedy, 5 as in the RSIC studies.", "aliases": ["--beams"]}
    )
    gen_max_new_tokens: int = field(
        default=30,
        metadata={
            "help": "Longest caption, in tokens (capped, with a note, at what the model's context leaves).",
            "aliases": ["--max-new-tokens"],
        },
    )
    gen_min_new_tokens: int = field(
        default=0, metadata={"help": "Shortest caption, in tokens (benchmarks fix the length); at most the longest."}
    )
    gen_prompt: str | None = field(
        default=None, metadata={"help": "Text prompt; default: the family's own ('caption en' for PaliGemma)."}
    )
    batch_size: int = field(default=8, metadata={"help": "Images per generate() call."})
    max_image_pixels: int = field(
        default=MAX_IMAGE_PIXELS, metadata={"help": "Refuse images larger than this many pixels."}
    )
    image_bands: str = field(
        default="",
        metadata={
            "help": "1-based band numbers, comma separated, for multi-band rasters (e.g. 4,3,2); "
            "empty = RGB from metadata or the first three."
        },
    )

    def __post_init__(self):
        for name in ("gen_num_beams", "gen_max_new_tokens", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")
        parse_bands(self.image_bands, "image_bands")  # refused here, not once per image
        if self.gen_min_new_tokens < 0:
            raise ValueError(f"gen_min_new_tokens must be 0 or more (got {self.gen_min_new_tokens})")
        if self.gen_min_new_tokens > self.gen_max_new_tokens:
            raise ValueError(
                f"gen_min_new_tokens ({self.gen_min_new_tokens}) is greater than gen_max_new_tokens "
                f"({self.gen_max_new_tokens}); the shortest caption cannot be longer than the longest"
            )


@dataclass
class CaptionResult:
    """The caption of one image, or why there is none."""

    name: str  # the path or upload name of the image
    caption: str  # "" when ``error`` is set
    seconds: float  # time spent on this image (its share of the batch)
    error: str | None = None  # why the image could not be captioned
    note: str | None = None  # what was done that the user should know (16-bit or multi-band image, token limits)

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
        images: paths, bytes, uploads or PIL images (anything :func:`rsic_core.data.images.read_image` reads;
            16-bit and multi-band rasters are stretched, with ``config.image_bands``, and the result's note says how).
        config (None): generation settings (default :class:`CaptionConfig`); token limits beyond the
            model's context are capped (see :func:`fit_token_limits`) and each result's ``note`` says so.
        progress (None): ``callable(done, total)`` after each batch.
        names (None): names to report, one per image (default: path or upload name).

    Returns:
        One :class:`CaptionResult` per input image, in input order.
    """
    results: list[CaptionResult] = []
    for batch in iter_captions(captioner, images, config, names):
        results += batch
        if progress is not None:
            progress(len(results), len(images))
    return results


def iter_captions(
    captioner: Captioner,
    images: Sequence[Any],
    config: CaptionConfig | None = None,
    names: Sequence[str] | None = None,
) -> Iterator[list[CaptionResult]]:
    """:func:`caption_images` one batch at a time: each batch's results, in input order, as soon as it is done.

    A caller that writes results as they come (``rsic caption --out``) keeps every finished batch
    if a later one fails or the process is stopped.
    """
    config, capped = fit_token_limits(captioner, config or CaptionConfig())
    names = list(names) if names is not None else [image_name(image) for image in images]
    for start in range(0, len(images), config.batch_size):
        began = time.perf_counter()
        batch: list[CaptionResult] = []
        loaded = []
        for i in range(start, min(start + config.batch_size, len(images))):
            try:
                image = read_image(images[i], names[i], max_pixels=config.max_image_pixels, bands=config.image_bands)
                loaded.append(image.image)
                batch.append(
                    CaptionResult(names[i], "", 0.0, note="; ".join(filter(None, (image.note, capped))) or None)
                )
            except ValueError as e:
                batch.append(CaptionResult(names[i], "", 0.0, str(e)))
        captions = iter(generate_captions(captioner, loaded, config) if loaded else [])
        share = (time.perf_counter() - began) / max(len(loaded), 1)
        for result in batch:
            if result.ok:
                result.caption, result.seconds = next(captions), share
        yield batch


def fit_token_limits(captioner: Captioner, config: CaptionConfig) -> tuple[CaptionConfig, str | None]:
    """``config`` with its token limits capped at what the model's context leaves after the prompt.

    The context is the family's :meth:`~rsic_core.models.base.Family.max_text_tokens` (the language
    model's ``max_position_embeddings``); the prompt (image tokens, BOS, prompt text) comes first.

    Returns:
        The config to generate with, and a sentence saying what was capped (None when nothing was).

    Raises:
        ValueError: the prompt alone fills the context.
    """
    context = captioner.family.max_text_tokens(captioner.model.config)
    if context is None:
        return config, None
    used = prompt_length(captioner, config.gen_prompt)
    room = context - used
    if room < 1:
        raise ValueError(
            f"the prompt takes {used} of the {context} positions of {captioner.name}: no room is left for a caption"
        )
    if config.gen_max_new_tokens <= room:
        return config, None
    capped = replace(config, gen_max_new_tokens=room, gen_min_new_tokens=min(config.gen_min_new_tokens, room))
    limits = f"gen_max_new_tokens {config.gen_max_new_tokens}" + (
        f" and gen_min_new_tokens {config.gen_min_new_tokens}" if config.gen_min_new_tokens > room else ""
    )
    note = f"{limits} capped at {room}: the model's context holds {context} tokens and the prompt takes {used}"
    return capped, note


def prompt_length(captioner: Captioner, prompt: str | None = None) -> int:
    """How many positions the model input takes before the first generated token (image tokens included)."""
    from PIL import Image

    inputs = captioner.family.encode(captioner.processor, [Image.new("RGB", (32, 32))], prompt=prompt)
    return int(inputs["input_ids"].shape[1]) if "input_ids" in inputs else 1  # no text: generation starts at BOS


def generate_captions(captioner: Captioner, images: list, config: CaptionConfig | None = None) -> list[str]:
    """Captions for one batch of PIL images (no error handling, no batching).

    Token limits never run past the model's context (see :func:`fit_token_limits`, which also says so).
    """
    import torch

    config = config or CaptionConfig()
    family = captioner.family
    inputs = family.encode(captioner.processor, images, prompt=config.gen_prompt)
    inputs = _to_device(inputs, captioner)
    prefix = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    kwargs = generation_kwargs(config)
    context = family.max_text_tokens(captioner.model.config)
    if context is not None and kwargs["max_new_tokens"] > context - prefix:
        kwargs["max_new_tokens"] = max(context - prefix, 1)
        if "min_new_tokens" in kwargs:
            kwargs["min_new_tokens"] = min(kwargs["min_new_tokens"], kwargs["max_new_tokens"])
    with torch.inference_mode():
        sequences = captioner.model.generate(**inputs, **kwargs)
    return family.decode(captioner.processor, sequences, prefix)


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
