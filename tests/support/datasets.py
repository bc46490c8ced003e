"""Helpers for the dataset tests: small images and Karpathy annotation files written on the spot."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image


def jpg(path: Path, colour=(90, 120, 60), size=(224, 224)) -> Path:
    """A plain JPEG at ``path`` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG")
    return path


def karpathy(root: Path, entries: list[tuple], name="rsicd") -> Path:
    """``root/dataset_<name>.json`` in the Karpathy layout from (filename, split, captions) entries."""
    images, sentid = [], 0
    for imgid, (filename, split, captions) in enumerate(entries):
        sentences = []
        for c in captions:
            sentences.append({"raw": c, "tokens": c.lower().split(), "imgid": imgid, "sentid": sentid})
            sentid += 1
        images.append(
            {
                "filename": filename,
                "imgid": imgid,
                "split": split,
                "sentids": [s["sentid"] for s in sentences],
                "sentences": sentences,
            }
        )
    root.mkdir(parents=True, exist_ok=True)
    file = root / f"dataset_{name}.json"
    file.write_text(json.dumps({"images": images, "dataset": name}))
    return file


FIVE = [f"many planes are parked at the airport {i} ." for i in range(5)]


def class_ordered(root: Path, per_class: dict[str, int], name="rsicd") -> Path:
    """A dataset listed class by class as UCM-captions, RSICD and Sydney are: for each of UCM's 21 classes in
    turn, ``per_class[split]`` images ``<class>_<i>.jpg`` of each split (one colour per class); returns ``root``."""
    from rsic_core.data.formats import UCM_CLASSES

    entries = []
    for c, label in enumerate(UCM_CLASSES):
        splits = [split for split, count in per_class.items() for _ in range(count)]
        for i, split in enumerate(splits, 1):
            filename = f"{label}_{i}.jpg"
            jpg(root / "images" / filename, (12 * c, 200 - 8 * c, 20 * i % 255), size=(32, 32))
            entries.append((filename, split, [f"there is a {label} scene with a road and some trees"]))
    karpathy(root, entries, name)
    return root
