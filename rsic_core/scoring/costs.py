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

from rsic_core.scoring.fake_pass import count_macs, model_device

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
        **(
            {}
            if model_device(captioner.model).type == "meta"
            else {"source": f"the model as loaded ({captioner.device})"}
        ),
    )


def trainable_parameters(model, family) -> tuple[int, int]:
    """(total, trainable) parameters; trainable = requires grad and outside the family's frozen towers.

    The total is :func:`~rsic_core.scoring.efficiency.count_parameters`' (tied parameters once); only the
    family's freezing is counted here.
    """
    from rsic_core.scoring.efficiency import count_parameters

    total, trainable = count_parameters(model)
    frozen = set(family.frozen_towers_of(model.config))
    if frozen:
        named = dict(model.named_parameters())  # tied parameters once, as count_parameters counts them
        trainable -= sum(p.numel() for name, p in named.items() if p.requires_grad and family.tower_of(name) in frozen)
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
