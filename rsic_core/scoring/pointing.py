"""The pointing game: does a word's heatmap peak on the object the word names?

For every object word of a caption (a name the demo captions use for a counted object: "planes",
"storage tanks", "baseball diamond"...) that names an object drawn in the image (``scene.objects`` of
the demo dataset), the word's heatmap (:mod:`rsic_core.models.grounding`) is brought to the image's
pixels and its maximum is a **hit** when it falls inside a box of that object. Chance is what a
point drawn uniformly over the image would score: the share of the image those boxes cover. A word
naming an object the image does not hold (a hallucination) has no box and is left out; it is counted
apart (``unboxed``).

Baselines beside chance, scored on the same words: the image centre (:func:`centre_point`) and a layout prior
(:func:`layout_prior`: per object, the mean of its training boxes; its peak is the guess).

Example::

    scored, unboxed = point_words(explanation, scene)   # scene: the demo JSON's ``scene`` of the image
    score = score_points(scored, unboxed)
    score.hit_rate, score.chance, score.ratio           # e.g. 0.48, 0.14, 3.5

The demo benchmark (the demo model on the demo test split) is ``bench/bench_pointing.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rsic_core.data.demo.captions import OBJECT_FORMS
from rsic_core.models.grounding import Explanation, upsample

# Every name a demo caption gives a counted object (singular and plural, one or two words) -> its count key.
OBJECT_NAMES: dict[str, str] = {form: key for key, pairs in OBJECT_FORMS.items() for pair in pairs for form in pair}


@dataclass(frozen=True)
class Pointing:
    """One object word of one caption and where its heatmap peaked."""

    image: str
    word: str  # as the caption writes it ("storage tanks")
    object: str  # count key ("storage tank")
    point: tuple[int, int]  # (x, y) pixel of the heatmap's maximum
    hit: bool  # the point lies in a box of the object
    chance: float  # share of the image the object's boxes cover


@dataclass(frozen=True)
class PointingScore:
    """The pointing game over many captions."""

    words: int  # object words with boxes
    hits: int
    hit_rate: float  # hits / words
    chance: float  # mean share of the image covered by the named object's boxes
    ratio: float  # hit_rate / chance
    unboxed: int  # object words naming an object the image does not hold (not scored)

    def to_dict(self) -> dict:
        return asdict(self)


def object_words(words: list[str]) -> list[tuple[str, str, list[int]]]:
    """The object names in a caption's words: ``(name, count key, indices of its words)``, two-word names first."""
    clean = [w.lower().strip(".,;:!?") for w in words]
    found, i = [], 0
    while i < len(clean):
        pair = " ".join(clean[i : i + 2])
        if i + 1 < len(clean) and pair in OBJECT_NAMES:
            found.append((pair, OBJECT_NAMES[pair], [i, i + 1]))
            i += 2
        elif clean[i] in OBJECT_NAMES:
            found.append((clean[i], OBJECT_NAMES[clean[i]], [i]))
            i += 1
        else:
            i += 1
    return found


