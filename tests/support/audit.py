"""A small dataset with planted leaks for the audit tests: textured images, duplicates across splits, bad references."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.datasets import karpathy

ONE_WORD = "farmland"
COPIED = "there is a piece of farmland ."  # written under both classes


def textured(path: Path, seed: int, size: int = 128) -> Path:
    """A photo-like JPEG: smooth random colour blobs plus grain, different for every seed."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    grain = rng.normal(0, 12, (size, size, 3))
    pixels = np.clip(np.asarray(coarse, dtype=float) + grain, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def _captions(name: str) -> list[str]:
    return [f"scene {name} seen from above, view {k} ." for k in range(5)]


def planted(root: Path) -> Path:
    """``root`` holding a Karpathy dataset of 12 images (farm_*, harbor_*) with, planted:

    - ``farm_7.jpg`` (test): a byte-for-byte copy of ``farm_1.jpg`` (train);
    - ``harbor_7.jpg`` (val): ``harbor_2.jpg`` (train) resized to 96 px and re-encoded at quality 60;
    - ``farm_6.jpg`` (test) carries the references of ``farm_3.jpg`` (train), case and punctuation changed;
    - :data:`COPIED` under both classes (``farm_4``, ``harbor_4``);
    - a one-word reference and an empty one (``harbor_3``), and an image with three references (``harbor_5``).
    """
    images = root / "images"
    splits = {1: "train", 2: "train", 3: "train", 4: "train", 5: "val", 6: "test"}
    entries = []
    for c, label in enumerate(("farm", "harbor")):
        for i, split in splits.items():
            name = f"{label}_{i}.jpg"
            textured(images / name, seed=10 * c + i)
            entries.append([name, split, _captions(name)])
    shutil.copyfile(images / "farm_1.jpg", images / "farm_7.jpg")
    entries.append(["farm_7.jpg", "test", _captions("farm_7.jpg")])
    with Image.open(images / "harbor_2.jpg") as original:
        original.resize((96, 96), Image.LANCZOS).save(images / "harbor_7.jpg", "JPEG", quality=60)
    entries.append(["harbor_7.jpg", "val", _captions("harbor_7.jpg")])
    by_name = {e[0]: e for e in entries}
    by_name["farm_6.jpg"][2] = [c.upper().replace(" .", "") for c in _captions("farm_3.jpg")]
    by_name["farm_3.jpg"][2] = _captions("farm_3.jpg")
    by_name["farm_4.jpg"][2][0] = COPIED
    by_name["harbor_4.jpg"][2][0] = COPIED.capitalize()
    by_name["harbor_3.jpg"][2][1:3] = [ONE_WORD, ""]
    by_name["harbor_5.jpg"][2] = by_name["harbor_5.jpg"][2][:3]
    karpathy(root, [tuple(e) for e in entries], name="planted")
    return root
