"""Where the model looked: one heatmap over the image for every word of a generated caption.

:func:`explain_image` generates the caption exactly as :func:`~rsic_core.models.inference.generate_captions`
does (same prompt, beams and token limits, one image per call), feeds the generated sequence back
through the model once (teacher forcing: the same computation that produced each token), asks the
family for one map over its image grid per generated token
(:meth:`~rsic_core.models.base.Family.grounding_maps`) and averages the maps of each word's tokens.
A heatmap is kept at the model's own grid (PaliGemma's patches, BLIP's ViT patches): that is what
the model has; :func:`upsample` brings it to the image's pixels for overlays and the pointing game.

Methods (a family lists those it supports, its default first):

- ``"attention"``: **attention rollout** (Abnar & Zuidema, 2020) of the decoder's attention, heads
  averaged: each layer's attention plus the residual path (0.5 A + 0.5 I, rows renormalised),
  multiplied through the layers, read at the position that generated the token. Rollout rather than
  the mean of the last layers because in a decoder-only model (PaliGemma) the image tokens mix with
  each other layer after layer: the last layer's attention to image token i is attention to what i
  has become, rollout follows it back to the patches. BLIP, whose decoder reads the image only through
  cross-attention, averages its cross-attention over heads and layers; BLIP-2 chains the language
  model's rollout over its query tokens with the Q-Former's cross-attention from the queries to the patches.
- ``"grad_x_act"``: **gradient x activation** on the image features the decoder reads (input x gradient, Shrikumar
  et al., 2017; Simonyan et al., 2014 for the gradient): the gradient of the token's log-probability times the
  features, summed over channels per image token, negative parts cut. Not Grad-CAM (Selvaraju et al., 2017), which
  would first average the gradient over the image tokens into one weight per channel; this keeps a gradient per
  token. Called ``"gradcam"`` before: that name still works (a DeprecationWarning) and means this method.
  Written here rather than with captum: captum is not a dependency of the project, and its
  ``InputXGradient`` would need a wrapper per family returning one token's score anyway, which is all
  this is (one backward pass per token).
- ``"lens"``: the **logit lens at the decoder's input** (nostalgebraist, 2020; used on image tokens by
  Neo et al., 2024): each image token's embedding, as the language model receives it, put through
  the final norm and the output embedding, read at the word's token. It says which patches *read as*
  the word to the model, whatever the decoder attended to when writing it. On the tiny demo model
  the decoder's attention and gradients point at the top rows of the grid (attention sinks) and its
  captions follow a template per class, so they land on objects no more often than chance; the lens lands on
  them 2.7x as often as chance (a layout prior of the training boxes: 1.85x; ``bench/bench_pointing.py``), so it
  is PaliGemma's default.

Example::

    explanation = explain_image(load_captioner(), "airport_1.jpg", CaptionConfig(gen_prompt="describe en"))
    explanation.caption, [w.word for w in explanation.words], explanation.words[4].heatmap.shape  # (5, 5)
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rsic_core.data.images import image_name, read_image
from rsic_core.models.base import Captioner
from rsic_core.models.inference import CaptionConfig, fit_token_limits, generation_kwargs
from rsic_core.text.words import is_scene_word

METHODS = {
    "attention": "attention rollout over the image tokens (cross-attention for BLIP, chained through the Q-Former "
    "for BLIP-2)",
    "grad_x_act": "gradient x activation on the image features the decoder reads (summed over channels; not "
    "Grad-CAM; 'gradcam' is its deprecated name)",
    "lens": "logit lens: each image token's input embedding read through the output embedding at the word",
}
DEPRECATED_METHODS = {"gradcam": "grad_x_act"}  # old name -> the method it always was


@dataclass
class WordHeatmap:
    """One word of the caption and where the model looked for it."""

    word: str
    tokens: list[int]  # positions in the generated sequence of the tokens that spell the word
    heatmap: np.ndarray  # rows x cols of the model's image grid, scaled to 0..1 (max = 1)

    @property
    def content(self) -> bool:
        """A word about the scene (not a function word, nor the caption's frame): the ones worth an overlay."""
        return is_scene_word(self.word)


@dataclass
class Explanation:
    """A caption with one heatmap per word, or why there is none."""

    name: str  # path or upload name of the image
    caption: str
    method: str
    image_size: tuple[int, int] = (0, 0)  # (width, height) of the image as read
    words: list[WordHeatmap] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, cols) of the heatmaps."""
        return tuple(self.words[0].heatmap.shape) if self.words else (0, 0)

    def word(self, index: int) -> WordHeatmap:
        """The ``index``-th word (0-based).

        Raises:
            ValueError: one sentence when the caption has no such word.
        """
        if not isinstance(index, int) or not 0 <= index < len(self.words):
            raise ValueError(
                f"word index {index} is out of range: the caption {self.caption!r} has {len(self.words)} words "
                f"(0 to {len(self.words) - 1})"
            )
        return self.words[index]

    def to_dict(self) -> dict:
        """``{"caption", "method", "words": [{"word", "heatmap": [[rows]]}]}`` (what ``rsic explain`` writes)."""
        out = {"image": self.name, "caption": self.caption, "method": self.method}
        out["grid"], out["image_size"] = list(self.grid), list(self.image_size)
        out["words"] = [{"word": w.word, "heatmap": np.round(w.heatmap.astype(float), 4).tolist()} for w in self.words]
        if self.error:
            out["error"] = self.error
        return out


def methods_of(captioner: Captioner) -> tuple[str, ...]:
    """The grounding methods the captioner's family supports, its default first."""
    return tuple(captioner.family.grounding_methods())


