"""Prediction files of two systems on the real UCM-captions val references, for the compare and leaderboard tests.

"first": each image's first reference as its prediction (a clearly better system); "constant": one
caption for every image. Both carry all five references and the image's class.
"""

from __future__ import annotations

import json
from pathlib import Path

CONSTANT = "there are some buildings and green trees"


def ucm_val_records(ucm_dir: Path) -> list:
    """The 210 val images of UCM-captions (train+val; never the test sample)."""
    from rsic_core.data.datasets import load_dataset

    return [r for r in load_dataset(ucm_dir).records if r.split == "val"]


def write_side(path: Path, records, system: str) -> Path:
    """A predictions.jsonl of ``system`` ("first" or "constant") on ``records``."""
    lines = []
    for r in records:
        prediction = r.captions[0] if system == "first" else CONSTANT
        row = {"image_id": r.image_id, "prediction": prediction, "references": r.captions, "label": r.label}
        lines.append(json.dumps(row) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_run(root: Path, name: str, records, system: str, split: str = "val") -> Path:
    """A run folder (config.json and predictions.jsonl) of ``system``, as an evaluation run of UCM ``split``."""
    folder = root / name
    write_side(folder / "predictions.jsonl", records, system)
    config = {
        "name": name,
        "kind": "evaluation",
        "data": "ucm-captions",
        "dataset_name": "ucm-captions",
        "split": split,
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
