"""The study's cost table, reproduced: parameters and MACs per image of real-shape models, nothing allocated.

    rsic efficiency --shape blip2-opt-2.7b
    cost = shape_cost("puret")           # ShapeCost: params_total, params_trainable, macs_per_image, ...
    cost = captioner_cost(load_captioner("models/tiny-puret"), image_size=64)   # any built or loaded model
    rows = comparison_rows([cost])       # the study's published figures beside the measured ones

A shape (a key of :func:`rsic_core.models.registry.shapes`) is built with random weights on PyTorch's
meta device, so a 3.7 B model costs a few hundred MB of memory and seconds, not 15 GB. Then:

- **Parameters**: every parameter once (tied ones once). *Trainable* is what full training trains
  after the family's default freezing: parameters that require grad once built, outside the
  family's :attr:`~rsic_core.models.base.Family.frozen_towers` (PureT: all but the Swin backbone
  and the frozen sinusoid table; BITA: all but the CLIP and OPT towers; BLIP-2 and PaliGemma
  freeze no tower, so every parameter counts; LoRA trains far fewer).
- **MACs and FLOPs per image**: one forward pass on one image, counted by
  ``torch.utils.flop_counter.FlopCounterMode`` on fake tensors (meta device, no data): the vision
  side at the shape's resolution and one teacher-forced decoder pass over the prompt and a caption of
  :data:`CAPTION_TOKENS` tokens (the label positions, EOS included; a shape may declare its own
  ``caption_tokens``, PureT 17), logits at every position included. The counter counts matrix
  products, convolutions and fused attention (2 FLOPs per multiply-accumulate); MACs are FLOPs / 2,
  which is what papers and the study call "GFLOPs". It does not count element-wise work (norms,
  softmax, activations, residual adds, position biases, masks), embedding look-ups or FFTs (BITA's
  Fourier mixing is parameter-free and O(n log n)).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

CAPTION_TOKENS = 20  # caption length of a counted pass (the anchors' 20 new tokens)
NOT_COUNTED = (
    "element-wise work (norms, softmax, activations, residual adds, biases of attention), embedding look-ups, FFTs"
)
CONVENTIONS = (
    "MACs = multiply-accumulates (what papers and the BLIP-2 study call GFLOPs); FLOPs = 2 per MAC. "
    "Counted with torch's FlopCounterMode on the meta device: matrix products, convolutions and fused attention; "
    f"not counted: {NOT_COUNTED}."
)

# The BLIP-2 remote-sensing study's cost table as published (None: not published for that model).
STUDY_FIGURES: dict[str, dict] = {
    "puret": dict(
        model="PureT", total="229.41 M", trainable="34.16 M", gflops=105.48, note="COCO vocabulary (9,487 words)"
    ),
    "blip2-opt-2.7b": dict(model="BLIP-2 OPT-2.7B", total="3.7 B", trainable=None, gflops=761.17, note=""),
    "bita-opt-2.7b": dict(
        model="BITA (OPT-2.7B)",
        total=None,
        trainable=None,
        gflops=None,
        note="none published: the study's 3.7 B is BLIP-2 proper (ViT-g), not BITA",
    ),
    "paligemma2-3b-224": dict(
        model="PaliGemma2-3B-224", total=None, trainable=None, gflops=None, note="not in the study"
    ),
}


@dataclass
class ShapeCost:
    """What one real-shape model costs (``rsic efficiency --shape NAME --json`` prints it)."""

    shape: str
    family: str  # the family's title
    params_total: int
    params_trainable: int
    trainable_means: str  # which parameters "trainable" counts
    macs_per_image: int
    flops_per_image: int  # 2 per MAC
    image_size: int
    caption_tokens: int  # label positions of the counted pass (EOS included)
    text_positions: int | None  # decoder input length (image tokens, prompt and caption) where the model has one
    vocab_size: int
    macs_by_tower: dict[str, int] = field(default_factory=dict)  # the family's towers, "other" for the rest
    covers: str = ""  # what the count covers, in words
    not_counted: str = NOT_COUNTED
    seconds: float = 0.0  # to build and count
    source: str = "real shapes, random weights on the meta device (nothing allocated)"  # what model was counted

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        """The cost as a person reads it (what ``rsic efficiency`` prints)."""
        towers = ", ".join(f"{t} {m / 1e9:,.2f} G" for t, m in self.macs_by_tower.items())
        return "\n".join(
            [
                f"{self.shape}: {self.family}, {self.source}",
                f"  parameters      {self.params_total:,} total, {self.params_trainable:,} trainable",
                f"  trainable       {self.trainable_means}",
                f"  per image       {self.macs_per_image / 1e9:,.2f} GMACs (what papers and the study call GFLOPs), "
                f"{self.flops_per_image / 1e9:,.2f} GFLOPs (2 per MAC)",
                f"  MACs by tower   {towers}",
                f"  counted         {self.covers}",
                f"  not counted     {self.not_counted}",
                f"  vocabulary      {self.vocab_size:,} (as the shape counts it; --vocab-size changes it)",
                f"  took            {self.seconds:.1f} s",
            ]
        )


def shape_names() -> list[str]:
    """The real shapes the registered families declare (``rsic efficiency --shape list``)."""
    from rsic_core.models.registry import shapes

    return list(shapes())


def shape_cost(shape: str, vocab_size: int | None = None, caption_tokens: int | None = None) -> ShapeCost:
    """Build ``shape`` on the meta device and count its parameters and MACs per image.

    Args:
        shape: a key of :func:`rsic_core.models.registry.shapes` (e.g. "blip2-opt-2.7b").
        vocab_size (None): the model's vocabulary as the shape counts it (default: the shape's,
            e.g. PureT's COCO 9,487 words); each word adds its embedding row and output row.
        caption_tokens (None): caption length of the counted pass (default: the shape's
            ``caption_tokens``, else :data:`CAPTION_TOKENS`).

    Raises:
        ValueError: the shape is unknown (the message lists the shapes), or a size is below 1.
    """
    from rsic_core.models.registry import build_shape, shapes

    owners = shapes()
    if shape not in owners:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(owners)}")
    spec = owners[shape].shapes[shape]
    for name, value in (("vocab_size", vocab_size), ("caption_tokens", caption_tokens)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1 (got {value})")
    started = time.perf_counter()
    captioner = build_shape(shape, device="meta", vocab_size=vocab_size)
    cost = captioner_cost(
        captioner,
        spec["image_size"],
        caption_tokens or spec.get("caption_tokens", CAPTION_TOKENS),
        shape=shape,
        vocab_size=vocab_size or spec["vocab_size"],
    )
    cost.seconds = time.perf_counter() - started
    return cost


def captioner_cost(
    captioner, image_size: int, caption_tokens: int = CAPTION_TOKENS, shape: str = "", vocab_size: int | None = None
) -> ShapeCost:
    """Parameters and MACs per image of any built or loaded model, counted as :func:`shape_cost` counts a shape.

    Args:
        captioner: a :class:`~rsic_core.models.base.Captioner` (on the meta device, or loaded with real weights:
            nothing is computed either way, the pass runs on fake tensors).
        image_size: the resolution of the counted image (the model's processor input size).
        caption_tokens (:data:`CAPTION_TOKENS`): caption length of the counted pass (label positions, EOS included).
        shape (""): the name the cost carries (default: the captioner's name).
        vocab_size (None): the vocabulary it reports (default: the tokenizer's length).
    """
    started = time.perf_counter()
    total, trainable = trainable_parameters(captioner.model, captioner.family)
    batch = caption_batch(captioner, image_size, caption_tokens)
    by_module, logit_positions = count_macs(captioner.model, batch, keep_logits=caption_tokens)
    macs = by_module.pop("", 0)
    positions = batch["input_ids"].shape[1] if "input_ids" in batch else None
    return ShapeCost(
        shape=shape or str(captioner.name),
        family=captioner.family.title,
        params_total=total,
        params_trainable=trainable,
        trainable_means=_trainable_means(captioner.family),
        macs_per_image=macs,
        flops_per_image=2 * macs,
        image_size=image_size,
        caption_tokens=caption_tokens,
        text_positions=positions,
        vocab_size=vocab_size or len(captioner.processor.tokenizer),
        macs_by_tower=macs_by_tower(captioner.family, by_module, macs),
        covers=_covers(image_size, caption_tokens, positions, logit_positions),
        seconds=time.perf_counter() - started,
        **({} if _device(captioner.model).type == "meta" else {"source": f"the model as loaded ({captioner.device})"}),
    )


def trainable_parameters(model, family) -> tuple[int, int]:
    """(total, trainable) parameters; trainable = requires grad and outside the family's frozen towers."""
    seen, total, trainable = set(), 0, 0
    frozen = set(family.frozen_towers_of(model.config))
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad and family.tower_of(name) not in frozen:
            trainable += p.numel()
    return total, trainable


def caption_batch(captioner, image_size: int, caption_tokens: int) -> dict:
    """The family's training inputs for one blank image and a caption of exactly ``caption_tokens`` label positions.

    The caption is one short word repeated; its length is adjusted until the family's own
    :meth:`~rsic_core.models.base.Family.encode` gives that many label positions (EOS included).
    """
    from PIL import Image

    image = Image.new("RGB", (image_size, image_size), (90, 120, 80))
    words = caption_tokens
    for _ in range(8):
        batch = captioner.family.encode(captioner.processor, [image], [" ".join(["a"] * max(1, words))])
        labelled = int((batch["labels"] != -100).sum())
        if labelled == caption_tokens:
            return dict(batch)
        words += caption_tokens - labelled
    raise ValueError(f"could not make a caption of {caption_tokens} tokens for {captioner.family.title}")


def count_macs(model, batch: dict, keep_logits: int | None = None) -> tuple[dict[str, int], int | None]:
    """MACs of ``model(**batch)`` on fake tensors, and how many positions got logits.

    Args:
        model: the model, possibly on the meta device (the inputs are moved there; nothing is computed).
        batch: its inputs.
        keep_logits (None): ask for logits at the last N positions only (transformers' ``logits_to_keep``,
            as generation computes them), without labels; a model that refuses it is counted with the
            labels of ``batch`` and logits wherever it computes them.

    Returns:
        ("" -> the total, module path -> its share), and the number of positions that got logits
        (None when the output does not say).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    was = {name: p.requires_grad for name, p in model.named_parameters()}
    model.requires_grad_(False)  # the counter's module tracker needs no autograd graph
    plain = {k: v for k, v in batch.items() if k != "labels"}
    tries = ([{**plain, "logits_to_keep": keep_logits}] if keep_logits else []) + [batch]
    try:
        for i, inputs in enumerate(tries):
            try:
                counter = FlopCounterMode(display=False)
                output = _fake_forward(model, inputs, counter)
                break
            except Exception:
                if i == len(tries) - 1:
                    raise
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(was[name])
    counts = {"": int(counter.get_total_flops()) // 2}
    for module, ops in counter.get_flop_counts().items():
        path = module.split(".", 1)[1] if "." in module else ""
        if path:
            counts[path] = int(sum(ops.values())) // 2
    logits = getattr(output, "logits", None)
    return counts, int(logits.shape[1]) if torch.is_tensor(logits) and logits.dim() == 3 else None


def _fake_forward(model, inputs: dict, counter):
    """``model(**inputs)`` under ``counter`` (a ``FlopCounterMode``), every tensor fake (shapes only, no data).

    Checks that read data pass as when traced (transformers skips them on fake tensors), and the
    small integer tensors that come from the inputs (ids, masks, positions) keep their real values
    beside the fake ones (:class:`_RealIntegers`), so a model that counts its image tokens with
    ``int(mask.sum())`` gets the real count.
    """
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv
    from torch.nn.attention import SDPBackend, sdpa_kernel

    device = _device(model)  # meta for a shape; a loaded model's weights become fake tensors too
    mode = FakeTensorMode(allow_non_fake_inputs=True, shape_env=ShapeEnv(), static_shapes=True)
    real = _RealIntegers()
    with mode:
        fake = {}
        for key, value in inputs.items():
            fake[key] = mode.from_tensor(value.to(device)) if torch.is_tensor(value) else value
            if torch.is_tensor(value) and _small_integer(value):
                real.values[id(fake[key])] = (fake[key], value)
    math = sdpa_kernel(SDPBackend.MATH)  # on any device: the counter knows no formula for the CPU flash kernel
    with torch.no_grad(), math, mode, real, counter:  # the counter sees each op first, the fake mode computes it
        return model(**fake)


def _device(model):
    return next(model.parameters()).device


def _small_integer(tensor) -> bool:
    return not (tensor.is_floating_point() or tensor.is_complex()) and tensor.numel() <= 1_000_000


def _written(func, args: tuple, kwargs: dict) -> list:
    """The tensors an op writes to (its schema's mutable arguments)."""
    written = []
    for i, argument in enumerate(func._schema.arguments):
        if argument.alias_info is not None and argument.alias_info.is_write:
            value = args[i] if i < len(args) else kwargs.get(argument.name)
            written += [value] if value is not None else []
    return written


def _dispatch_mode():
    from torch.utils._python_dispatch import TorchDispatchMode

    return TorchDispatchMode


class _RealIntegers(_dispatch_mode()):
    """Beside a fake forward, the real values of integer tensors computed only from other known integer tensors."""

    def __init__(self):
        super().__init__()
        self.values: dict[int, tuple] = {}  # id(fake) -> (fake, its real CPU value)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        import torch
        from torch.utils._python_dispatch import _disable_current_modes
        from torch.utils._pytree import tree_flatten, tree_map

        kwargs = kwargs or {}
        if func is torch.ops.aten._local_scalar_dense.default and id(args[0]) in self.values:
            with _disable_current_modes():  # int(...), bool(...) of a known tensor: its real value
                return self.values[id(args[0])][1].item()
        out = func(*args, **kwargs)
        tensors = [t for t in tree_flatten((args, kwargs))[0] if torch.is_tensor(t)]
        outs = [t for t in tree_flatten(out)[0] if torch.is_tensor(t)]
        known = all(id(t) in self.values for t in tensors)
        for t in _written(func, args, kwargs) if not known else []:
            self.values.pop(id(t), None)  # changed by an op of unknown values: no longer known
        if not known or not outs or not all(_small_integer(t) for t in outs):
            return out

        def real(value):
            if torch.is_tensor(value):
                return self.values[id(value)][1]
            return torch.device("cpu") if isinstance(value, torch.device) else value

        real_args, real_kwargs = tree_map(real, args), tree_map(real, kwargs)
        if "device" in real_kwargs:
            real_kwargs["device"] = torch.device("cpu")
        with _disable_current_modes():
            result = func(*real_args, **real_kwargs)
        for fake_t, real_t in zip(outs, [t for t in tree_flatten(result)[0] if torch.is_tensor(t)], strict=False):
            self.values[id(fake_t)] = (fake_t, real_t)
        return out


def macs_by_tower(family, by_module: dict[str, int], total: int) -> dict[str, int]:
    """MACs per tower of ``family`` (its :attr:`~rsic_core.models.base.Family.towers`), the rest as "other"."""
    towers = {tower: by_module.get(prefix, 0) for tower, prefix in family.towers.items()}
    rest = total - sum(towers.values())
    return {t: m for t, m in towers.items() if m} | ({"other": rest} if rest > 0 else {})


def comparison_rows(costs: list[ShapeCost | None], shapes: list[str] | None = None) -> list[dict]:
    """One row per model: the study's published figures beside the measured ones (None = not measured).

    Args:
        costs: measured costs (None entries are skipped).
        shapes (None): the shapes to list (default: the study's, then any other measured one).
    """
    measured = {c.shape: c for c in costs if c is not None}
    names = shapes or list(dict.fromkeys([*STUDY_FIGURES, *measured]))
    rows = []
    for name in names:
        study, cost = STUDY_FIGURES.get(name, {}), measured.get(name)
        rows.append(
            {
                "model": study.get("model", cost.family if cost else name),
                "shape": name,
                "study: total": study.get("total"),
                "study: trainable": study.get("trainable"),
                "study: GFLOPs (MACs)": study.get("gflops"),
                "measured: total": cost.params_total if cost else None,
                "measured: trainable": cost.params_trainable if cost else None,
                "measured: GMACs": round(cost.macs_per_image / 1e9, 2) if cost else None,
                "measured: GFLOPs (2/MAC)": round(cost.flops_per_image / 1e9, 2) if cost else None,
                "counted": cost.covers if cost else "",
                "note": study.get("note", ""),
            }
        )
    return rows


def _trainable_means(family) -> str:
    if family.frozen_towers:
        return f"full training with the family's frozen towers left out ({', '.join(family.frozen_towers)})"
    return "full training: this family freezes no tower, so every parameter (LoRA trains far fewer)"


def _covers(image_size: int, tokens: int, positions: int | None, logit_positions: int | None) -> str:
    text = f" ({positions} decoder input positions in all)" if positions else ""
    if logit_positions == tokens:
        logits = "logits at the caption positions only, as generation computes them"
    else:
        logits = f"logits at {logit_positions or 'every'} positions"
    return (
        f"one {image_size}x{image_size} image through the vision side + one teacher-forced decoder pass over the "
        f"prompt and a {tokens}-token caption{text}, {logits}"
    )