def choose_method(captioner: Captioner, method: str | None) -> str:
    """``method``, or the family's default when None or "auto".

    Raises:
        ValueError: the family has no grounding, or not that method (the message lists the ones it has).
    """
    known = methods_of(captioner)
    if not known:
        raise ValueError(f"{captioner.family.title} models cannot show where they looked (no grounding method)")
    if method in (None, "", "auto"):
        return known[0]
    if method in DEPRECATED_METHODS:
        import warnings

        new = DEPRECATED_METHODS[method]
        warnings.warn(
            f"grounding method {method!r} is deprecated: it computes gradient x activation, now called {new!r}",
            DeprecationWarning,
            stacklevel=2,
        )
        method = new
    if method not in known:
        raise ValueError(f"unknown grounding method {method!r} for {captioner.family.title}; use {', '.join(known)}")
    return method


def explain_images(
    captioner: Captioner,
    images: list,
    config: CaptionConfig | None = None,
    method: str | None = None,
    names: list[str] | None = None,
) -> list[Explanation]:
    """:func:`explain_image` for each image; an image that cannot be read gets an Explanation with ``error``."""
    method = choose_method(captioner, method)
    config = config or CaptionConfig()
    names = list(names) if names is not None else [image_name(image) for image in images]
    out = []
    for image, name in zip(images, names):
        try:
            loaded = read_image(image, name, max_pixels=config.max_image_pixels, bands=config.image_bands)
        except ValueError as e:
            out.append(Explanation(name, "", method, error=str(e)))
            continue
        out.append(explain_image(captioner, loaded.image, config, method, name))
    return out


