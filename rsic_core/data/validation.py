"""Validation report of a captioning dataset: what is there, and what is wrong with it.

rsic data validate PATH [--no-images]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.data.datasets import CaptionDataset
from rsic_core.data.images import load_image
from rsic_core.data.records import ImageRecord, Problem
from rsic_core.text.words import repeated_references


@dataclass
class SplitCount:
    split: str
    images: int
    captions: int
    missing_images: int
    unreadable_images: int


@dataclass
class ValidationReport:
    """Counts and problems of one dataset; ``ok`` when nothing is wrong."""

    name: str
    format: str
    annotation_file: str
    image_dir: str
    num_images: int
    num_captions: int
    splits: list[SplitCount]
    labels: dict[str, int]  # images per class, where known
    captions_per_image: dict[int, int]  # how many images have k captions
    missing_images: list[str]  # image ids whose file is missing
    unreadable_images: dict[str, str]  # image id -> reason
    duplicate_captions: int  # references repeated within one image (padding is normal in RSICD)
    empty_captions: int  # empty captions dropped while reading
    images_checked: bool  # whether every image was decoded
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> list[str]:
        """Short lines for a person: counts first, then what is wrong."""
        lines = [
            f"{self.name} ({self.format}): {self.num_images} images, {self.num_captions} captions",
            "splits: " + ", ".join(f"{s.split} {s.images} images / {s.captions} captions" for s in self.splits),
        ]
        if self.labels:
            lines.append(f"classes: {len(self.labels)}")
        dist = ", ".join(f"{k}: {v}" for k, v in sorted(self.captions_per_image.items()))
        lines.append(f"captions per image: {dist}")
        looked = f" (looked in {self.image_dir}; give the image folder to fix)" if self.missing_images else ""
        lines.append(f"missing image files: {len(self.missing_images)}{looked}")
        if self.images_checked:
            lines.append(f"unreadable image files: {len(self.unreadable_images)}")
        else:
            lines.append("image files not decoded (only missing files were looked for)")
        lines.append(f"empty captions dropped: {self.empty_captions}")
        lines.append(f"duplicate references within an image: {self.duplicate_captions}")
        lines.append(f"problems: {len(self.problems)}")
        return lines

    def to_text(self, max_problems: int = 50) -> str:
        lines = self.summary()
        if self.problems:
            lines.append("")
            lines += [f"- {p}" for p in self.problems[:max_problems]]
            if len(self.problems) > max_problems:
                lines.append(f"... and {len(self.problems) - max_problems} more")
        return "\n".join(lines)


def check_image(path: str | Path) -> str | None:
    """None when the image decodes completely, else the reason (e.g. a truncated JPEG)."""
    label = str(path)
    try:
        load_image(path, name=label)  # full decode: ``verify()`` misses truncated JPEG data
        return None
    except ValueError as e:
        return str(e).removeprefix(f"{label}: ")


def validate(
    dataset: CaptionDataset,
    check_images: bool = True,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
) -> ValidationReport:
    """Count images, captions and splits, and list every problem with its file and entry.

    Args:
        dataset: what :func:`rsic_core.data.datasets.load_dataset` returned.
        check_images (True): decode every existing image to find unreadable ones (slow on big sets).
        progress (None): ``callable(done, total)`` while decoding.
        workers (4): decoding threads (PIL releases the GIL while decoding).
    """
    problems = list(dataset.problems)
    missing = [r.image_id for r in dataset.records if not r.has_image]
    unreadable: dict[str, str] = {}
    if check_images:
        present = [r for r in dataset.records if r.has_image]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done, (record, reason) in enumerate(zip(present, pool.map(lambda r: check_image(r.path), present)), 1):
                if reason:
                    unreadable[record.image_id] = reason
                    problems.append(Problem(str(record.path), f"image {record.image_id}", reason))
                if progress and (done % 200 == 0 or done == len(present)):
                    progress(done, len(present))

    duplicates = sum(repeated_references(r.captions) for r in dataset.records)  # as the Statistics page counts
    empty = sum(1 for p in dataset.problems if "is empty" in p.message)

    return ValidationReport(
        name=dataset.name,
        format=dataset.format,
        annotation_file=str(dataset.annotation_file),
        image_dir=str(dataset.image_dir),
        num_images=len(dataset),
        num_captions=dataset.num_captions,
        splits=_split_counts(dataset.records, set(missing), unreadable),
        labels=dict(sorted(Counter(r.label for r in dataset.records if r.label).items())),
        captions_per_image=dict(sorted(Counter(len(r.captions) for r in dataset.records).items())),
        missing_images=missing,
        unreadable_images=unreadable,
        duplicate_captions=duplicates,
        empty_captions=empty,
        images_checked=check_images,
        problems=problems,
    )


def _split_counts(records: list[ImageRecord], missing: set[str], unreadable: dict[str, str]) -> list[SplitCount]:
    by_split: dict[str, SplitCount] = {}
    for r in records:
        s = by_split.setdefault(r.split, SplitCount(r.split, 0, 0, 0, 0))
        s.images += 1
        s.captions += len(r.captions)
        s.missing_images += r.image_id in missing
        s.unreadable_images += r.image_id in unreadable
    order = {"train": 0, "val": 1, "test": 2}
    return sorted(by_split.values(), key=lambda s: (order.get(s.split, 3), s.split))
