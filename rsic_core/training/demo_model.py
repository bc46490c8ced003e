"""The offline demo captioner: a 6.7 M-parameter PaliGemma trained on the demo dataset.

    rsic demo-model train --out assets/demo_model     # 417 s on 2 busy cores (1 torch thread)

It has the PaliGemma architecture (SigLIP tower, Gemma decoder, ``PaliGemmaProcessor``, prompt
``caption en``) at toy size, with its own byte-level BPE tokenizer trained on the demo captions,
so that loading, LoRA, generation and scoring follow the code path of the real models.

What the base was trained on (so that LoRA has something to do, like a real pretrained model
whose zero-shot captions are in another style than the dataset's references):

* ``caption en`` -> the short generic caption of every training image
  ("an aerial image of a harbor"): the zero-shot captions name the scene, nothing more;
* ``describe en`` -> the detailed reference captions of the training images of every class but
  :data:`HELD_OUT_CLASSES` (counts, colours, positions), so the model already produces the
  vocabulary of the detailed captions, under another prompt.

A LoRA adapter trained on the detailed captions with the default ``caption en`` prompt therefore
moves the captions from generic to detailed (BLEU-4 and CIDEr rise), and must learn the held-out
classes' detailed captions from scratch.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rsic_core.models.base import Captioner

DESCRIBE_PROMPT = "describe en"
HELD_OUT_CLASSES = ("beach", "bridge", "tenniscourt")


@dataclass
class DemoModelConfig:
    """Size and training schedule of the demo model."""

    image_size: int = field(default=80, metadata={"help": "Input resolution (patch 16: 25 image tokens)."})
    vocab_size: int = field(default=600, metadata={"help": "BPE vocabulary trained on the demo captions."})
    steps: int = field(default=550, metadata={"help": "Optimizer steps."})
    max_minutes: float = field(
        default=0, metadata={"help": "Stop early after this many minutes of training (0: no limit)."}
    )
    batch_size: int = field(default=24, metadata={"help": "Images per step."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate (warm-up, then cosine)."})
    warmup_steps: int = field(default=50, metadata={"help": "Linear warm-up steps."})
    generic_fraction: float = field(default=0.35, metadata={"help": "Share of steps on the generic 'caption en' task."})
    held_out_classes: tuple[str, ...] = field(
        default=HELD_OUT_CLASSES, metadata={"help": "Classes whose detailed captions the base never sees."}
    )
    seed: int = field(default=0, metadata={"help": "Initialisation and sampling seed."})
    threads: int = field(default=1, metadata={"help": "torch CPU threads (1 is fastest on a busy 2-core machine)."})


def demo_architecture(image_size: int = 80) -> dict:
    """Tower sizes of the demo model (SigLIP 192-d x 4 layers, Gemma 256-d x 4 layers)."""
    return dict(
        image_size=image_size,
        vision=dict(hidden_size=192, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4, patch_size=16),
        text=dict(
            hidden_size=256,
            intermediate_size=1024,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=64,
            max_position_embeddings=256,
        ),
    )


@dataclass
class _Example:
    image: object  # PIL image at the model's resolution
    label: str
    generic: str
    detailed: list[str]


def train_demo_model(
    out_dir: str | Path,
    dataset_dir: str | Path | None = None,
    config: DemoModelConfig | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Build, train, evaluate and save the demo model.

    Args:
        out_dir: folder to write (``save_pretrained`` in bf16, plus ``training.json``).
        dataset_dir (None): the demo dataset (default :func:`rsic_core.data.demo.dataset.demo_dataset_dir`).
        config (None): :class:`DemoModelConfig`.
        progress (print): called with a line of text now and then.

    Returns:
        The content of ``training.json``: config, what the base was trained on, losses, test scores.
    """
    import torch

    from rsic_core.data.demo.dataset import DEMO_CLASSES, demo_dataset_dir
    from rsic_core.models.registry import build_tiny

    config = config or DemoModelConfig()
    progress = progress or (lambda _line: None)
    torch.set_num_threads(config.threads)
    dataset_dir = Path(dataset_dir) if dataset_dir else demo_dataset_dir()
    train = _read_examples(dataset_dir, "train", config.image_size)
    progress(f"{len(train)} training images from {dataset_dir}")
    texts = [e.generic for e in train] + [c for e in train for c in e.detailed] + [DESCRIBE_PROMPT, "caption en"]
    arch = demo_architecture(config.image_size)
    captioner = build_tiny("paligemma", captions=texts, vocab_size=config.vocab_size, seed=config.seed, **arch)
    captioner.name = "rsic-demo-paligemma"
    started = time.perf_counter()
    losses = _fit(captioner, train, config, progress)
    seconds = time.perf_counter() - started
    out = Path(out_dir)
    captioner.model.to(torch.bfloat16)
    captioner.save(out)
    captioner.model.to(torch.float32)
    report = {
        "model": f"PaliGemma architecture, {captioner.num_parameters() / 1e6:.1f} M parameters",
        "knows": f"the {len(DEMO_CLASSES)} synthetic scene classes of the offline demo dataset ({', '.join(DEMO_CLASSES)})",
        "classes": list(DEMO_CLASSES),
        "trained_on": {
            "caption en": "the generic caption of every training image (e.g. 'an aerial image of a harbor')",
            DESCRIBE_PROMPT: "the detailed reference captions of the training images, except the classes "
            + ", ".join(config.held_out_classes),
        },
        "dataset": str(dataset_dir),
        "train_images": len(train),
        "config": asdict(config),
        "train_seconds": round(seconds, 1),
        "loss_first_last": [round(losses[0], 3), round(sum(losses[-20:]) / len(losses[-20:]), 3)],
        "test": evaluate_demo_model(captioner, dataset_dir),
    }
    (out / "training.json").write_text(json.dumps(report, indent=2))
    progress(json.dumps(report["test"]))
    return report


