"""Audit of a captioning dataset's splits: leaks between them, weak references, and which standard split each is.

rsic data audit PATH [--threshold 6] [--json]

What is looked for (every finding as plain values, so the CLI, the Explorer's Audit tab and tests share it):

- the same image in two splits: byte-identical files (SHA-256), and near-duplicates (a perceptual hash,
  ``imagehash.phash``, within ``threshold`` bits: a re-encoded, resized or recoloured copy);
- images of two splits whose reference sets are the same (after case and punctuation folding);
- the same reference sentence under two or more classes, where classes are known;
- empty (dropped while reading) and one-word references, and images with fewer than five references;
- which standard Karpathy split of RSICD, UCM-captions or Sydney-captions each split is
  (:mod:`rsic_core.data.standard_splits`: "this 'test' split is RSICD's original val split").

Example::

    report = audit(load_dataset("data/RSICD"))
    print(report.to_text())
"""

from __future__ import annotations

import hashlib
import io
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from rsic_core.data.datasets import SPLITS, CaptionDataset
from rsic_core.data.images import HIGH_BIT_MODES, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, load_image
from rsic_core.data.records import ImageRecord
from rsic_core.data.standard_splits import KnownSplit, known_splits
from rsic_core.text.words import count_words, tokens

DEFAULT_THRESHOLD = 6  # phash bits; UCM's closest different scenes across splits differ by 10
MIN_REFERENCES = 5
_HASH_SIDE = 64  # JPEG draft size: phash looks at 32x32 grey pixels, so decoding more is wasted


@dataclass(frozen=True)
class ImageRef:
    """One image named in a finding."""

    image_id: str
    split: str
    path: str  # for thumbnails
    label: str | None = None


@dataclass(frozen=True)
class DuplicatePair:
    a: ImageRef
    b: ImageRef
    distance: int  # perceptual-hash bits that differ (0 for byte-identical files too)
    exact: bool  # byte-identical files


