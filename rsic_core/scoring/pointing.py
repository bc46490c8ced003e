"""The pointing game: does a word's heatmap peak on the object the word names?

For every object word of a caption (a name the demo captions use for a counted object: "planes",
"storage tanks", "baseball diamond"...) that names an object drawn in the image (``scene.objects`` of
the demo dataset), the word's heatmap (:mod:`rsic_core.models.grounding`) is brought to the image's
pixels and its maximum is a **hit** when it falls inside a box of that object. Chance is what a
point drawn uniformly over the image would score: the share of the image those boxes cover. A word
naming an object the image does not hold (a hallucination) has no box and is left out; it is counted
apart (``unboxed``).

Example::

    score = pointing_game(explanations, scenes)   # scenes: the demo JSON's ``scene`` of each image
    score.hit_rate, score.chance, score.ratio      # e.g. 0.48, 0.14, 3.5
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


def pointing_game(explanations: list[Explanation], scenes: list[dict]) -> PointingScore:
    """The pointing game over explained captions and their scenes (in the same order); failed images are skipped."""
    scored, unboxed = [], 0
    for explanation, scene in zip(explanations, scenes):
        if explanation.ok:
            found, missing = point_words(explanation, scene)
            scored += found
            unboxed += missing
    return score_points(scored, unboxed)


def score_points(scored: list[Pointing], unboxed: int = 0) -> PointingScore:
    """Hit rate, chance and their ratio of scored words (NaN when there is none)."""
    n = len(scored)
    hits = sum(p.hit for p in scored)
    hit_rate = hits / n if n else float("nan")
    chance = float(np.mean([p.chance for p in scored])) if n else float("nan")
    ratio = hit_rate / chance if n and chance > 0 else float("nan")
    return PointingScore(n, hits, hit_rate, chance, ratio, unboxed)


def demo_test_split(folder) -> tuple[list, list[dict]]:
    """The demo test split of the offline demo dataset (1,200 images, seed 0: the demo model's own), written to
    ``folder`` when not there yet: the image paths and scenes of its images with counted objects."""
    import json
    from pathlib import Path

    from rsic_core.data.demo.dataset import ANNOTATION_NAME, DEMO_IMAGES, DEMO_SEED, generate_demo_dataset

    folder = Path(folder)
    annotation = folder / ANNOTATION_NAME
    if not annotation.is_file():
        generate_demo_dataset(folder, n_images=DEMO_IMAGES, seed=DEMO_SEED, splits=("test",))
    images = [im for im in json.loads(annotation.read_text())["images"] if im["scene"].get("objects")]
    return [folder / "images" / im["filename"] for im in images], [im["scene"] for im in images]


def demo_pointing(captioner, folder, method: str | None = None, config=None, limit: int | None = None):
    """The pointing game of ``captioner`` on the demo test split (see :func:`demo_test_split`).

    Args:
        captioner: a loaded model.
        folder: where the demo test split is (or is written).
        method (None): grounding method (default: the family's).
        config (None): a :class:`~rsic_core.models.inference.CaptionConfig` (default: greedy, the family's prompt;
            the demo model names objects with ``gen_prompt="describe en"``).
        limit (None): the first ``limit`` images only.

    Returns:
        The :class:`PointingScore` and the scored :class:`Pointing` words.
    """
    from rsic_core.models.grounding import explain_images

    paths, scenes = demo_test_split(folder)
    paths, scenes = paths[:limit], scenes[:limit]
    explanations = explain_images(captioner, [str(p) for p in paths], config, method)
    scored, unboxed = [], 0
    for explanation, scene in zip(explanations, scenes):
        if explanation.ok:
            found, missing = point_words(explanation, scene)
            scored, unboxed = scored + found, unboxed + missing
    return score_points(scored, unboxed), scored
