"""Offline demo dataset: synthetic aerial scenes whose five captions are true of the picture.

    python -c "from rsic_core.data.demo.dataset import generate_demo_dataset as g; print(g('demo'))"

The output has the Karpathy layout that RSICD, UCM-captions and Sydney-captions share:
``out_dir/images/<class>_<n>.jpg`` (224x224 RGB, ``n`` counts from 1 within each class) and
``out_dir/dataset_demo.json``. Class names contain no underscore, as in RSICD (``storagetanks``),
so the class of a file is the part of its stem before the last underscore.

Each class has a fact sampler (:mod:`rsic_core.data.demo.scenes`), a drawing
(:mod:`rsic_core.data.demo.drawing`, on :mod:`rsic_core.data.demo.canvas`) and caption makers
(:mod:`rsic_core.data.demo.captions`); this module puts them together.

Every image also carries a ``scene`` field with the facts that were drawn, for error analysis::

    {"class": "airport", "caption": "an aerial image of an airport",
     "counts": {"plane": 3},                  # counted objects, singular noun -> 1..6
     "colors": {"plane": "white"},            # object or surface -> colour word
     "positions": {"runway": "left"},         # left/right/top/bottom, or horizontal/vertical
     "relations": [{"subject": "plane", "relation": "beside", "object": "runway"}],
     "objects": [{"name": "plane", "box": [31.2, 60.0, 78.5, 104.9]}]}   # every counted object drawn

``objects`` holds one box ``[x0, y0, x1, y1]`` (pixels of the image, 224x224 by default) per counted
object, named by its count key; scenes without counts have none.

Scenes are drawn at 224x224 in a canonical orientation (the reference thing at the top) and
turned by a multiple of 90 degrees, so positions stay exact. Each image has its own random
generator seeded from ``(seed, imgid)``: the output does not depend on the number of workers.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from rsic_core.data.demo import captions as demo_captions
from rsic_core.data.demo import drawing as demo_drawing
from rsic_core.data.demo import scenes as demo_scenes
from rsic_core.data.demo.canvas import SIZE
from rsic_core.data.demo.captions import NUMBER_WORDS
from rsic_core.paths import rsic_home
from rsic_core.text.words import tokens

DEMO_SEED = 0
DEMO_IMAGES = 1200  # train 960 / val 120 / test 120

__all__ = [
    "ANNOTATION_NAME",
    "DEMO_CLASSES",
    "NUMBER_WORDS",
    "class_of_filename",
    "generate_demo_dataset",
    "render_scene",
    "sample_scene",
    "write_captions",
]

DEMO_CLASSES: tuple[str, ...] = (
    "airport",
    "baseballfield",
    "beach",
    "bridge",
    "farmland",
    "forest",
    "harbor",
    "parking",
    "residential",
    "river",
    "storagetanks",
    "tenniscourt",
)
ANNOTATION_NAME = "dataset_demo.json"
_DUPLICATE_RATE = 0.05  # images whose five references are padded with copies, as in RSICD


# ---------------------------------------------------------------------------------------------
# Public API


def generate_demo_dataset(
    out_dir: str | Path,
    n_images: int = 1200,
    seed: int = 0,
    size: int = 224,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    splits: tuple[str, ...] | None = None,
) -> Path:
    """Write the demo dataset (images and Karpathy JSON) and return the JSON path.

    Args:
        out_dir: folder to write into (created; files of the same name are overwritten).
        n_images (1200): images in all, spread evenly over ``DEMO_CLASSES`` in class order.
        seed (0): the same seed and arguments give byte-identical files.
        size (224): side of the square JPEGs (scenes are drawn at 224 and resized).
        split_fractions ((0.8, 0.1, 0.1)): train/val/test shares, applied within each class.
        progress (None): ``callable(done, total)`` called after each image.
        workers (None): processes; ``None`` means ``min(2, cpu count)``, 1 runs in-process.
        splits (None): write only the images of these splits (e.g. ``("test",)``), the same files and
            entries as in the whole dataset; None writes every split.

    Returns:
        Path of ``out_dir/dataset_demo.json``.
    """
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    fractions = tuple(float(f) for f in split_fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"split_fractions must be three shares >= 0 that sum to 1, got {split_fractions}")
    out = Path(out_dir)
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)

    n_classes = len(DEMO_CLASSES)
    per_class = [n_images // n_classes + (c < n_images % n_classes) for c in range(n_classes)]
    names = [(cls, k + 1) for cls, m in zip(DEMO_CLASSES, per_class) for k in range(m)]
    assigned = _assign_splits(per_class, fractions, np.random.default_rng([seed, 2**40]))
    kept = [i for i, split in enumerate(assigned) if splits is None or split in splits]
    tasks = [(seed, i, *names[i], size, str(images_dir)) for i in kept]

    workers = min(2, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    if workers == 1 or len(tasks) < 8:
        entries = _collect(map(_build_image, tasks), len(tasks), progress)
    else:
        with _process_context().Pool(workers) as pool:
            chunk = max(1, min(32, len(tasks) // (workers * 8)))
            entries = _collect(pool.imap(_build_image, tasks, chunksize=chunk), len(tasks), progress)

    images = []
    for imgid, (filename, raws, scene) in zip(kept, entries):
        split = assigned[imgid]
        sentids = list(range(5 * imgid, 5 * imgid + 5))
        sentences = [
            {"raw": raw, "tokens": tokens(raw), "imgid": imgid, "sentid": sid} for raw, sid in zip(raws, sentids)
        ]
        images.append(
            {
                "filename": filename,
                "imgid": imgid,
                "split": split,
                "sentids": sentids,
                "sentences": sentences,
                "scene": scene,
            }
        )
    path = out / ANNOTATION_NAME
    path.write_text(json.dumps({"dataset": "rsic-demo", "images": images}), encoding="utf-8")
    return path


def class_of_filename(filename: str) -> str:
    """``storagetanks_3.jpg`` -> ``storagetanks``: the stem before its last underscore."""
    return Path(filename).stem.rpartition("_")[0]


def sample_scene(class_name: str, rng: np.random.Generator, count: int | None = None) -> dict:
    """Draw the facts of one scene (what will be visible and stated).

    Args:
        class_name: one of ``DEMO_CLASSES``.
        rng: the image's random generator.
        count (None): number of counted objects (classes with ``counts``); random if None.
    """
    if class_name not in _SCENES:
        raise ValueError(f"unknown demo class {class_name!r}; choose from {', '.join(DEMO_CLASSES)}")
    return _SCENES[class_name][0](rng, count)


def render_scene(scene: dict, rng: np.random.Generator, size: int = 224) -> Image.Image:
    """Draw ``scene`` as a top-down RGB image of ``size`` x ``size`` pixels.

    The drawing records where it put each counted object in ``scene["objects"]`` (boxes in pixels
    of this image; an empty list for a scene without counts).
    """
    img = _SCENES[scene["class"]][1](scene, rng)
    objects = scene.setdefault("objects", [])
    if size == SIZE:
        return img
    for obj in objects:
        obj["box"] = [round(v * size / SIZE, 1) for v in obj["box"]]
    return img.resize((size, size), Image.Resampling.LANCZOS)


def write_captions(scene: dict, rng: np.random.Generator) -> list[str]:
    """Five raw captions, each true of ``scene``, varied like human references."""
    makers = _SCENES[scene["class"]][2](scene, rng)
    captions: list[str] = []
    for i in rng.permutation(len(makers)):
        text = makers[i]()
        if text and text not in captions:
            captions.append(text)
        if len(captions) == 5:
            break
    if len(captions) < 5:
        raise RuntimeError(f"only {len(captions)} distinct captions for {scene['class']}")
    captions = [_annotator_style(rng, c) for c in captions]
    if rng.random() < _DUPLICATE_RATE:  # fewer distinct references, padded with copies
        keep = int(rng.integers(1, 5))
        captions = captions[:keep] + [captions[int(rng.integers(keep))] for _ in range(5 - keep)]
    return captions


# ---------------------------------------------------------------------------------------------
# Dataset assembly


def _build_image(task: tuple) -> tuple[str, list[str], dict]:
    seed, imgid, cls, number, size, images_dir = task
    rng = np.random.default_rng([seed, imgid])
    scene = sample_scene(cls, rng)
    img = render_scene(scene, rng, size)
    raws = write_captions(scene, rng)
    filename = f"{cls}_{number}.jpg"
    img.save(Path(images_dir) / filename, format="JPEG", quality=90)
    return filename, raws, {k: v for k, v in scene.items() if not k.startswith("_")}


def _process_context():
    """``fork`` from a single-threaded process (works from unguarded scripts too); ``spawn`` from a
    threaded one such as the app, where forking may copy a held lock."""
    import multiprocessing
    import threading

    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    return multiprocessing.get_context("fork" if fork else "spawn")


def _collect(results, total: int, progress) -> list:
    entries = []
    for entry in results:
        entries.append(entry)
        if progress is not None:
            progress(len(entries), total)
    return entries


def _assign_splits(per_class: list[int], fractions: tuple, rng: np.random.Generator) -> list[str]:
    """Split names in image order: per-class shares, rounded so that the totals match too."""

    def quota(share: float, upto: int) -> int:
        return math.floor(share * upto + 0.5)

    names: list[str] = []
    seen = 0
    for m in per_class:
        n_val = quota(fractions[1], seen + m) - quota(fractions[1], seen)
        n_test = min(quota(fractions[2], seen + m) - quota(fractions[2], seen), m - n_val)
        labels = np.array(["train"] * (m - n_val - n_test) + ["val"] * n_val + ["test"] * n_test)
        names.extend(labels[rng.permutation(m)].tolist())
        seen += m
    return names


def _annotator_style(rng, text: str) -> str:
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    return text + " ." if rng.random() < 0.4 else text


# ---------------------------------------------------------------------------------------------
# Classes: (sample facts, draw, caption makers) from demo_scenes, demo_drawing and demo_captions

_SCENES = {
    name: (
        getattr(demo_scenes, f"sample_{name}"),
        getattr(demo_drawing, f"draw_{name}"),
        getattr(demo_captions, f"captions_{name}"),
    )
    for name in DEMO_CLASSES
}


def demo_dataset_dir(n_images: int | None = None, seed: int = DEMO_SEED, progress=None) -> Path:
    """The offline demo dataset, generated on first use (deterministic from ``seed``).

    Args:
        n_images (``RSIC_DEMO_IMAGES`` or 1200): how many images to generate.
        seed (0): generator seed.
        progress (None): ``callable(done, total)`` while generating.

    Returns:
        The folder holding ``dataset_demo.json`` and ``images/``.
    """
    n_images = n_images or int(os.environ.get("RSIC_DEMO_IMAGES", DEMO_IMAGES))
    wanted = {"n_images": n_images, "seed": seed, "format": 2}  # format 2: scenes carry their objects' boxes
    folder = rsic_home() / "demo"
    stamp = folder / "demo_config.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return folder
    # Generate beside the final folder and swap it in, so a reader never sees half a dataset.
    tmp = Path(tempfile.mkdtemp(prefix="demo-", dir=rsic_home()))
    generate_demo_dataset(tmp, n_images=n_images, seed=seed, progress=progress)
    (tmp / "demo_config.json").write_text(json.dumps(wanted))
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    try:
        tmp.rename(folder)
    except OSError:  # another process won the race with the same content
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
