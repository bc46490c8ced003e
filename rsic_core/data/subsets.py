"""Subsets that represent a split: a seeded sample of N images, stratified by class.

    chosen = choose_subset(dataset.select(split="val"), 21, seed=0)
    chosen.records        # 21 records, one of each UCM class, in the split's order
    chosen.description    # "21 of 210 images, stratified over 21 classes, seed 0"
    chosen.to_dict()      # what a run records: n, of, seed, strata, by, image_ids

UCM-captions, RSICD and Sydney-captions list their images class by class, so the first 32 images
of a split cover two or three classes and scores on them say little about the model. Every quick
evaluation of the project (the periodic validation of a training run, ``--val-limit``, ``rsic evaluate
--eval-limit``, ``--predict-limit``, the Compare page's Evaluate panel) takes this sample instead. The same
records, N and seed give the same images, whatever the process (no ``hash()`` involved).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest

from rsic_core.data.records import ImageRecord

STRATA = {"class": "label", "source": "source"}  # what a sample is stratified by -> the record's attribute


@dataclass(frozen=True)
class Subset:
    """The images chosen from a split, and how they were chosen."""

    records: list[ImageRecord]  # the chosen records, in the split's order
    of: int  # images in the split
    seed: int
    by: str | None  # "class" or "source" (a key of STRATA); None: a plain seeded sample
    strata: int  # classes (or sources) in the split; 0 when ``by`` is None

    @property
    def image_ids(self) -> list[str]:
        return [r.image_id for r in self.records]

    def to_dict(self) -> dict:
        """What a run's config.json records: n, of, seed, strata, by and the image ids."""
        n = len(self.records)
        return {
            "n": n,
            "of": self.of,
            "seed": self.seed,
            "strata": self.strata,
            "by": self.by,
            "image_ids": self.image_ids,
        }

    @property
    def description(self) -> str:
        return describe_subset(self.to_dict())


def choose_subset(
    records: Sequence[ImageRecord], n: int | None = None, seed: int = 0, image_ids: Iterable[str] | None = None
) -> Subset:
    """A seeded sample of ``n`` of ``records`` (one split), spread as evenly as possible over its classes.

    The strata are the records' classes (``label``), else their sources (RISC), else there are none
    and the sample is a plain seeded one. Classes are visited round-robin in a seeded order, each
    giving its next image in a seeded order of its own: 32 images of UCM's 21 classes are one of
    each class and a second of 11. scikit-learn's ``train_test_split(stratify=...)`` is not used: it
    refuses a class with a single image, and fewer images than classes.

    Args:
        records: the records of one split, in their order.
        n (None: all): how many to choose; 0, None or at least ``len(records)`` keep them all.
        seed (0): the sample's seed.
        image_ids (None): choose these images instead (a run's recorded sample, taken again on resume).

    Returns:
        The :class:`Subset`, its records in the order of ``records``.
    """
    by = next((name for name, attr in STRATA.items() if any(getattr(r, attr) for r in records)), None)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(str(getattr(r, STRATA[by]) or "") if by else "", []).append(i)
    strata = len(groups) if by else 0
    if image_ids is not None:
        wanted = set(image_ids)
        chosen = [i for i, r in enumerate(records) if r.image_id in wanted]
    elif not n or n >= len(records):
        chosen = list(range(len(records)))
    else:
        rng = random.Random(seed)
        order = sorted(groups)
        rng.shuffle(order)
        queues = [rng.sample(groups[name], len(groups[name])) for name in order]
        rounds = zip_longest(*queues)  # the first image of every class, then the second of each...
        chosen = sorted([i for turn in rounds for i in turn if i is not None][:n])
    return Subset([records[i] for i in chosen], len(records), seed, by, strata)


def describe_subset(subset: Mapping) -> str:
    """One line saying which images a run scored, from :meth:`Subset.to_dict` (as a run's config.json holds it).

    E.g. "32 of 210 images, stratified over 21 classes, seed 0", or "all 210 images".
    """
    n, of = subset.get("n"), subset.get("of")
    if n is None or of is None:
        return "images not recorded"
    if n >= of:
        return f"all {_count(of, 'image')}"
    by, strata, seed = subset.get("by"), subset.get("strata") or 0, subset.get("seed", 0)
    if not by:
        return f"{n} of {_count(of, 'image')}, a seeded sample (seed {seed})"
    kinds = "classes" if by == "class" else f"{by}s"
    return f"{n} of {_count(of, 'image')}, stratified over {strata} {by if strata == 1 else kinds}, seed {seed}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
