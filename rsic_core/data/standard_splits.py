"""Which standard split of RSICD, UCM-captions or Sydney-captions a dataset's split is, whatever it is called.

The image file lists of the standard Karpathy splits ship in ``rsic_core/data/splits/`` (package data,
``<dataset>_<split>.txt``, file names only; see its README). A split is matched by file stem, since copies
rename the extension (UCM-captions as ``.jpg`` where the lists say ``.tif``). The widely copied "modified"
RSICD annotation file labels RSICD's original val images "test": :func:`known_splits` says so.

Example::

    for k in known_splits(load_dataset("data/RSICD_modified")):
        print(k.text)  # this 'test' split is RSICD's original val split, not its test split (1094 of ...)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath

from rsic_core.data.datasets import CaptionDataset

STANDARD_NAMES = {"rsicd": "RSICD", "ucm": "UCM-captions", "sydney": "Sydney-captions"}
MIN_SHARE = 0.9  # a split is said to be a standard one when this share of one of them is the other


@dataclass(frozen=True)
class KnownSplit:
    split: str  # the dataset's name for it
    dataset: str  # "RSICD", "UCM-captions", "Sydney-captions"
    standard: str  # train / val / test
    matched: int  # images of the split found in the standard list (by file stem)
    split_images: int
    standard_images: int
    text: str  # one sentence


@lru_cache(maxsize=1)
def standard_splits() -> dict[tuple[str, str], frozenset[str]]:
    """The shipped file lists, ``(dataset, split) -> file stems``, e.g. ``("RSICD", "test")``."""
    folder = resources.files("rsic_core.data") / "splits"
    lists = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".txt"):
            key, _, split = entry.name.removesuffix(".txt").partition("_")
            names = entry.read_text(encoding="utf-8").split()
            lists[(STANDARD_NAMES.get(key, key), split)] = frozenset(PurePosixPath(n).stem for n in names)
    return lists


def known_splits(dataset: CaptionDataset) -> list[KnownSplit]:
    """Each split of ``dataset`` that is (nearly all of, or nearly all in) a standard split, best match only."""
    stems: dict[str, set[str]] = defaultdict(set)
    for r in dataset.records:
        stems[r.split].add(PurePosixPath(r.file).stem)
    lists = standard_splits()
    found = []
    for split, mine in stems.items():
        scored = [(len(mine & theirs) / len(mine | theirs), key, theirs) for key, theirs in lists.items()]
        jaccard, (name, standard), theirs = max(scored, key=lambda s: s[0])
        matched = len(mine & theirs)
        if jaccard > 0 and max(matched / len(mine), matched / len(theirs)) >= MIN_SHARE:
            found.append(KnownSplit(split, name, standard, matched, len(mine), len(theirs), ""))
    return [_said(k) for k in sorted(found, key=lambda k: list(stems).index(k.split))]


def _said(k: KnownSplit) -> KnownSplit:
    kind = "original" if k.dataset == "RSICD" else "standard"
    owner = k.dataset + ("'" if k.dataset.endswith("s") else "'s")
    whose = f"{owner} {kind} {k.standard} split"
    if k.matched == k.split_images == k.standard_images:
        verb = f"is {whose}"
    elif k.matched == k.split_images:
        verb = f"is part of {whose}"
    elif k.matched == k.standard_images:
        verb = f"holds all of {whose} and {k.split_images - k.matched} other images"
    else:
        verb = f"is mostly {whose}"
    count = f"({k.matched} of its {k.standard_images} images"
    count += ")" if k.matched == k.split_images else f"; {k.split_images - k.matched} of this split's are not in it)"
    if k.split == k.standard:
        text = f"'{k.split}' {verb} {count}"
    else:
        text = f"this '{k.split}' split {verb}, not its {k.split} split {count}"
        if k.dataset == "RSICD" and {k.split, k.standard} == {"val", "test"}:
            text += ": the widely copied 'modified' RSICD annotation file swaps val and test"
    return KnownSplit(k.split, k.dataset, k.standard, k.matched, k.split_images, k.standard_images, text)
