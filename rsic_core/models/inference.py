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

Speed switches (``CaptionConfig.gen_cache``, ``gen_compile``, ``prefetch``), all "auto" by default: on
CUDA, a static KV cache where transformers marks the generating model compilable (BLIP-2's and BITA's
OPT; not PaliGemma, BLIP or PureT), with transformers' own ``torch.compile`` of the decoding step, the last
short batch padded to the batch size so the compiled graph is reused, and the next batch read and
preprocessed in a thread while the model generates. On CPU the defaults change nothing. Per-image
``prompts`` are captioned in batches of one prompt each, shortest prompt first (no padding inside a batch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rsic_core.data.images import MAX_IMAGE_PIXELS, image_name, read_image
from rsic_core.data.rasters import parse_bands
from rsic_core.models.base import Captioner
from rsic_core.models.generation_speed import compiling, prefetching, speed_kwargs
from rsic_core.options import check_number_fields

GEN_CACHES = ("auto", "static", "dynamic")
GEN_COMPILES = ("auto", "on", "off")
PREFETCH = ("auto", "on", "off")
_TOKENIZER_LOCK = threading.Lock()  # a fast tokenizer is not safe to use from two threads at once


DEFAULT_MAX_NEW_TOKENS = 30  # one default for every caption: pages, commands, a training run's evaluation


@dataclass
class CaptionConfig:
    """How captions are generated."""

    gen_num_beams: int = field(
        default=1, metadata={"help": "Beam width; 1 = greedy, 5 as in the RSIC studies.", "aliases": ["--beams"]}
    )
    gen_max_new_tokens: int = field(
        default=DEFAULT_MAX_NEW_TOKENS,
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

    gen_cache: str = field(
        default="auto",
        metadata={
            "help": "KV cache of generate(): auto (static on CUDA where transformers marks the model compilable, "
            "dynamic otherwise), static or dynamic."
        },
    )
    gen_compile: str = field(
        default="auto",
        metadata={
            "help": "torch.compile of the decoding step with a static cache, as transformers' generate does it: "
            "auto (on CUDA), on (also on CPU: slow to start) or off."
        },
    )
    prefetch: str = field(
        default="auto",
        metadata={"help": "Read and preprocess the next batch while the model generates: auto (on CUDA), on or off."},
    )

    def __post_init__(self):
        check_number_fields(self)  # a JSON true or a nan is not a beam width
        for name, allowed in (("gen_cache", GEN_CACHES), ("gen_compile", GEN_COMPILES), ("prefetch", PREFETCH)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {getattr(self, name)!r})")
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
    prompts: Sequence[str | None] | None = None,
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
        prompts (None): one text prompt per image (None in it: ``config.gen_prompt``); images are then captioned
            in batches of one prompt each, shortest prompt first.

    Returns:
        One :class:`CaptionResult` per input image, in input order.
    """
    found: dict[int, CaptionResult] = {}
    for batch in _captioned(captioner, images, config, names, prompts):
        found.update(batch)
        if progress is not None:
            progress(len(found), len(images))
    return [found[i] for i in range(len(images))]


def iter_captions(
    captioner: Captioner,
    images: Sequence[Any],
    config: CaptionConfig | None = None,
    names: Sequence[str] | None = None,
    prompts: Sequence[str | None] | None = None,
) -> Iterator[list[CaptionResult]]:
    """:func:`caption_images` one batch at a time: each batch's results, in input order, as soon as it is done.

    A caller that writes results as they come (``rsic caption --out``) keeps every finished batch
    if a later one fails or the process is stopped. With ``prompts`` that differ, the batches come
    grouped by prompt (shortest first), each in input order within itself.
    """
    for batch in _captioned(captioner, images, config, names, prompts):
        yield list(batch.values())


def _captioned(captioner: Captioner, images, config, names, prompts) -> Iterator[dict[int, CaptionResult]]:
    """Each batch's results by input index, in the order of :func:`batch_plan`."""
    config = config or CaptionConfig()
    names = list(names) if names is not None else [image_name(image) for image in images]
    plan = batch_plan(captioner, len(images), config, prompts)
    limits = {prompt: fit_token_limits(captioner, replace(config, gen_prompt=prompt)) for prompt, _ in plan}
    if compiling(captioner, config):  # a short last batch would compile the graph again: fill it with repeats
        plan = [(prompt, rows + [rows[-1]] * (config.batch_size - len(rows))) for prompt, rows in plan]

    def prepare(step):
        prompt, rows = step
        return _prepare_batch(captioner, images, names, rows, *limits[prompt])

    for rows, results, loaded, inputs, began, generation in _ahead(prepare, plan, prefetching(captioner, config)):
        captions = iter(_generate(captioner, inputs, generation) if loaded else [])
        share = (time.perf_counter() - began) / max(len(loaded), 1)
        seen = {}
        for row, result in zip(rows, results):
            if row in seen:  # a repeat that filled the batch
                continue
            if result.ok:
                result.caption, result.seconds = next(captions), share
            seen[row] = result
        yield seen


def batch_plan(
    captioner: Captioner, count: int, config: CaptionConfig, prompts: Sequence[str | None] | None = None
) -> list[tuple[str | None, list[int]]]:
    """The batches to run: ``(prompt, image indices)``, at most ``config.batch_size`` images of one prompt each.

    Without ``prompts`` (or with one prompt for all) the batches follow the input order. Otherwise images
    are grouped by prompt, the prompt with the fewest tokens first, so no batch pads one prompt to another.
    """
    if prompts is not None and len(prompts) != count:
        raise ValueError(f"{len(prompts)} prompts for {count} images: give one prompt per image")
    groups: dict[str | None, list[int]] = {}
    for i in range(count):
        prompt = prompts[i] if prompts is not None else None
        groups.setdefault(config.gen_prompt if prompt is None else prompt, []).append(i)
    order = sorted(groups, key=lambda prompt: (_prompt_tokens(captioner, prompt), prompt or ""))
    size = config.batch_size
    return [(prompt, groups[prompt][i : i + size]) for prompt in order for i in range(0, len(groups[prompt]), size)]


def _prompt_tokens(captioner: Captioner, prompt: str | None) -> int:
    if not prompt:
        return 0
    with _TOKENIZER_LOCK:
        return len(captioner.processor.tokenizer(prompt, add_special_tokens=False)["input_ids"])


def _prepare_batch(captioner: Captioner, images, names, rows: list[int], config: CaptionConfig, capped: str | None):
    """Read the images of ``rows`` and encode the readable ones (CPU tensors): what the prefetch thread does."""
    began = time.perf_counter()
    results: list[CaptionResult] = []
    loaded = []
    for i in rows:
        try:
            image = read_image(images[i], names[i], max_pixels=config.max_image_pixels, bands=config.image_bands)
            loaded.append(image.image)
            results.append(CaptionResult(names[i], "", 0.0, note="; ".join(filter(None, (image.note, capped))) or None))
        except ValueError as e:
            results.append(CaptionResult(names[i], "", 0.0, str(e)))
    inputs = encode_images(captioner, loaded, config) if loaded else None
    return rows, results, loaded, inputs, began, config


def _ahead(prepare: Callable, steps: list, prefetch: bool) -> Iterator:
    """``prepare(step)`` for each step; with ``prefetch`` the next step is prepared in a thread meanwhile."""
    if not prefetch:
        yield from (prepare(step) for step in steps)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rsic-prefetch") as pool:
        pending = None
        for step in steps:
            upcoming = pool.submit(prepare, step)
            if pending is not None:
                yield pending.result()
            pending = upcoming
        if pending is not None:
            yield pending.result()


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
    config = config or CaptionConfig()
    return _generate(captioner, encode_images(captioner, images, config), config)


def encode_images(captioner: Captioner, images: list, config: CaptionConfig):
    """The model inputs of one batch (CPU tensors), through the family's processor."""
    with _TOKENIZER_LOCK:
        return captioner.family.encode(captioner.processor, images, prompt=config.gen_prompt)


def _generate(captioner: Captioner, inputs, config: CaptionConfig) -> list[str]:
    import torch

    family = captioner.family
    inputs = _to_device(inputs, captioner)
    prefix = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    kwargs = {**generation_kwargs(config), **speed_kwargs(captioner, config)}
    context = family.max_text_tokens(captioner.model.config)
    if context is not None and kwargs["max_new_tokens"] > context - prefix:
        kwargs["max_new_tokens"] = max(context - prefix, 1)
        if "min_new_tokens" in kwargs:
            kwargs["min_new_tokens"] = min(kwargs["min_new_tokens"], kwargs["max_new_tokens"])
    with torch.inference_mode():
        sequences = captioner.model.generate(**inputs, **kwargs)
    with _TOKENIZER_LOCK:
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