def explain_image(
    captioner: Captioner, image, config: CaptionConfig | None = None, method: str | None = None, name: str = ""
) -> Explanation:
    """The caption of one PIL image, generated as ``generate_captions`` does, with one heatmap per word.

    Args:
        captioner: from :func:`rsic_core.models.registry.load_captioner`.
        image: a PIL image (anything else goes through :func:`explain_images`).
        config (None): generation settings (default :class:`CaptionConfig`); token limits are capped as
            for captioning.
        method (None): one of :func:`methods_of`; None = the family's default.
        name (""): how to call the image.
    """
    import torch

    method = choose_method(captioner, method)
    config, _ = fit_token_limits(captioner, config or CaptionConfig())
    family, model = captioner.family, captioner.model
    inputs = _to_device(family.encode(captioner.processor, [image], prompt=config.gen_prompt), captioner)
    prefix = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    kwargs = generation_kwargs(config)
    context = family.max_text_tokens(model.config)
    if context is not None and kwargs["max_new_tokens"] > context - prefix:
        kwargs["max_new_tokens"] = max(context - prefix, 1)
        kwargs["min_new_tokens"] = min(kwargs.get("min_new_tokens", 0), kwargs["max_new_tokens"])
    with torch.no_grad():
        sequences = model.generate(**inputs, **kwargs)
    caption = family.decode(captioner.processor, sequences, prefix)[0]
    spans = word_tokens(family, captioner.processor, sequences, prefix, caption)
    positions = sorted({p for _, tokens in spans for p in tokens})
    words = []
    if positions:
        with eager_attention(model), torch.enable_grad() if method == "grad_x_act" else torch.no_grad():
            maps = family.grounding_maps(captioner, inputs, sequences, positions, method)
        maps = maps.detach().float().cpu().numpy()
        row = {p: i for i, p in enumerate(positions)}
        words = [WordHeatmap(w, tokens, scaled(maps[[row[p] for p in tokens]].mean(axis=0))) for w, tokens in spans]
    return Explanation(name, caption, method, image.size, words)


def word_tokens(family, processor, sequences, prefix: int, caption: str) -> list[tuple[str, list[int]]]:
    """The words of ``caption`` with the positions in ``sequences[0]`` of the tokens that spell each.

    The caption is decoded by the family's own :meth:`~rsic_core.models.base.Family.decode` one token longer
    at a time; the characters each token adds belong to the words they overlap (a token spanning two
    words counts for both, a token adding only a space for none).
    """
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", caption)]
    found: list[list[int]] = [[] for _ in words]
    before = ""
    for i in range(prefix, sequences.shape[1]):
        text = family.decode(processor, sequences[:, : i + 1], prefix)[0]
        start = len(os.path.commonprefix([before, text]))
        before = text
        for k, (_, a, b) in enumerate(words):
            if a < len(text) and start < b:
                found[k].append(i)
    if before != caption:
        raise RuntimeError(f"cannot line the caption {caption!r} up with its tokens (decoded {before!r})")
    return [(w, tokens) for (w, _, _), tokens in zip(words, found) if tokens]


def scaled(heatmap: np.ndarray) -> np.ndarray:
    """``heatmap`` shifted and scaled to 0..1 (all zeros when it is flat)."""
    heatmap = np.nan_to_num(np.asarray(heatmap, dtype=np.float64))
    low, high = heatmap.min(), heatmap.max()
    return ((heatmap - low) / (high - low) if high > low else np.zeros_like(heatmap)).astype(np.float32)


