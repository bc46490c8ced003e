"""LoRA on real photos: a base that never saw some UCM classes learns them from an adapter (CPU, greedy).

    .venv/bin/python bench/bench_ucm_lora.py --base runs/ucm14/model --base-data data/ucm14 \\
        --held-out baseballdiamond,chaparral,freeway,intersection,overpass,runway,tenniscourt \\
        --steps 600 --lr 1e-3 --r 16 --targets q_linear,k_linear,v_linear,o_linear,fc1,fc2,generator,att_embed.0

(the README's figures; with the family's default targets, r 8, 300 steps and lr 5e-4 the held-out classes stay
unnamed). The base: the README's ``rsic train`` command of the ucm model with ``--data data/ucm14 --max-steps 1200
--eval-steps 600 --save-steps 600``.

The base is the real-photo recipe (README, "The real-photo model") trained on the UCM-captions train photos of
14 of the 21 classes only (``--base-data``: the same dataset.json without the train images of the held-out
classes; its tokenizer was trained on all train captions, so the held-out classes' words exist but their
embeddings were never trained on them). From it, two LoRA runs of the same steps, rank, learning rate and
augmentation:

* on the full UCM train split (all 21 classes): the adapter has something new to learn;
* on the base's own 14-class train split: the compute-matched control (same steps, nothing new), so a gain of
  the first over the base is not just more training.

All three are captioned greedily on the val split (210 images, never trained on) and scored on all of val, on
its 140 images of seen classes and on its 70 images of held-out classes: BLEU-4 and CIDEr-D (pycocoevalcap,
corpus level, x100) and the share of captions naming the true class (:class:`SceneNames`, objects tied to
classes by the full train split's references).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ucm_model import LORA_RECIPE, SHARED_UCM, score_row  # noqa: E402

from rsic_core.data.datasets import load_dataset  # noqa: E402
from rsic_core.models.inference import CaptionConfig, caption_images  # noqa: E402
from rsic_core.models.registry import load_captioner  # noqa: E402
from rsic_core.scoring.confusion import SceneNames  # noqa: E402
from rsic_core.training.jobs import read_jsonl  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the base model folder (trained on --base-data)")
    parser.add_argument("--base-data", required=True, help="the base's training data (UCM without held-out train)")
    parser.add_argument("--data", default=str(SHARED_UCM), help="UCM-captions folder (train + val)")
    parser.add_argument("--held-out", required=True, help="comma list of the classes the base never saw")
    parser.add_argument("--steps", type=int, default=300, help="LoRA steps of each run")
    parser.add_argument("--lr", type=float, default=5e-4, help="LoRA learning rate")
    parser.add_argument("--r", type=int, default=8, help="LoRA rank")
    parser.add_argument("--targets", default="default", help="LoRA target modules (default: the family's preset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default="runs/bench-ucm-lora", help="folder for the two LoRA runs")
    parser.add_argument("--no-control", action="store_true", help="skip the compute-matched control run")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}", file=sys.stderr)

    held = set(args.held_out.split(","))
    dataset = load_dataset(args.data)
    train = dataset.select(split="train")
    records = dataset.select(split="val")
    unknown = held - {r.label for r in train}
    if unknown:
        raise SystemExit(f"--held-out names classes the dataset does not have: {', '.join(sorted(unknown))}")
    references = {r.image_id: list(r.captions) for r in records}
    labels = {r.image_id: r.label for r in records}
    names = SceneNames({r.label for r in train}, [(r.label, r.captions) for r in train])

    systems = {}
    captioner = load_captioner(args.base, device="cpu")
    results = caption_images(captioner, [r.path for r in records], CaptionConfig(batch_size=32))
    systems["base (14 classes), zero-shot"] = {r.image_id: res.caption for r, res in zip(records, results)}
    runs = [("base + LoRA on all 21 classes' train photos", args.data, "all")]
    if not args.no_control:
        runs.append(("base + LoRA on its own 14 classes (control)", args.base_data, "own"))
    for title, data, tag in runs:
        run = _lora(args, data, Path(args.runs) / f"lora-{tag}-r{args.r}-{args.steps}-seed{args.seed}")
        systems[title] = {row["image_id"]: row["prediction"] for row in read_jsonl(run / "predictions.jsonl")}
        print(f"{title}: {run}", file=sys.stderr)

    groups = {
        f"all val ({len(records)})": [r.image_id for r in records],
        f"seen classes ({sum(r.label not in held for r in records)})": [
            r.image_id for r in records if r.label not in held
        ],
        f"held-out classes ({sum(r.label in held for r in records)})": [r.image_id for r in records if r.label in held],
    }
    lines = ["| UCM-captions val, greedy | images | BLEU-4 | CIDEr | class named |", "| --- | --- | --- | --- | --- |"]
    for title, predictions in systems.items():
        for group, ids in groups.items():
            picked = {i: predictions[i] for i in ids}
            cells = score_row(title, picked, {i: references[i] for i in ids}, names, labels)
            lines.append(cells.replace(f"| {title} |", f"| {title} | {group} |", 1))
    print("\n".join(lines))
    print(f"load average at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)


def _lora(args, data: str, out: Path) -> Path:
    """A LoRA run from ``args.base`` on ``data``'s train split, evaluated on all of val; returns its folder."""
    from rsic_core.training.config import TrainConfig
    from rsic_core.training.trainer import train

    config = TrainConfig(
        model=args.base,
        data=data,
        output_dir=str(out),
        eval_split="val",
        predict_limit=0,
        max_steps=args.steps,
        learning_rate=args.lr,
        lora_r=args.r,
        lora_alpha=2 * args.r,
        lora_targets=args.targets,
        save_steps=args.steps,
        eval_steps=args.steps,
        seed=args.seed,
        **LORA_RECIPE,
    )
    return train(config)


if __name__ == "__main__":
    main()