@dataclass(frozen=True)
class SharedReferences:
    references: list[str]  # the set, as the first image writes it
    images: list[ImageRef]  # in two or more splits

    def splits(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for r in self.images:
            counts[r.split] += 1
        return dict(sorted(counts.items(), key=lambda kv: (SPLITS.index(kv[0]) if kv[0] in SPLITS else 3, kv[0])))


@dataclass(frozen=True)
class CopiedReference:
    sentence: str  # as first written
    labels: list[str]  # the classes it is written under
    images: int  # images that carry it


@dataclass(frozen=True)
class WeakReference:
    image: ImageRef
    caption: str


@dataclass
class AuditReport:
    """Everything :func:`audit` found; lists hold every finding, ``to_text`` shows examples."""

    name: str
    images: int
    splits: dict[str, int]
    threshold: int
    hashed: int  # images hashed (missing and unreadable ones are not)
    unreadable: dict[str, str]  # image id -> reason
    exact_duplicates: list[DuplicatePair]  # across splits
    near_duplicates: list[DuplicatePair]  # across splits, not byte-identical
    exact_within_splits: list[DuplicatePair]  # byte-identical files inside one split (no leak, but weight)
    shared_reference_sets: list[SharedReferences]  # one reference set carried by images of 2+ splits
    copied_references: list[CopiedReference]  # sentences under 2+ classes, most classes first
    empty_references: int  # dropped while reading
    one_word_references: list[WeakReference]
    few_references: list[tuple[ImageRef, int]]  # images with fewer than MIN_REFERENCES
    known_splits: list[KnownSplit]
    classes_known: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_text(self, examples: int = 5) -> str:
        """Lines for a person: one per check, with up to ``examples`` examples each."""
        splits = ", ".join(f"{s} {n}" for s, n in self.splits.items())
        known = [k.text for k in self.known_splits] or ["no split matches a standard split of RSICD, UCM or Sydney"]
        lines = [f"{self.name}: {self.images} images ({splits}); {self.hashed} hashed in {self.seconds:.1f} s"]
        lines += [f"- {text}" for text in known]
        copied = "not checked (the dataset names no classes)"
        if self.classes_known:
            copied = _n(len(self.copied_references), "sentence")
        sections = [
            (
                f"exact duplicate images across splits: {_n(len(self.exact_duplicates), 'pair')}",
                map(_pair, self.exact_duplicates),
            ),
            (
                f"near-duplicate images across splits (phash within {self.threshold} bits): {_n(len(self.near_duplicates), 'pair')}",
                map(_pair, self.near_duplicates),
            ),
            (
                f"exact duplicate images within a split: {_n(len(self.exact_within_splits), 'pair')}",
                map(_pair, self.exact_within_splits),
            ),
            (
                f"identical reference sets across splits: {_n(len(self.shared_reference_sets), 'set')}, "
                f"{sum(len(g.images) for g in self.shared_reference_sets)} images",
                map(_shared, self.shared_reference_sets),
            ),
            (
                f"references copied across classes: {copied}",
                (
                    f"{c.sentence!r} under {len(c.labels)} classes ({', '.join(c.labels[:5])}), {c.images} images"
                    for c in self.copied_references
                ),
            ),
            (f"empty references (dropped while reading): {self.empty_references}", ()),
            (
                f"one-word references: {len(self.one_word_references)}",
                (f"{_ref(w.image)}: {w.caption!r}" for w in self.one_word_references),
            ),
            (
                f"images with fewer than {MIN_REFERENCES} references: {len(self.few_references)}",
                (f"{_ref(r)}: {n}" for r, n in self.few_references),
            ),
        ]
        for title, shown in sections:
            lines += [title, *(f"  {line}" for line in islice(shown, examples))]
        if self.unreadable:
            lines.append(f"unreadable images (not hashed): {len(self.unreadable)}")
        return "\n".join(lines + self.notes)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _ref(r: ImageRef) -> str:
    return f"{r.image_id} ({r.split})"


def _shared(g: SharedReferences) -> str:
    counts = " + ".join(f"{n} {split}" for split, n in g.splits().items())
    first = {r.split: r for r in reversed(g.images)}  # one image of each split, as an example
    first = [first[split] for split in g.splits()]
    return f"{counts} images ({', '.join(_ref(r) for r in first)}, ...) share {g.references[0]!r} and {len(g.references) - 1} more"


def _pair(p: DuplicatePair) -> str:
    return f"{_ref(p.a)} = {_ref(p.b)}" + ("" if p.exact else f" ({p.distance} bits)")


def audit(
    dataset: CaptionDataset,
    threshold: int = DEFAULT_THRESHOLD,
    check_images: bool = True,
    progress: Callable[[int, int], None] | None = None,
    hashes: ImageHashes | None = None,
) -> AuditReport:
    """Audit ``dataset``'s splits (see the module docstring for what is looked for).

    Args:
        dataset: what :func:`rsic_core.data.datasets.load_dataset` returned.
        threshold (6): largest perceptual-hash distance (bits of 64) that counts as a near-duplicate.
        check_images (True): hash the images; False leaves the duplicate checks empty (text checks only).
        progress (None): ``callable(done, total)`` while hashing.
        hashes (None): what :func:`hash_images` returned for ``dataset`` (computed here when None).

    Raises:
        ValueError: ``threshold`` is outside 0-64.
    """
    if not 0 <= threshold <= 64:
        raise ValueError(f"threshold must be between 0 and 64 bits of the perceptual hash, got {threshold}")
    start = time.perf_counter()
    records = dataset.records
    exact, near, within = [], [], []
    if check_images:
        hashes = hash_images(dataset, progress) if hashes is None else hashes
        exact, near, within = _duplicates(records, hashes, threshold)
    classes_known = any(r.label for r in records)
    return AuditReport(
        name=dataset.name,
        images=len(records),
        splits=dataset.split_counts(),
        threshold=threshold,
        hashed=len(hashes.phash) if check_images else 0,
        unreadable=hashes.unreadable if check_images else {},
        exact_duplicates=exact,
        near_duplicates=near,
        exact_within_splits=within,
        shared_reference_sets=_shared_reference_sets(records),
        copied_references=_copied_references(records) if classes_known else [],
        empty_references=sum(1 for p in dataset.problems if p.message.endswith("is empty; dropped")),
        one_word_references=[WeakReference(_image(r), c) for r in records for c in r.captions if count_words(c) <= 1],
        few_references=[(_image(r), len(r.captions)) for r in records if len(r.captions) < MIN_REFERENCES],
        known_splits=known_splits(dataset),
        classes_known=classes_known,
        seconds=time.perf_counter() - start,
        notes=[] if check_images else ["images not hashed: duplicate images were not looked for"],
    )


def _image(r: ImageRecord) -> ImageRef:
    return ImageRef(r.image_id, r.split, str(r.path), r.label)


# --- images -------------------------------------------------------------------------------------


def image_hashes(path: str | Path) -> tuple[str, int]:
    """SHA-256 of the file's bytes and its 64-bit perceptual hash (``imagehash.phash``) as an int.

    A JPEG is decoded in PIL's draft mode at about 64 px (the DCT scaled down: 1.0 instead of 1.3 ms for
    a 256 px UCM photo); phash works on 32x32 grey pixels anyway. What Pillow cannot read this way
    (16-bit and multi-band GeoTIFFs) goes through :func:`rsic_core.data.images.load_image`.

    Raises:
        ValueError: the file is missing, too large or not a readable image (the message names it).
    """
    import imagehash
    from PIL import Image

    from rsic_core.data import cells

    label = str(path)
    try:
        data = cells.image_bytes(path, label) or _file_bytes(Path(path), label)
    except OSError as e:
        raise ValueError(f"{label}: cannot be read ({e.strerror or e})") from None
    phash = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Corrupt EXIF data", a decompression bomb: load_image below says it
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height <= MAX_IMAGE_PIXELS and image.mode not in HIGH_BIT_MODES:
                    image.draft("L", (_HASH_SIDE, _HASH_SIDE))
                    phash = imagehash.phash(image)
        except (
            Exception
        ):  # multi-band rasters Pillow does not know, or a damaged file: the one reader reads or names it
            phash = None
    if phash is None:  # 16-bit and float pixels are stretched to 8 bits there, not clipped
        phash = imagehash.phash(load_image(data, name=label))  # ValueError naming the file when it cannot
    bits = np.packbits(phash.hash.flatten())
    return hashlib.sha256(data).hexdigest(), int.from_bytes(bits.tobytes(), "big")


def _file_bytes(path: Path, label: str) -> bytes:
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise ValueError(f"{label}: file is larger than the {MAX_IMAGE_BYTES / 2**20:.0f} MB limit")
    return path.read_bytes()


@dataclass
class ImageHashes:
    """The hashes of a dataset's readable images, computed once and reused for every threshold."""

    sha256: dict[str, str]  # image id -> SHA-256 of the file
    phash: dict[str, int]  # image id -> 64-bit perceptual hash
    unreadable: dict[str, str]  # image id -> reason


def hash_images(dataset: CaptionDataset, progress: Callable[[int, int], None] | None = None) -> ImageHashes:
    """:func:`image_hashes` of every image that exists (unreadable ones listed, not raised)."""
    present = [r for r in dataset.records if r.has_image]
    hashes = ImageHashes({}, {}, {})
    for done, r in enumerate(present, 1):
        try:
            hashes.sha256[r.image_id], hashes.phash[r.image_id] = image_hashes(r.path)
        except ValueError as e:
            hashes.unreadable[r.image_id] = str(e).removeprefix(f"{r.path}: ")
        if progress and (done % 200 == 0 or done == len(present)):
            progress(done, len(present))
    return hashes


def _duplicates(records: list[ImageRecord], hashes: ImageHashes, threshold: int) -> tuple[list, list, list]:
    kept = [r for r in records if r.image_id in hashes.phash]
    digests = [hashes.sha256[r.image_id] for r in kept]
    values = np.array([hashes.phash[r.image_id] for r in kept], dtype=np.uint64)
    splits = np.array([r.split for r in kept])
    exact, near = [], []
    for i, j, distance in _close_pairs(values, splits, threshold):  # byte-identical files: distance 0
        same = digests[i] == digests[j]
        (exact if same else near).append(DuplicatePair(_image(kept[i]), _image(kept[j]), distance, same))
    near.sort(key=lambda p: (p.distance, p.a.image_id))
    same_file: dict[tuple[str, str], list[ImageRecord]] = defaultdict(list)
    for r, digest in zip(kept, digests):
        same_file[(r.split, digest)].append(r)
    within = [DuplicatePair(_image(g[0]), _image(r), 0, True) for g in same_file.values() for r in g[1:]]
    return exact, near, within


def _close_pairs(values: np.ndarray, splits: np.ndarray, threshold: int):
    """(i, j, distance) of every pair in different splits whose hashes differ in at most ``threshold`` bits.

    imagehash compares one pair at a time in Python (50 M pairs for 10k images); XOR and a popcount
    over blocks of NumPy rows do the same in about a second.
    """
    names = sorted(set(splits.tolist()), key=lambda s: (SPLITS.index(s) if s in SPLITS else 3, s))
    for k, first in enumerate(names):
        rows = np.flatnonzero(splits == first)
        cols = np.flatnonzero(np.isin(splits, names[k + 1 :]))
        for block in range(0, len(rows), 1024):
            part = rows[block : block + 1024]
            distance = np.bitwise_count(values[part, None] ^ values[None, cols])
            for a, b in np.argwhere(distance <= threshold):
                yield int(part[a]), int(cols[b]), int(distance[a, b])


# --- references ---------------------------------------------------------------------------------


def _folded(caption: str) -> str:
    """A reference with case and punctuation folded away ("There is a piece of farmland ." -> "there is a ...")."""
    return " ".join(tokens(caption))


def _shared_reference_sets(records: list[ImageRecord]) -> list[SharedReferences]:
    groups: dict[tuple[str, ...], list[ImageRecord]] = defaultdict(list)
    for r in records:
        if r.captions:
            groups[tuple(sorted(_folded(c) for c in r.captions))].append(r)
    shared = [
        SharedReferences(list(g[0].captions), [_image(r) for r in g])
        for g in groups.values()
        if len({r.split for r in g}) > 1
    ]
    return sorted(shared, key=lambda g: len(g.images), reverse=True)


def _copied_references(records: list[ImageRecord]) -> list[CopiedReference]:
    labels: dict[str, set[str]] = defaultdict(set)
    images: dict[str, set[str]] = defaultdict(set)
    first: dict[str, str] = {}
    for r in records:
        if not r.label:
            continue
        for c in r.captions:
            key = _folded(c)
            labels[key].add(r.label)
            images[key].add(r.image_id)
            first.setdefault(key, c)
    copied = [CopiedReference(first[k], sorted(v), len(images[k])) for k, v in labels.items() if len(v) > 1 and k]
    return sorted(copied, key=lambda c: (-len(c.labels), -c.images, c.sentence))