def evaluate_demo_model(captioner: Captioner, dataset_dir: str | Path, split: str = "test") -> dict:
    """BLEU-4 and CIDEr (pycocoevalcap) of greedy captions on ``split``, for both prompts."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.inference import CaptionConfig, caption_images
    from rsic_core.scoring.metrics import ScoreConfig, score
    from rsic_core.scoring.scale import as_percent

    records = load_dataset(dataset_dir).select(split=split)
    references = {r.image_id: r.captions for r in records}
    scores = {}
    for prompt in ("caption en", DESCRIBE_PROMPT):
        results = caption_images(captioner, [r.path for r in records], CaptionConfig(gen_prompt=prompt, batch_size=32))
        predictions = {r.image_id: res.caption for r, res in zip(records, results)}
        corpus = score(predictions, references, ScoreConfig(score_metrics=("bleu", "cider"))).corpus
        scores[prompt] = {
            "BLEU-4": round(as_percent(corpus["BLEU-4"]), 1),
            "CIDEr": round(as_percent(corpus["CIDEr"]), 1),
            "example": f"{records[0].image_id}: {results[0].caption}",
        }
    scores["n_images"] = len(records)
    return scores


def _read_examples(dataset_dir: Path, split: str, image_size: int) -> list[_Example]:
    from rsic_core.data.images import load_image

    data = json.loads((dataset_dir / "dataset_demo.json").read_text())
    examples = []
    for entry in data["images"]:
        if entry["split"] != split:
            continue
        image = load_image(dataset_dir / "images" / entry["filename"]).resize((image_size, image_size))
        detailed = [" ".join(s["tokens"]) for s in entry["sentences"]]
        examples.append(_Example(image, entry["scene"]["class"], entry["scene"]["caption"], detailed))
    return examples


def _fit(
    captioner: Captioner, examples: list[_Example], config: DemoModelConfig, progress: Callable[[str], None]
) -> list[float]:
    """AdamW with warm-up and cosine decay; each step is one task (generic or detailed)."""
    import torch

    rng = random.Random(config.seed)
    detailed_pool = [e for e in examples if e.label not in config.held_out_classes]
    model = captioner.model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)

    def schedule(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        done = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    losses = []
    started = time.perf_counter()
    for step in range(config.steps):
        if rng.random() < config.generic_fraction:
            batch = rng.sample(examples, config.batch_size)
            prompt, captions = "caption en", [e.generic for e in batch]
        else:
            batch = rng.sample(detailed_pool, config.batch_size)
            prompt, captions = DESCRIBE_PROMPT, [rng.choice(e.detailed) for e in batch]
        inputs = captioner.family.encode(captioner.processor, [e.image for e in batch], captions, prompt=prompt)
        loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        elapsed = time.perf_counter() - started
        if config.max_minutes and elapsed > config.max_minutes * 60:
            progress(f"stopped at step {step + 1}: the {config.max_minutes} min limit was reached")
            break
        if step % 25 == 0 or step == config.steps - 1:
            progress(f"step {step + 1}/{config.steps} loss {loss.item():.3f} ({time.perf_counter() - started:.0f} s)")
    model.eval()
    return losses