def box_mask(boxes: list, size: tuple[int, int]) -> np.ndarray:
    """Pixels (``height x width``) whose centres lie in one of ``boxes`` ``[x0, y0, x1, y1]``."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    mask = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in boxes:
        mask |= (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    return mask


def point_words(explanation: Explanation, scene: dict) -> tuple[list[Pointing], int]:
    """Where each object word's heatmap peaks, for one explained caption and its scene.

    Args:
        explanation: from :func:`rsic_core.models.grounding.explain_image`.
        scene: the demo JSON's ``scene`` of the image (its ``objects`` boxes are in the image's pixels).

    Returns:
        The scored words, and how many object words named an object without a box (not scored).

    Raises:
        ValueError: the scene has no ``objects`` (a demo dataset made before they were recorded).
    """
    if "objects" not in scene:
        raise ValueError(
            f"{explanation.name}: its scene has no objects; generate the demo dataset again (rsic data demo OUT)"
        )
    boxes: dict[str, list] = {}
    for obj in scene["objects"]:
        boxes.setdefault(obj["name"], []).append(obj["box"])
    size = tuple(explanation.image_size)
    scored, unboxed = [], 0
    for name, key, indices in object_words([w.word for w in explanation.words]):
        if key not in boxes:
            unboxed += 1
            continue
        heat = upsample(np.mean([explanation.words[i].heatmap for i in indices], axis=0), size)
        y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
        inside = box_mask(boxes[key], size)
        scored.append(Pointing(explanation.name, name, key, (int(x), int(y)), bool(inside[y, x]), float(inside.mean())))
    return scored, unboxed


def score_points(scored: list[Pointing], unboxed: int = 0) -> PointingScore:
    """Hit rate, chance and their ratio of scored words (NaN when there is none)."""
    n = len(scored)
    hits = sum(p.hit for p in scored)
    hit_rate = hits / n if n else float("nan")
    chance = float(np.mean([p.chance for p in scored])) if n else float("nan")
    ratio = hit_rate / chance if n and chance > 0 else float("nan")
    return PointingScore(n, hits, hit_rate, chance, ratio, unboxed)


# Baselines: where a point lands without looking at the model. Each is scored on the same words (image, object) as the
# model, so a reader can set the model's hit rate beside what a fixed guess or the dataset's layout already gives.


def centre_point(size: tuple[int, int]) -> tuple[int, int]:
    """The pixel at the centre of an image of ``size`` ``(width, height)``."""
    width, height = size
    return width // 2, height // 2


def layout_prior(scenes: list[dict], size: tuple[int, int]) -> dict[str, np.ndarray]:
    """Per object (count key), the mean over ``scenes`` that hold it of the mask of its boxes: where it tends to be.

    Args:
        scenes: scenes of the *training* split (the demo JSON's ``scene``; ``objects`` boxes in pixels of ``size``).
        size: ``(width, height)`` of those images.

    Returns:
        ``{count key: heatmap (height x width), 0..1 = share of the scenes with the object that cover the pixel}``.
    """
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for scene in scenes:
        boxes: dict[str, list] = {}
        for obj in scene.get("objects", ()):
            boxes.setdefault(obj["name"], []).append(obj["box"])
        for key, found in boxes.items():
            sums[key] = sums.get(key, 0) + box_mask(found, size)
            counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def prior_points(prior: dict[str, np.ndarray]) -> dict[str, tuple[int, int]]:
    """The ``(x, y)`` peak of each object's layout prior (the first pixel of the highest value)."""
    points = {}
    for key, heat in prior.items():
        y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
        points[key] = (int(x), int(y))
    return points


def score_baseline(
    scored: list[Pointing], scenes: dict[str, dict], point_of, size: tuple[int, int], unboxed: int = 0
) -> PointingScore:
    """The pointing game of a fixed guess on the words the model was scored on.

    Args:
        scored: the model's scored words (:func:`point_words`): which object of which image each names.
        scenes: ``{image name: scene}`` for those images (boxes in the pixels of the image the point is in).
        point_of: ``callable(pointing) -> (x, y)``: the guess for that word (the centre, the object's prior...).
        size: ``(width, height)`` of the images (the demo's: 224 x 224).
        unboxed (0): passed through to the score.

    Returns:
        The :class:`PointingScore` of the guess (same words, same chance as the model's).
    """
    out = []
    for p in scored:
        boxes = [obj["box"] for obj in scenes[p.image]["objects"] if obj["name"] == p.object]
        x, y = point_of(p)
        hit = bool(box_mask(boxes, size)[y, x]) if 0 <= x < size[0] and 0 <= y < size[1] else False
        out.append(Pointing(p.image, p.word, p.object, (x, y), hit, p.chance))
    return score_points(out, unboxed)