def upsample(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``heatmap`` (rows x cols) bilinearly resized to ``size`` = (width, height) pixels, as a float array."""
    import torch

    grid = torch.as_tensor(np.asarray(heatmap, dtype=np.float32))[None, None]
    width, height = size
    out = torch.nn.functional.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0].numpy()


def overlay(image, heatmap: np.ndarray, strength: float = 0.6):
    """``image`` (PIL) with ``heatmap`` laid over it, dark to yellow-red where the model looked."""
    from PIL import Image

    base = image.convert("RGB")
    heat = np.clip(upsample(heatmap, base.size), 0, 1)[..., None]
    colours = np.concatenate([np.ones_like(heat), heat, np.zeros_like(heat)], axis=-1) * 255  # red -> yellow
    dimmed = np.asarray(base, dtype=np.float32) * (1 - strength / 2)  # the image stays readable under the colours
    alpha = strength * heat
    shaded = dimmed * (1 - alpha) + colours * alpha
    return Image.fromarray(np.clip(shaded, 0, 255).astype(np.uint8), "RGB")


# --- building blocks the families' grounding_maps use ---------------------------------------------------------------


@contextlib.contextmanager
def eager_attention(model):
    """``model`` with eager attention (attention weights are returned) for the block, then as it was."""
    before = _attention_settings(model.config)
    switch = hasattr(model, "set_attn_implementation") and set(before.values()) - {None, "eager"}
    if switch:
        model.set_attn_implementation("eager")
    try:
        yield model
    finally:
        if switch:  # each sub-model as it was (PaliGemma 2's Gemma 2 decoder is eager-only beside an sdpa SigLIP)
            model.set_attn_implementation(before)


def _attention_settings(config) -> dict:
    """``{"": implementation, sub-config name: its settings...}``, the form ``set_attn_implementation`` takes."""
    settings = {"": getattr(config, "_attn_implementation", None)}
    for key in getattr(config, "sub_configs", {}) or {}:
        sub = getattr(config, key, None)
        if sub is not None and getattr(sub, "_attn_implementation", None) is not None:  # None: no attention of its own
            settings[key] = _attention_settings(sub) if getattr(sub, "sub_configs", None) else sub._attn_implementation
    return settings


def rollout(attentions, residual: float = 0.5):
    """Attention rollout: ``(residual * I + (1 - residual) * A)`` with heads averaged, multiplied through the layers.

    Args:
        attentions: one ``[1, heads, seq, seq]`` tensor per layer (first layer first).
        residual (0.5): weight of the residual path.

    Returns:
        ``[seq, seq]``: row q says how much each position flowed into position q's last hidden state.
    """
    import torch

    flow = None
    for layer in attentions:
        a = layer[0].float().mean(0)
        a = residual * torch.eye(a.shape[-1], device=a.device) + (1 - residual) * a
        a = a / a.sum(-1, keepdim=True)
        flow = a if flow is None else a @ flow
    return flow


def head_mean(attentions):
    """The mean over layers and heads of ``[1, heads, q, k]`` attention tensors: ``[q, k]``."""
    import torch

    return torch.stack([layer[0].float().mean(0) for layer in attentions]).mean(0)


def grad_x_act(features, scores: list) -> Any:
    """Gradient x activation of each score on ``features`` (``[1, n, channels]``, as captured: in the graph of every
    score); not Grad-CAM, which would average the gradient over the ``n`` tokens first.

    Returns:
        ``[len(scores), n]``: relu(sum over channels of gradient x feature) per score.
    """
    import torch

    maps = []
    for i, score in enumerate(scores):
        (grad,) = torch.autograd.grad(score, features, retain_graph=i < len(scores) - 1)
        maps.append(torch.relu((grad * features).sum(-1)).detach().reshape(-1))
    return torch.stack(maps)


@contextlib.contextmanager
def captured(module):
    """Keep the output of ``module`` (its first tensor) in ``found[0]`` during the block, made a gradient leaf
    where nothing upstream needs a gradient."""
    found: list = []

    def hook(_module, _inputs, output):
        tensor = output[0] if isinstance(output, tuple) else getattr(output, "last_hidden_state", output)
        if not tensor.requires_grad and tensor.is_floating_point():
            import torch

            if torch.is_grad_enabled():
                tensor.requires_grad_(True)
        found.append(tensor)

    handle = module.register_forward_hook(hook)
    try:
        yield found
    finally:
        handle.remove()


def square_grid(flat, n: int | None = None):
    """``[..., n]`` maps as ``[..., rows, cols]`` of the square patch grid."""
    n = n or flat.shape[-1]
    side = int(round(math.sqrt(n)))
    if side * side != n:
        raise ValueError(f"{n} image tokens do not form a square grid")
    return flat.reshape(*flat.shape[:-1], side, side)


def token_scores(logits, ids, positions: list[int]) -> list:
    """The log-probability of the token at each position, from the logits of the position before it."""
    logp = logits[0].float().log_softmax(-1)
    return [logp[p - 1, ids[p]] for p in positions]


def _to_device(inputs, captioner: Captioner) -> dict:
    moved = {}
    for key, value in inputs.items():
        value = value.to(captioner.device)
        moved[key] = value.to(captioner.dtype) if value.is_floating_point() else value
    return moved


__all__ = [
    "METHODS",
    "Explanation",
    "WordHeatmap",
    "choose_method",
    "explain_image",
    "explain_images",
    "methods_of",
    "overlay",
    "upsample",
    "word_tokens",
]
