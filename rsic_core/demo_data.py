"""Offline demo dataset: synthetic aerial scenes whose five captions are true of the picture.

    python -c "from rsic_core.demo_data import generate_demo_dataset as g; print(g('demo'))"

The output has the Karpathy layout that RSICD, UCM-captions and Sydney-captions share:
``out_dir/images/<class>_<n>.jpg`` (224x224 RGB, ``n`` counts from 1 within each class) and
``out_dir/dataset_demo.json``. Class names contain no underscore, as in RSICD (``storagetanks``),
so the class of a file is the part of its stem before the last underscore.

Every image also carries a ``scene`` field with the facts that were drawn, for error analysis::

    {"class": "airport", "caption": "an aerial image of an airport",
     "counts": {"plane": 3},                  # counted objects, singular noun -> 1..6
     "colors": {"plane": "white"},            # object or surface -> colour word
     "positions": {"runway": "left"},         # left/right/top/bottom, or horizontal/vertical
     "relations": [{"subject": "plane", "relation": "beside", "object": "runway"}]}

Scenes are drawn at 224x224 in a canonical orientation (the reference thing at the top) and
turned by a multiple of 90 degrees, so positions stay exact. Each image has its own random
generator seeded from ``(seed, imgid)``: the output does not depend on the number of workers.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DEMO_CLASSES: tuple[str, ...] = (
    "airport", "baseballfield", "beach", "bridge", "farmland", "forest",
    "harbor", "parking", "residential", "river", "storagetanks", "tenniscourt",
)  # fmt: skip
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")
ANNOTATION_NAME = "dataset_demo.json"

_S = 224  # every scene is drawn on a 224x224 canvas, other sizes are resized from it
_Y, _X = np.mgrid[0:_S, 0:_S].astype(np.float32)
_SIDES = ("top", "left", "bottom", "right")  # index = counter-clockwise quarter turns from "top"
_OPPOSITE = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}
_AT = {"top": "at the top", "bottom": "at the bottom", "left": "on the left", "right": "on the right"}
_AWAY = {"top": "below", "bottom": "above", "left": "on the right of", "right": "on the left of"}
_SPAN = {"horizontal": ("the left", "the right"), "vertical": ("the top", "the bottom")}
_FORMS = {
    "plane": (("plane", "planes"), ("airplane", "airplanes"), ("aircraft", "aircraft")),
    "boat": (("boat", "boats"), ("ship", "ships")),
    "car": (("car", "cars"), ("vehicle", "vehicles")),
    "storage tank": (("storage tank", "storage tanks"), ("tank", "tanks")),
    "house": (("house", "houses"), ("building", "buildings"), ("residence", "residences")),
    "baseball field": (("baseball field", "baseball fields"), ("baseball diamond", "baseball diamonds")),
    "tennis court": (("tennis court", "tennis courts"),),
    "bridge": (("bridge", "bridges"),),
}
_GREENS = ((38, 74, 32), (48, 88, 38), (60, 100, 44), (42, 80, 50), (70, 108, 52))
_NEXT_TO = ("beside", "next to", "along")
_VAGUE = {  # quantifiers that are true of 2, 3, and 4 or more objects
    2: ("some",),
    3: ("some", "several", "a few"),
    4: ("many", "several", "some", "lots of"),
}
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
    tasks = [(seed, imgid, cls, k, size, str(images_dir)) for imgid, (cls, k) in enumerate(names)]
    splits = _assign_splits(per_class, fractions, np.random.default_rng([seed, 2**40]))

    workers = min(2, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    if workers == 1 or len(tasks) < 8:
        entries = _collect(map(_build_image, tasks), len(tasks), progress)
    else:
        with _process_context().Pool(workers) as pool:
            chunk = max(1, min(32, len(tasks) // (workers * 8)))
            entries = _collect(pool.imap(_build_image, tasks, chunksize=chunk), len(tasks), progress)

    images = []
    for imgid, ((filename, raws, scene), split) in enumerate(zip(entries, splits)):
        sentids = list(range(5 * imgid, 5 * imgid + 5))
        sentences = [
            {"raw": raw, "tokens": tokenize(raw), "imgid": imgid, "sentid": sid}
            for raw, sid in zip(raws, sentids)
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


def tokenize(raw: str) -> list[str]:
    """Lowercased words of a caption without punctuation, as in the Karpathy ``tokens`` field."""
    return "".join(ch if ch.isalnum() else " " for ch in raw.lower()).split()


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
    """Draw ``scene`` as a top-down RGB image of ``size`` x ``size`` pixels."""
    img = _SCENES[scene["class"]][1](scene, rng)
    return img if size == _S else img.resize((size, size), Image.Resampling.LANCZOS)


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


# ---------------------------------------------------------------------------------------------
# Caption helpers


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def _a(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _np(rng, n: int, forms, color: str | None = None, roof: bool = False) -> str:
    """A noun phrase for ``n`` objects: with a count word, a colour, both, or a vague quantity."""
    singular, plural = _pick(rng, forms)
    style = _pick(rng, ("count", "count", "both", "both", "color", "vague"))
    if color is None:
        style = {"both": "count", "color": "vague"}.get(style, style)
    colored = style in ("both", "color")
    words = " ".join(([color] if colored and not roof else []) + [singular if n == 1 else plural])
    if n == 1:
        phrase = f"one {words}" if style in ("count", "both") and rng.random() < 0.3 else _a(words)
    elif style in ("count", "both"):
        phrase = f"{NUMBER_WORDS[n]} {words}"
    elif style == "vague":
        phrase = f"{_pick(rng, _VAGUE[min(n, 4)])} {words}"
    else:
        phrase = words
    if colored and roof:
        phrase += f" with a {color} roof" if n == 1 else f" with {color} roofs"
    return phrase


def _annotator_style(rng, text: str) -> str:
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    return text + " ." if rng.random() < 0.4 else text


def _rel(scene: dict, relation: str) -> dict | None:
    return next((r for r in scene["relations"] if r["relation"] == relation), None)


def _scene(cls: str, caption: str, counts=None, colors=None, positions=None, relations=(), **private) -> dict:
    rels = [{"subject": s, "relation": r, "object": o} for s, r, o in relations]
    return {
        "class": cls,
        "caption": caption,
        "counts": counts or {},
        "colors": colors or {},
        "positions": positions or {},
        "relations": rels,
        **{f"_{k}": v for k, v in private.items()},
    }


def _count(rng, count: int | None, high: int) -> int:
    if count is None:
        return int(rng.integers(1, high + 1))
    if not 1 <= count <= high:
        raise ValueError(f"count must be between 1 and {high}, got {count}")
    return int(count)


# ---------------------------------------------------------------------------------------------
# Drawing helpers


def _noise(rng, cells: int) -> np.ndarray:
    low = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(low, "F").resize((_S, _S), Image.Resampling.BICUBIC))


def _texture(rng, rgb, low: float = 10.0, fine: float = 5.0, cells: int = 10) -> np.ndarray:
    """A float HxWx3 surface of colour ``rgb`` with smooth blotches and fine grain."""
    grain = rng.standard_normal((_S, _S, 1), dtype=np.float32) * fine
    return np.asarray(rgb, np.float32) + _noise(rng, cells)[..., None] * low + grain


def _paint(base: np.ndarray, mask: np.ndarray, rgb, rng, low: float = 6.0, fine: float = 4.0) -> None:
    base[mask] = _texture(rng, rgb, low, fine)[mask]


def _image(base: np.ndarray) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    return img, ImageDraw.Draw(img, "RGBA")


def _turn(img: Image.Image, side: str) -> Image.Image:
    """Turn a canonical drawing (reference thing at the top) so that thing ends up at ``side``."""
    k = _SIDES.index(side)
    turns = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)
    return img if k == 0 else img.transpose(turns[k - 1])


def _wave(rng, mean: float, amp: float, axis: np.ndarray | None = None) -> np.ndarray:
    """A smooth curve ``mean + amp * f(x)`` over the canvas (1-D, or evaluated on ``axis``)."""
    x = np.arange(_S, dtype=np.float32) if axis is None else axis
    p1, p2 = rng.uniform(180, 420), rng.uniform(70, 140)
    f1, f2 = rng.uniform(0, 2 * math.pi, 2)
    return mean + amp * (0.75 * np.sin(2 * math.pi * x / p1 + f1) + 0.25 * np.sin(2 * math.pi * x / p2 + f2))


def _place(points, cx: float, cy: float, angle: float, scale: float = 1.0) -> list[tuple[float, float]]:
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]


def _object(draw, parts, cx, cy, angle, scale=1.0, shadow=(3, 3)) -> None:
    """Draw polygons ``[(points, fill), ...]`` turned by ``angle``, the first with a shadow."""
    draw.polygon(_place(parts[0][0], cx + shadow[0], cy + shadow[1], angle, scale), fill=(0, 0, 0, 90))
    for points, fill in parts:
        draw.polygon(_place(points, cx, cy, angle, scale), fill=fill)


def _trees(draw, rng, free: np.ndarray, n: int, rmin: float = 5.0, rmax: float = 9.0) -> None:
    """Up to ``n`` tree crowns at random places whose whole crown lies where ``free`` is True."""
    xs, ys = rng.uniform(0, _S, n), rng.uniform(0, _S, n)
    rs = rng.uniform(rmin, rmax, n)
    shades = rng.integers(len(_GREENS), size=n)
    jitter = rng.integers(-8, 9, size=n)
    ok = np.ones(n, bool)
    for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        px = np.clip(xs + dx * rs * 0.8, 0, _S - 1).astype(int)
        py = np.clip(ys + dy * rs * 0.8, 0, _S - 1).astype(int)
        ok &= free[py, px]
    for x, y, r, shade, j in zip(xs[ok], ys[ok], rs[ok], shades[ok], jitter[ok]):
        rgb = tuple(int(v + j) for v in _GREENS[shade])
        draw.ellipse(
            (x - r + r * 0.45, y - r + r * 0.45, x + r + r * 0.45, y + r + r * 0.45), fill=(0, 0, 0, 80)
        )
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rgb)
        h = r * 0.45
        draw.ellipse(
            (x - r * 0.3 - h, y - r * 0.3 - h, x - r * 0.3 + h, y - r * 0.3 + h),
            fill=tuple(min(255, v + 22) for v in rgb),
        )


def _border(width: float) -> np.ndarray:
    return (_X < width) | (_Y < width) | (_X >= _S - width) | (_Y >= _S - width)


def _box(x0, y0, x1, y1) -> np.ndarray:
    return (_X >= x0) & (_X < x1) & (_Y >= y0) & (_Y < y1)


def _road(base, rng, y0: float, y1: float) -> None:
    """A horizontal asphalt road between rows ``y0`` and ``y1`` with a dashed centre line."""
    _paint(base, (_Y >= y0) & (_Y < y1), (96, 96, 98), rng, 3, 3)
    mid = (y0 + y1) / 2
    base[(np.abs(_Y - mid) < 1) & ((_X % 18) < 9)] = (215, 215, 205)


# Object outlines (pointing along +x, centred on 0), in pixels at scale 1.
_PLANE = [(23, 0), (20, -2.6), (-17, -2.6), (-23, -1.2), (-23, 1.2), (-17, 2.6), (20, 2.6)]
_WINGS = [(6, -2.6), (-5, -22), (-10, -22), (-5, -2.6), (-5, 2.6), (-10, 22), (-5, 22), (6, 2.6)]
_TAIL = [(-16, -2), (-21, -9.5), (-24, -9.5), (-22, -2), (-22, 2), (-24, 9.5), (-21, 9.5), (-16, 2)]
_HULL = [(17, 0), (10, -6), (-17, -6), (-17, 6), (10, 6)]
_CABIN = [(4, -3.5), (-9, -3.5), (-9, 3.5), (4, 3.5)]
_CAR = [(13, -4.5), (11, -6.5), (-12, -6.5), (-13, -5), (-13, 5), (-12, 6.5), (11, 6.5), (13, 4.5)]
_WINDSHIELD = [(7.5, -5.2), (3, -5.5), (3, 5.5), (7.5, 5.2)]
_REAR_WINDOW = [(-8, -5.2), (-10.5, -5), (-10.5, 5), (-8, 5.2)]
_ROOF_A = [(-18, -14), (18, -14), (18, 0), (-18, 0)]
_ROOF_B = [(-18, 0), (18, 0), (18, 14), (-18, 14)]


# ---------------------------------------------------------------------------------------------
# Scenes: each class has (sample facts, draw, caption makers)


def _sample_airport(rng, count):
    n, side = _count(rng, count, 6), _pick(rng, _SIDES)
    return _scene(
        "airport",
        "an aerial image of an airport",
        {"plane": n},
        {"plane": "white"},
        {"runway": side},
        [("plane", "beside", "runway"), ("plane", "parked on", "apron")],
    )


def _draw_airport(sc, rng):
    base = _texture(rng, (124, 132, 88), 12, 6)
    ry, rw = int(rng.integers(8, 20)), 30
    ay = ry + rw + 22  # apron top
    _paint(base, (_Y >= ry) & (_Y < ry + rw), (88, 88, 92), rng, 3, 3)
    for tx in rng.choice([40, 112, 184], size=2, replace=False):
        _paint(base, (_Y >= ry + rw) & (_Y < ay) & (np.abs(_X - tx) < 7), (100, 100, 102), rng, 3, 3)
    _paint(base, (_Y >= ay) & (_Y < 204), (138, 138, 134), rng, 4, 3)
    _paint(base, _Y >= 208, (150, 152, 160), rng, 3, 3)  # terminal roof
    img, draw = _image(base)
    draw.line((0, ry + 3, _S, ry + 3), fill=(230, 230, 230))
    draw.line((0, ry + rw - 4, _S, ry + rw - 4), fill=(230, 230, 230))
    for x in range(int(rng.integers(0, 20)), _S, 22):
        draw.rectangle((x, ry + rw // 2 - 1, x + 11, ry + rw // 2), fill=(235, 235, 235))
    nose = -math.pi / 2 if rng.random() < 0.75 else math.pi / 2
    slots = [(x, ay + dy) for dy in (32, 96) for x in (37, 112, 187)]
    for i in rng.choice(6, size=sc["counts"]["plane"], replace=False):
        x, y = slots[i]
        parts = [(_WINGS, (236, 236, 236)), (_TAIL, (236, 236, 236)), (_PLANE, (246, 246, 246))]
        _object(
            draw,
            parts,
            x + rng.uniform(-5, 5),
            y + rng.uniform(-4, 4),
            nose + rng.normal(0, 0.12),
            rng.uniform(0.95, 1.08),
            shadow=(4, 4),
        )
    return _turn(img, sc["positions"]["runway"])


def _captions_airport(sc, rng):
    n, side = sc["counts"]["plane"], sc["positions"]["runway"]
    be = _be(n)

    def p():
        return _np(rng, n, _FORMS["plane"], "white")

    return [
        lambda: f"there {be} {p()} at the airport",
        lambda: f"{p()} {be} parked {_pick(rng, ('beside', 'next to', 'near'))} the runway",
        lambda: f"{p()} {be} parked on the apron",
        lambda: f"an airport with {p()}",
        lambda: f"the runway is {_AT[side]} and {p()} {be} parked beside it",
        lambda: f"{p()} {be} parked {_AWAY[side]} the runway",
        lambda: _pick(
            rng,
            ("this is an airport with a long runway", "it is an airport", "a long runway is in the airport"),
        ),
        lambda: f"many {_pick(rng, ('planes', 'airplanes'))} are parked at the airport" if n >= 4 else None,
    ]


def _sample_harbor(rng, count):
    n, side, color = _count(rng, count, 6), _pick(rng, _SIDES), _pick(rng, ("white", "red"))
    return _scene(
        "harbor",
        "an aerial image of a harbor",
        {"boat": n},
        {"boat": color, "sea": "blue"},
        {"sea": side},
        [("boat", "beside", "pier"), ("harbor", "next to", "sea")],
    )


def _draw_harbor(sc, rng):
    coast = _wave(rng, 132, 4)
    base = _texture(rng, (150, 147, 138), 8, 5)
    sea = _Y < coast[None, :]
    _paint(base, sea, (36, 76, 110), rng, 5, 3)
    base[np.abs(_Y - coast[None, :]) < 2] = (105, 103, 98)  # quay edge
    piers = (70, 154) if rng.random() < 0.5 else (40, 112, 184)
    for px in piers:
        base[(np.abs(_X - px) < 4) & (_Y > 30) & (_Y <= coast[int(px)])] = (172, 170, 162)
    img, draw = _image(base)
    for _ in range(int(rng.integers(2, 5))):  # warehouses on land
        x0, y0 = rng.uniform(0, 170), rng.uniform(coast.max() + 12, 180)
        shade = _pick(rng, ((120, 130, 150), (175, 175, 170), (160, 95, 70)))
        draw.rectangle((x0 + 3, y0 + 3, x0 + 51, y0 + 31), fill=(0, 0, 0, 70))
        draw.rectangle((x0, y0, x0 + 48, y0 + 28), fill=shade)
    hull, cabin = (
        ((236, 236, 236), (160, 182, 200))
        if sc["colors"]["boat"] == "white"
        else ((196, 36, 34), (236, 236, 236))
    )
    slots = [
        (px + side * 13, coast[int(px)] - 26 - 40 * k) for px in piers for side in (-1, 1) for k in (0, 1)
    ]
    for i in rng.choice(len(slots), size=sc["counts"]["boat"], replace=False):
        x, y = slots[i]
        heading = (-math.pi / 2 if rng.random() < 0.5 else math.pi / 2) + rng.normal(0, 0.04)
        _object(
            draw, [(_HULL, hull), (_CABIN, cabin)], x, y + rng.uniform(-3, 3), heading, rng.uniform(0.95, 1.1)
        )
    return _turn(img, sc["positions"]["sea"])


def _captions_harbor(sc, rng):
    n, side, color = sc["counts"]["boat"], sc["positions"]["sea"], sc["colors"]["boat"]
    be = _be(n)

    def p():
        return _np(rng, n, _FORMS["boat"], color)

    return [
        lambda: f"there {be} {p()} in the {_pick(rng, ('harbor', 'port'))}",
        lambda: f"{p()} {be} {_pick(rng, ('docked', 'moored'))} {_pick(rng, _NEXT_TO)} the piers",
        lambda: f"a harbor with {p()} and some piers",
        lambda: f"the sea is {_AT[side]} and {p()} {be} in the water",
        lambda: f"{p()} {be} in the water near the piers",
        lambda: _pick(
            rng,
            (
                "this is a port next to the sea",
                "it is a harbor beside the sea",
                "some piers stretch into the sea",
            ),
        ),
        lambda: f"many {_pick(rng, ('boats', 'ships'))} are docked in the port" if n >= 4 else None,
        lambda: f"the sea is {_AT[side]} and the land is {_AT[_OPPOSITE[side]]}",
    ]


def _sample_parking(rng, count):
    n, color = _count(rng, count, 6), _pick(rng, ("red", "white", "blue", "yellow"))
    if rng.random() < 0.5:
        side = _pick(rng, _SIDES)
        return _scene(
            "parking",
            "an aerial image of a parking lot",
            {"car": n},
            {"car": color},
            {"building": side},
            [("car", "in", "parking lot"), ("parking lot", "next to", "building")],
        )
    return _scene(
        "parking",
        "an aerial image of a parking lot",
        {"car": n},
        {"car": color},
        {},
        [("car", "in", "parking lot"), ("parking lot", "surrounded by", "trees")],
    )


def _draw_parking(sc, rng):
    base = _texture(rng, (98, 132, 72), 10, 5)
    building = "building" in sc["positions"]
    x0, y0, x1, y1 = (8, 72, 216, 216) if building else (30, 34, 194, 190)
    if building:
        _paint(base, _box(10, 6, 214, 60), (176, 176, 178), rng, 3, 3)
    _paint(base, _box(x0, y0, x1, y1), (82, 82, 86), rng, 3, 3)
    img, draw = _image(base)
    if building:
        for _ in range(5):  # roof equipment
            bx, by = rng.uniform(20, 190), rng.uniform(12, 44)
            draw.rectangle((bx, by, bx + 10, by + 7), fill=(140, 140, 145))
    else:
        _trees(draw, rng, ~_box(x0 - 4, y0 - 4, x1 + 4, y1 + 4), 260, 6, 10)
    stalls = (x1 - x0 - 8) // 20
    left = x0 + (x1 - x0 - stalls * 20) / 2
    rows = ((y0 + 6, y0 + 40), (y1 - 40, y1 - 6))
    for ra, rb in rows:
        for k in range(stalls + 1):
            draw.line((left + 20 * k, ra, left + 20 * k, rb), fill=(225, 225, 220))
    paint = {"red": (200, 34, 30), "white": (238, 238, 236), "blue": (40, 72, 196), "yellow": (232, 200, 40)}[
        sc["colors"]["car"]
    ]
    slots = [(left + 20 * k + 10, (ra + rb) / 2, r) for r, (ra, rb) in enumerate(rows) for k in range(stalls)]
    for i in rng.choice(len(slots), size=sc["counts"]["car"], replace=False):
        x, y, r = slots[i]
        heading = (math.pi / 2 if (r == 0) == (rng.random() < 0.7) else -math.pi / 2) + rng.normal(0, 0.04)
        parts = [(_CAR, paint), (_WINDSHIELD, (40, 46, 56)), (_REAR_WINDOW, (40, 46, 56))]
        _object(draw, parts, x + rng.uniform(-1.5, 1.5), y + rng.uniform(-2, 2), heading, 1.15, shadow=(2, 2))
    return _turn(img, sc["positions"]["building"] if building else _pick(rng, _SIDES))


def _captions_parking(sc, rng):
    n, color = sc["counts"]["car"], sc["colors"]["car"]
    be = _be(n)
    building = sc["positions"].get("building")

    def p():
        return _np(rng, n, _FORMS["car"], color)

    def around():
        if building:
            return _pick(
                rng, ("the parking lot is next to a large building", f"a large building is {_AT[building]}")
            )
        return _pick(
            rng, ("the parking lot is surrounded by green trees", "many trees are around the parking lot")
        )

    where = "next to a building" if building else "surrounded by trees"
    return [
        lambda: f"there {be} {p()} in the parking lot",
        lambda: f"{p()} {be} parked in the parking lot",
        lambda: f"a parking lot with {p()}",
        around,
        lambda: _pick(rng, ("there are many empty parking spaces", "most of the parking spaces are empty")),
        lambda: f"{p()} {be} parked in a parking lot {where}",
        lambda: _pick(rng, ("it is a parking lot", "this is a parking lot")),
    ]


def _sample_storagetanks(rng, count):
    n, side = _count(rng, count, 6), _pick(rng, _SIDES)
    return _scene(
        "storagetanks",
        "an aerial image of storage tanks",
        {"storage tank": n},
        {"storage tank": "white"},
        {"road": side},
        [("storage tank", "beside", "road")],
    )


def _draw_storagetanks(sc, rng):
    base = _texture(rng, (178, 168, 146), 10, 6)
    _road(base, rng, 8, 26)
    img, draw = _image(base)
    slots = [(x, y) for y in (82, 168) for x in (40, 112, 184)]
    chosen = sorted(rng.choice(6, size=sc["counts"]["storage tank"], replace=False))
    tanks = [
        (slots[i][0] + rng.uniform(-5, 5), slots[i][1] + rng.uniform(-5, 5), rng.uniform(17, 25))
        for i in chosen
    ]
    for x, y, _ in tanks:
        draw.line((x, 26, x, y), fill=(112, 110, 106), width=2)  # pipes to the road, under the tanks
    for x, y, r in tanks:
        draw.rectangle((x - r - 7, y - r - 7, x + r + 7, y + r + 7), outline=(140, 130, 110), width=2)
        draw.ellipse((x - r + 4, y - r + 4, x + r + 4, y + r + 4), fill=(0, 0, 0, 90))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(230, 230, 226), outline=(188, 188, 184))
        draw.ellipse((x - r * 0.65, y - r * 0.65, x + r * 0.65, y + r * 0.65), outline=(198, 198, 194))
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(170, 170, 166))
    return _turn(img, sc["positions"]["road"])


def _captions_storagetanks(sc, rng):
    n, side = sc["counts"]["storage tank"], sc["positions"]["road"]
    be = _be(n)

    def p():
        return _np(rng, n, _FORMS["storage tank"], "white")

    return [
        lambda: f"there {be} {p()} {_pick(rng, ('in this area', 'on the ground', 'on the bare land'))}",
        lambda: f"{p()} {be} {_pick(rng, ('located', 'built'))} beside a road",
        lambda: f"{p()} {be} {_AWAY[side]} the road",
        lambda: f"the road is {_AT[side]} and {p()} {be} next to it",
        lambda: f"this is an industrial area with {'a storage tank' if n == 1 else 'some storage tanks'}",
        lambda: f"many {_pick(rng, ('tanks', 'storage tanks'))} are arranged neatly" if n >= 4 else None,
        lambda: f"{p()} {be} on the bare land",
    ]


def _sample_farmland(rng, count):
    color = _pick(rng, ("green", "yellow", "green and yellow"))
    road = rng.random() < 0.5
    return _scene(
        "farmland",
        "an aerial image of farmland",
        colors={"field": color},
        relations=[("road", "through", "farmland")] if road else [],
    )


def _field_surface(rng, color: str) -> tuple[np.ndarray, list[float]]:
    """Rectangular plots in strips of ``color`` crops; returns the surface and the row edges."""
    palette = {
        "green": ((72, 122, 50), (92, 140, 60), (60, 108, 46)),
        "yellow": ((204, 184, 104), (214, 196, 124), (188, 164, 92)),
    }
    cols = np.r_[0, np.sort(rng.uniform(0.2, 0.8, int(rng.integers(1, 3)))) * _S, _S]
    rows = np.r_[0, np.sort(rng.uniform(0.25, 0.75, int(rng.integers(1, 3)))) * _S, _S]
    plots = [(a, b, c, d) for a, b in zip(cols, cols[1:]) for c, d in zip(rows, rows[1:])]
    kinds = [_pick(rng, ("green", "yellow")) if color == "green and yellow" else color for _ in plots]
    if color == "green and yellow":
        first, second = rng.choice(len(plots), size=2, replace=False)
        kinds[first], kinds[second] = "green", "yellow"
    base = _texture(rng, (0, 0, 0), 6, 4)
    for (x0, x1, y0, y1), kind in zip(plots, kinds):
        mask = _box(x0, y0, x1, y1)
        period = rng.uniform(5, 9)
        along = _X if rng.random() < 0.5 else _Y
        stripes = ((along // (period / 2)) % 2)[..., None] * 14 - 7
        base[mask] += (np.asarray(_pick(rng, palette[kind]), np.float32) + stripes)[mask]
    edges = np.zeros((_S, _S), bool)
    for c in cols[1:-1]:
        edges |= np.abs(_X - c) < 1.5
    for r in rows[1:-1]:
        edges |= np.abs(_Y - r) < 1.5
    base[edges] = (128, 112, 84)
    return base, list(rows[1:-1])


def _draw_farmland(sc, rng):
    base, rows = _field_surface(rng, sc["colors"]["field"])
    if _rel(sc, "through"):
        _paint(base, np.abs(_Y - _pick(rng, rows)) < 5, (112, 112, 110), rng, 3, 3)
    img, _ = _image(base)
    return _turn(img, _pick(rng, _SIDES))


def _captions_farmland(sc, rng):
    color = sc["colors"]["field"]
    road = _rel(sc, "through")
    return [
        lambda: _pick(
            rng,
            (
                "there is a piece of farmland",
                "it is a piece of cropland",
                f"it is a piece of {color} farmland",
            ),
        ),
        lambda: f"many {color} fields are arranged neatly",
        lambda: f"the farmland is {color}",
        lambda: (
            _pick(rng, (f"a road goes through the {color} farmland", "the farmland is divided by a road"))
            if road
            else None
        ),
        lambda: _pick(rng, ("the crops are planted in rows", "the fields are planted in strips")),
        lambda: f"many pieces of {_pick(rng, ('farmland', 'cropland'))} are next to each other",
        lambda: f"some rectangular {color} fields",
    ]


def _sample_forest(rng, count):
    road = rng.random() < 0.4
    return _scene(
        "forest",
        "an aerial image of a forest",
        colors={"tree": "green"},
        relations=[("road", "through", "forest")] if road else [],
    )


def _draw_forest(sc, rng):
    base = _texture(rng, (30, 56, 26), 8, 5)
    free = np.ones((_S, _S), bool)
    if _rel(sc, "through"):
        road = np.abs(_X - _wave(rng, 112, 30, _Y)) < 5
        _paint(base, road, (150, 132, 102), rng, 4, 4)
        free = ~_dilate(road, 4)
    img, draw = _image(base)
    _trees(draw, rng, free, 520, 6, 10)
    return _turn(img, _pick(rng, _SIDES))


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for d in range(1, r + 1):
        out[d:] |= mask[:-d]
        out[:-d] |= mask[d:]
        out[:, d:] |= mask[:, :-d]
        out[:, :-d] |= mask[:, d:]
    return out


def _captions_forest(sc, rng):
    road = _rel(sc, "through")
    return [
        lambda: _pick(rng, ("it is a dense forest", "this is a large forest")),
        lambda: "many green trees are in the forest",
        lambda: "there are lots of dense trees",
        lambda: "the forest is full of dark green trees",
        lambda: (
            _pick(rng, ("a road goes through the forest", "a path passes through the dense trees"))
            if road
            else "the trees grow densely together"
        ),
        lambda: "many trees are planted closely",
        lambda: "a piece of forest with many trees",
    ]


def _sample_river(rng, count):
    banks, orient = _pick(rng, ("trees", "fields")), _pick(rng, ("horizontal", "vertical"))
    rel = ("river", "surrounded by", "trees") if banks == "trees" else ("river", "between", "fields")
    return _scene(
        "river",
        "an aerial image of a river",
        colors={"river": "blue"},
        positions={"river": orient},
        relations=[rel],
    )


def _river_mask(rng, mean, amp, half: float) -> tuple[np.ndarray, np.ndarray]:
    centre = _wave(rng, mean, amp, _X)
    return np.abs(_Y - centre) < half, np.abs(_Y - centre) < half + 3


def _draw_river(sc, rng):
    water, bank = _river_mask(rng, 112, rng.uniform(10, 24), rng.uniform(15, 20))
    trees = _rel(sc, "surrounded by")
    base = _texture(rng, (32, 60, 28), 8, 5) if trees else _field_surface(rng, "green and yellow")[0]
    _paint(base, bank, (158, 146, 116), rng, 4, 4)
    _paint(base, water, (42, 84, 112), rng, 5, 3)
    img, draw = _image(base)
    if trees:
        _trees(draw, rng, ~_dilate(bank, 3), 480, 6, 10)
    turns = ("top", "bottom") if sc["positions"]["river"] == "horizontal" else ("left", "right")
    return _turn(img, _pick(rng, turns))


def _captions_river(sc, rng):
    trees = _rel(sc, "surrounded by")
    a, b = _SPAN[sc["positions"]["river"]]
    land = "forest" if trees else _pick(rng, ("farmland", "fields"))
    return [
        lambda: f"a river runs through the {land}",
        lambda: f"there is a river {'surrounded by trees' if trees else 'between fields'}",
        lambda: f"a winding river goes from {a} to {b}",
        lambda: _pick(rng, ("it is a river", "this is a blue river")),
        lambda: f"{'many green trees' if trees else 'some fields'} are on both sides of the river",
        lambda: f"a river with {'trees' if trees else 'farmland'} on its banks",
        lambda: "the river is blue",
    ]


def _sample_beach(rng, count):
    side, behind = _pick(rng, _SIDES), _pick(rng, ("trees", "buildings"))
    return _scene(
        "beach",
        "an aerial image of a beach",
        colors={"sea": "blue", "beach": "yellow"},
        positions={"sea": side, behind: _OPPOSITE[side]},
        relations=[("beach", "next to", "sea"), (behind, "behind", "beach")],
    )


def _draw_beach(sc, rng):
    coast = _wave(rng, 78, 8)[None, :]
    inland = coast + _wave(rng, 62, 6)[None, :]
    base = _texture(rng, (222, 206, 160), 8, 5)
    depth = np.clip((coast - _Y) / 70, 0, 1)[..., None]
    sea = (
        _texture(rng, (0, 0, 0), 4, 3)
        + (1 - depth) * np.array([74, 156, 168])
        + depth * np.array([28, 74, 116])
    )
    base[_Y < coast] = sea[_Y < coast]
    base[(_Y >= coast) & (_Y < coast + 5)] -= 28  # wet sand
    foam = (coast - _Y >= 0) & (coast - _Y < 3 + 2 * _noise(rng, 30))
    for offset in (14, 27):
        foam |= np.abs(coast - _Y - offset - 2 * _noise(rng, 20)) < 0.9
    base[foam] = base[foam] * 0.3 + np.array([240, 244, 244]) * 0.7
    land = _Y >= inland + 10
    _paint(base, (_Y >= inland) & ~land, (100, 100, 102), rng, 3, 3)  # beach road
    _paint(base, land, (82, 120, 64), rng, 8, 5)
    img, draw = _image(base)
    if "trees" in sc["positions"]:
        _trees(draw, rng, land & (_Y > inland + 13), 240, 6, 10)
    else:
        top = int(inland.max()) + 14
        for y in range(top, _S, 38):
            for x in np.arange(rng.uniform(-10, 10), _S, 44):
                w, h = rng.uniform(26, 36), rng.uniform(20, 28)
                shade = _pick(rng, ((205, 205, 200), (178, 92, 70), (150, 150, 160), (224, 216, 196)))
                draw.rectangle((x + 3, y + 3, x + w + 3, y + h + 3), fill=(0, 0, 0, 70))
                draw.rectangle((x, y, x + w, y + h), fill=shade)
    return _turn(img, sc["positions"]["sea"])


def _captions_beach(sc, rng):
    side = sc["positions"]["sea"]
    behind = "trees" if "trees" in sc["positions"] else "buildings"
    return [
        lambda: _pick(rng, ("this is a beach next to the sea", "a beach is beside the sea")),
        lambda: f"the sea is {_AT[side]}",
        lambda: "a yellow beach is next to the blue sea",
        lambda: _pick(rng, ("white waves hit the sandy beach", "white waves are on the beach")),
        lambda: (
            "many green trees are behind the beach"
            if behind == "trees"
            else "some buildings are behind the beach"
        ),
        lambda: _pick(rng, ("there is a long beach", "a long sandy beach")),
        lambda: f"the sea is {_AT[side]} and the {behind} are {_AT[_OPPOSITE[side]]}",
    ]


def _sample_residential(rng, count):
    n, color = _count(rng, count, 6), _pick(rng, ("red", "white"))
    slots = sorted(int(i) for i in rng.choice(6, size=n, replace=False))
    both = any(i < 3 for i in slots) and any(i >= 3 for i in slots)
    rels = [
        ("house", "along", "road"),
        ("house", "on both sides of" if both else "on the same side of", "road"),
    ]
    if rng.random() < 0.6:
        rels.append(("house", "surrounded by", "trees"))
    return _scene(
        "residential",
        "an aerial image of a residential area",
        {"house": n},
        {"roof": color},
        {"road": _pick(rng, ("horizontal", "vertical"))},
        rels,
        slots=slots,
    )


def _draw_residential(sc, rng):
    base = _texture(rng, (96, 136, 70), 10, 5)
    _road(base, rng, 104, 120)
    base[(np.abs(_Y - 102) < 1.5) | (np.abs(_Y - 122) < 1.5)] = (176, 176, 170)  # kerbs
    light, dark = (
        ((192, 72, 56), (150, 52, 40))
        if sc["colors"]["roof"] == "red"
        else ((242, 242, 238), (200, 200, 196))
    )
    houses = np.zeros((_S, _S), bool)
    img, draw = _image(base)
    across = rng.random() < 0.3  # ridge across the road instead of along it
    for i in sc["_slots"]:
        x, y = (40, 112, 184)[i % 3] + rng.uniform(-4, 4), (66, 158)[i // 3] + rng.uniform(-3, 3)
        drive = x + rng.uniform(-8, 8)
        draw.rectangle((drive - 4, min(y, 110), drive + 4, max(y, 112)), fill=(150, 150, 148))
        angle = (math.pi / 2 if across else 0) + rng.normal(0, 0.04)
        _object(
            draw, [(_ROOF_A, light), (_ROOF_B, dark)], x, y, angle, rng.uniform(0.92, 1.05), shadow=(4, 4)
        )
        draw.line(_place([(-18, 0), (18, 0)], x, y, angle), fill=tuple(v - 25 for v in dark), width=1)
        houses |= _box(x - 26, y - 26, x + 26, y + 26)
        houses |= _box(drive - 8, min(y, 110), drive + 8, max(y, 112))
    if _rel(sc, "surrounded by"):
        _trees(draw, rng, ~houses & ~_box(0, 98, _S, 126), 200, 5, 9)
    return _turn(
        img, _pick(rng, ("top", "bottom") if sc["positions"]["road"] == "horizontal" else ("left", "right"))
    )


def _captions_residential(sc, rng):
    n, color = sc["counts"]["house"], sc["colors"]["roof"]
    be = _be(n)
    trees, both = _rel(sc, "surrounded by"), _rel(sc, "on both sides of")

    def p():
        return _np(rng, n, _FORMS["house"], color, roof=True)

    return [
        lambda: f"there {be} {p()} in this residential area",
        lambda: f"{p()} {be} {_pick(rng, ('arranged along', 'built beside', 'located beside'))} a road",
        lambda: (
            f"{p()} {be} surrounded by {_pick(rng, ('green trees', 'many trees'))}"
            if trees
            else f"{p()} {be} surrounded by green lawns"
        ),
        lambda: "a road goes through the residential area",
        lambda: "it is a sparse residential area" if n <= 3 else "it is a residential area with many houses",
        lambda: f"a residential area with {p()}",
        lambda: (
            f"{p()} are on both sides of the road"
            if both
            else f"{p()} {be} {'on the same side of' if n > 1 else 'next to'} the road"
        ),
    ]


def _sample_baseballfield(rng, count):
    n = _count(rng, count, 2)
    if rng.random() < 0.5:
        return _scene(
            "baseballfield",
            "an aerial image of a baseball field",
            {"baseball field": n},
            {"baseball field": "green"},
            {},
            [("baseball field", "surrounded by", "trees")],
        )
    return _scene(
        "baseballfield",
        "an aerial image of a baseball field",
        {"baseball field": n},
        {"baseball field": "green"},
        {"road": _pick(rng, _SIDES)},
        [("baseball field", "next to", "road")],
    )


def _draw_baseballfield(sc, rng):
    base = _texture(rng, (104, 136, 76), 10, 5)
    road = "road" in sc["positions"]
    if road:
        _road(base, rng, 6, 24)
    if sc["counts"]["baseball field"] == 1:
        diamonds = [(112 + rng.uniform(-8, 8), 204, 146.0, 225.0)]
    else:
        diamonds = [(62, 212, 92.0, 205.0), (162, 212, 92.0, 245.0)]
    fans = np.zeros((_S, _S), bool)
    mow = ((_X + _Y) // 9 % 2)[..., None] * 12
    for hx, hy, radius, start in diamonds:
        ang = (np.degrees(np.arctan2(_Y - hy, _X - hx)) - start) % 360
        fan = (np.hypot(_X - hx, _Y - hy) < radius) & (ang <= 90)
        base[fan] = (np.array([78, 148, 62], np.float32) + mow)[fan]
        fans |= _dilate(fan, 6)
    img, draw = _image(base)
    for hx, hy, radius, start in diamonds:
        u1 = np.array([math.cos(math.radians(start)), math.sin(math.radians(start))])
        u2 = np.array([math.cos(math.radians(start + 90)), math.sin(math.radians(start + 90))])
        home = np.array([hx, hy])
        r_in = radius * 0.46
        draw.pieslice((hx - r_in, hy - r_in, hx + r_in, hy + r_in), start, start + 90, fill=(192, 150, 104))
        b = radius * 0.28
        corners = [home + 0.1 * b * (u1 + u2), home + b * u1, home + b * (u1 + u2) * 0.93, home + b * u2]
        draw.polygon([tuple(c) for c in corners], fill=(86, 156, 66))
        for end in (u1, u2):
            draw.line((hx, hy, *(home + radius * end)), fill=(240, 240, 236), width=1)
        for c in (home, home + b * u1, home + b * (u1 + u2), home + b * u2):
            draw.rectangle((c[0] - 2, c[1] - 2, c[0] + 2, c[1] + 2), fill=(244, 244, 240))
        mound = home + 0.5 * b * (u1 + u2)
        draw.ellipse((mound[0] - 3.5, mound[1] - 3.5, mound[0] + 3.5, mound[1] + 3.5), fill=(192, 150, 104))
    if not road:
        _trees(draw, rng, ~fans, 300, 6, 10)
    return _turn(img, sc["positions"]["road"] if road else _pick(rng, _SIDES))


def _captions_baseballfield(sc, rng):
    n = sc["counts"]["baseball field"]
    be = _be(n)
    trees = _rel(sc, "surrounded by")

    def p():
        return _np(rng, n, _FORMS["baseball field"], "green")

    return [
        lambda: f"there {be} {p()}{_pick(rng, ('', ' here', ' in this area'))}",
        lambda: (
            f"{p()} {be} surrounded by {_pick(rng, ('trees', 'green trees'))}"
            if trees
            else f"{p()} {be} next to a road"
        ),
        lambda: f"{p()} with {'a sandy infield' if n == 1 else 'sandy infields'}",
        lambda: "it is a baseball field" if n == 1 else f"{p()} are next to each other",
        lambda: f"the outfield{'s are' if n > 1 else ' is'} covered with green grass",
        lambda: f"{p()} {be} shaped like {'a fan' if n == 1 else 'fans'}",
        lambda: (
            _pick(rng, ("many trees are around", "some trees are beside"))
            + f" the field{'s' if n > 1 else ''}"
            if trees
            else f"a road is {_AT[sc['positions']['road']]}"
        ),
    ]


def _sample_tenniscourt(rng, count):
    n, color = _count(rng, count, 4), _pick(rng, ("green", "blue", "red"))
    rels = [("tennis court", "side by side", "tennis court")] if n > 1 else []
    if rng.random() < 0.5:
        return _scene(
            "tenniscourt",
            "an aerial image of tennis courts",
            {"tennis court": n},
            {"tennis court": color},
            {},
            rels + [("tennis court", "surrounded by", "trees")],
        )
    return _scene(
        "tenniscourt",
        "an aerial image of tennis courts",
        {"tennis court": n},
        {"tennis court": color},
        {"road": _pick(rng, _SIDES)},
        rels + [("tennis court", "next to", "road")],
    )


def _draw_tenniscourt(sc, rng):
    base = _texture(rng, (102, 138, 74), 10, 5)
    road = "road" in sc["positions"]
    if road:
        _road(base, rng, 6, 24)
    n = sc["counts"]["tennis court"]
    court, surround = {
        "green": ((64, 140, 82), (46, 100, 62)),
        "blue": ((48, 88, 172), (60, 122, 84)),
        "red": ((186, 86, 60), (150, 70, 52)),
    }[sc["colors"]["tennis court"]]
    width = n * 44 + (n - 1) * 2
    x0, y0 = 112 - width / 2 + rng.uniform(-6, 6), 124 - 44 + rng.uniform(-6, 6)
    img, draw = _image(base)
    block = _box(x0 - 12, y0 - 12, x0 + width + 12, y0 + 100)
    draw.rectangle((x0 - 4, y0 - 4, x0 + width + 4, y0 + 92), fill=surround, outline=(34, 52, 40), width=2)
    line = (240, 240, 240)
    for k in range(n):
        cx = x0 + 22 + 46 * k
        top, bottom, mid = y0 + 9, y0 + 79, y0 + 44
        draw.rectangle((cx - 15, top, cx + 15, bottom), fill=court, outline=line)
        draw.line((cx - 11, top, cx - 11, bottom), fill=line)
        draw.line((cx + 11, top, cx + 11, bottom), fill=line)
        draw.line((cx - 11, mid - 20, cx + 11, mid - 20), fill=line)
        draw.line((cx - 11, mid + 20, cx + 11, mid + 20), fill=line)
        draw.line((cx, mid - 20, cx, mid + 20), fill=line)
        draw.line((cx - 18, mid, cx + 18, mid), fill=(36, 36, 36), width=2)
    if not road:
        _trees(draw, rng, ~block, 300, 6, 10)
    return _turn(img, sc["positions"]["road"] if road else _pick(rng, _SIDES))


def _captions_tenniscourt(sc, rng):
    n, color = sc["counts"]["tennis court"], sc["colors"]["tennis court"]
    be = _be(n)
    trees = _rel(sc, "surrounded by")
    s = "s" if n > 1 else ""

    def p():
        return _np(rng, n, _FORMS["tennis court"], color)

    return [
        lambda: f"there {be} {p()}{_pick(rng, ('', ' here', ' in this area'))}",
        lambda: f"{p()} {be} arranged side by side" if n > 1 else None,
        lambda: f"{p()} {be} surrounded by trees" if trees else f"{p()} {be} next to a road",
        lambda: f"{p()} {_pick(rng, ('with white lines', 'marked with white lines'))}",
        lambda: (
            "it is a tennis court" if n == 1 else f"these are {'two' if n == 2 else 'several'} tennis courts"
        ),
        lambda: f"the tennis court{s} {be} {color}",
        lambda: f"a fence surrounds the tennis court{s}",
    ]


def _sample_bridge(rng, count):
    n, orient = _count(rng, count, 2), _pick(rng, ("horizontal", "vertical"))
    rels = [("bridge", "over", "river")]
    if rng.random() < 0.5:
        rels.append(("trees", "on both banks of", "river"))
    return _scene(
        "bridge",
        "an aerial image of a bridge over a river",
        {"bridge": n},
        {"river": "blue"},
        {"river": orient},
        rels,
    )


def _draw_bridge(sc, rng):
    water, bank = _river_mask(rng, 112 + rng.uniform(-10, 10), rng.uniform(0, 8), rng.uniform(24, 31))
    base = _texture(rng, (104, 134, 74), 10, 5)
    _paint(base, bank, (150, 140, 112), rng, 4, 4)
    _paint(base, water, (42, 84, 112), rng, 5, 3)
    n = sc["counts"]["bridge"]
    xs = [112 + rng.uniform(-30, 30)] if n == 1 else [60 + rng.uniform(-12, 12), 164 + rng.uniform(-12, 12)]
    roads = np.zeros((_S, _S), bool)
    for x in xs:
        road = np.abs(_X - x) < 7
        roads |= _dilate(road, 3)
        _paint(base, road & ~bank, (98, 98, 100), rng, 3, 3)
        base[road & water] = base[road & water] * 0.55  # deck shadow, the deck is drawn over it
    img, draw = _image(base)
    for x in xs:
        span = np.nonzero(bank[:, int(x)])[0]
        y0, y1 = span.min() - 6, span.max() + 6
        draw.rectangle((x - 8 + 5, y0 + 4, x + 8 + 5, y1 + 4), fill=(0, 0, 0, 80))
        draw.rectangle((x - 8, y0, x + 8, y1), fill=(172, 172, 168))
        draw.line((x - 8, y0, x - 8, y1), fill=(232, 232, 228), width=2)
        draw.line((x + 7, y0, x + 7, y1), fill=(232, 232, 228), width=2)
    if _rel(sc, "on both banks of"):
        near = _dilate(bank, 30) & ~_dilate(bank, 3) & ~roads
        _trees(draw, rng, near, 260, 5, 9)
    turns = ("top", "bottom") if sc["positions"]["river"] == "horizontal" else ("left", "right")
    return _turn(img, _pick(rng, turns))


def _captions_bridge(sc, rng):
    n = sc["counts"]["bridge"]
    be = _be(n)
    a, b = _SPAN[sc["positions"]["river"]]
    trees = _rel(sc, "on both banks of")

    def p():
        return _np(rng, n, _FORMS["bridge"])

    return [
        lambda: f"{p()} {be} {_pick(rng, ('over', 'across'))} the river",
        lambda: f"there {be} {p()} over a river",
        lambda: f"a river with {p()} across it",
        lambda: f"the river flows under the bridge{'s' if n > 1 else ''}",
        lambda: (
            "many green trees are on both banks of the river"
            if trees
            else "green grass is on both banks of the river"
        ),
        lambda: f"a river goes from {a} to {b} and {p()} {'crosses' if n == 1 else 'cross'} it",
        lambda: "a road crosses the river on a bridge" if n == 1 else "two roads cross the river on bridges",
    ]


_SCENES = {
    name: (globals()[f"_sample_{name}"], globals()[f"_draw_{name}"], globals()[f"_captions_{name}"])
    for name in DEMO_CLASSES
}
