"""Helpers for the training tests: a saved tiny PaliGemma and a quick TrainConfig."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image


def quick_config(model_dir: Path, tmp_path: Path, **overrides):
    """A few steps on a handful of demo images, no METEOR/Geo-Sim, no efficiency report."""
    from rsic_core.training.config import TrainConfig

    values = dict(
        model=str(model_dir),
        output_dir=str(tmp_path / "run"),
        train_limit=8,
        captions_per_image=1,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=1,
        max_steps=6,
        learning_rate=1e-2,
        save_steps=3,
        predict_limit=4,
        eval_metrics="bleu,cider",
        eval_efficiency=False,
        seed=1,
    )
    return TrainConfig(**{**values, **overrides})


def write_dataset(folder: Path, captions: list[str]) -> Path:
    """A small Karpathy-layout dataset whose training images carry ``captions``."""
    (folder / "images").mkdir(parents=True)
    images = []
    for i, caption in enumerate(captions):
        Image.new("RGB", (32, 32), (10 * i % 255, 80, 120)).save(folder / "images" / f"img_{i}.jpg")
        images.append(
            {
                "filename": f"img_{i}.jpg",
                "imgid": i,
                "split": "train" if i % 4 else "test",
                "sentences": [{"raw": caption, "tokens": caption.split()}],
            }
        )
    (folder / "dataset_small.json").write_text(json.dumps({"images": images, "dataset": "small"}))
    return folder
