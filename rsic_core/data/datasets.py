"""Captioning datasets: one in-memory model for every format of this field.

A dataset is a list of :class:`ImageRecord` (image id, file path, split, class and source where
known, reference captions) plus the :class:`Problem` list found while reading it. Images are not
opened here (see :mod:`rsic_core.data.images`); whether each file exists is read from one directory
listing, so indexing a RISC-size dataset (44,521 images) stays well under two seconds.

Example::

    ds = load_dataset("data/RSICD")          # format detected from the files
    test = ds.select(split="test")
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.data import formats
from rsic_core.data.records import ImageRecord, Problem

SPLITS = ("train", "val", "test")


@dataclass
class CaptionDataset:
    """A captioning dataset in memory."""

    name: str  # e.g. "RSICD" or the folder name
    format: str  # one of FORMATS
    root: Path  # the folder the dataset was read from
    annotation_file: Path  # the file the captions came from
    image_dir: Path  # where image paths point
    records: list[ImageRecord]
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_captions(self) -> int:
        return sum(len(r.captions) for r in self.records)

    def split_counts(self) -> dict[str, int]:
        """Images per split, train/val/test first."""
        counts = Counter(r.split for r in self.records)
        ordered = {s: counts.pop(s) for s in SPLITS if s in counts}
        return ordered | dict(sorted(counts.items()))

    def labels(self) -> list[str]:
        return sorted({r.label for r in self.records if r.label})

    def sources(self) -> list[str]:
        return sorted({r.source for r in self.records if r.source})

    def select(
        self,
        split: str | None = None,
        label: str | None = None,
        source: str | None = None,
        keyword: str | None = None,
    ) -> list[ImageRecord]:
        """Records matching every filter given (keyword: case-insensitive, any caption)."""
        needle = keyword.strip().lower() if keyword else ""
        return [
            r
            for r in self.records
            if (split is None or r.split == split)
            and (label is None or r.label == label)
            and (source is None or r.source == source)
            and (not needle or any(needle in c.lower() for c in r.captions))
        ]

    def get(self, image_id: str) -> ImageRecord:
        for r in self.records:
            if r.image_id == image_id:
                return r
        raise KeyError(f"{self.name}: no image {image_id!r}")

    def to_frame(self):
        """One row per image: image_id, path, split, label, source, n_captions, captions."""
        import pandas as pd

        return pd.DataFrame(
            {
                "image_id": [r.image_id for r in self.records],
                "path": [str(r.path) for r in self.records],
                "split": [r.split for r in self.records],
                "label": [r.label for r in self.records],
                "source": [r.source for r in self.records],
                "has_image": [r.has_image for r in self.records],
                "n_captions": [len(r.captions) for r in self.records],
                "captions": [list(r.captions) for r in self.records],
            }
        )


FORMATS = ("karpathy", "nwpu", "risc", "generic")


def detect_format(path: str | Path) -> tuple[str, Path]:
    """Find the annotation file under ``path`` and tell its format.

    Args:
        path: a dataset folder or its annotation file.

    Returns:
        (format, annotation file).

    Raises:
        FileNotFoundError: the path does not exist or holds no annotation file this project reads.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        return _format_of_file(path), path
    candidates = sorted(path.glob("dataset_*.json")) + sorted(path.glob("*.json"))
    if (path / "captions.csv").is_file():
        candidates.insert(0, path / "captions.csv")
    candidates += sorted(path.glob("*.jsonl")) + sorted(path.glob("*.csv"))
    for candidate in dict.fromkeys(candidates):
        try:
            return _format_of_file(candidate), candidate
        except ValueError:
            continue
    raise FileNotFoundError(
        f"{path}: found no annotation file (looked for dataset_*.json in the Karpathy or NWPU "
        "layout, RISC captions.csv, or a .csv/.jsonl with image and caption columns)"
    )


def _format_of_file(file: Path) -> str:
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        return "generic"
    if suffix == ".csv":
        with open(file, encoding="utf-8-sig", errors="replace") as f:
            header = [h.strip().lower() for h in f.readline().split(",")]
        if {"source", "split", "image", "caption_1"} <= set(header):
            return "risc"
        if formats.find_column(header, formats.IMAGE_COLUMNS) is not None:
            return "generic"
        raise ValueError(f"{file}: CSV header has no image column ({', '.join(formats.IMAGE_COLUMNS)})")
    if suffix == ".json":
        with open(file, encoding="utf-8") as f:
            head = f.read(4096).lstrip()
        if not head.startswith("{"):
            raise ValueError(f"{file}: not a JSON object")
        if '"images"' in head or '"images"' in file.read_text(encoding="utf-8", errors="replace"):
            return "karpathy"
        return "nwpu"
    raise ValueError(f"{file}: unknown annotation file type {suffix!r}")


def load_dataset(
    path: str | Path,
    image_dir: str | Path | None = None,
    format: str | None = None,
) -> CaptionDataset:
    """Read a captioning dataset in any supported format.

    Args:
        path: a dataset folder or its annotation file (Karpathy ``dataset_*.json`` of RSICD,
            UCM-captions or Sydney-captions; NWPU-Captions ``dataset_nwpu.json``; RISC
            ``captions.csv``; or a ``.csv``/``.jsonl`` with image and caption columns).
        image_dir (found from the layout): the folder image file names are relative to.
        format (detected): one of ``FORMATS`` to skip detection.

    Returns:
        The dataset; what could not be used is listed in ``problems``, never raised.

    Raises:
        FileNotFoundError: no annotation file at ``path``.
        ValueError: the annotation file cannot be parsed at all (e.g. malformed JSON), with the
            file, line and column.
    """
    detected, annotation = detect_format(path)
    fmt = format or detected
    if fmt not in FORMATS:
        raise ValueError(f"unknown dataset format {fmt!r}; expected one of {', '.join(FORMATS)}")
    reader = {
        "karpathy": formats.read_karpathy,
        "nwpu": formats.read_nwpu,
        "risc": formats.read_risc,
        "generic": formats.read_generic,
    }[fmt]
    parsed = reader(annotation, Path(image_dir).expanduser() if image_dir else None)
    problems = list(parsed.problems)
    _mark_missing_images(parsed.records, annotation, problems)
    return CaptionDataset(
        name=parsed.name,
        format=fmt,
        root=annotation.parent,
        annotation_file=annotation,
        image_dir=parsed.image_dir,
        records=parsed.records,
        problems=problems,
    )


def _mark_missing_images(records: list[ImageRecord], annotation: Path, problems: list[Problem]) -> None:
    """Set ``has_image`` from one listing per folder instead of a stat per file."""
    listings: dict[tuple[Path, str], set[str]] = {}
    for r in records:
        subdir, _, name = r.file.rpartition("/")
        key = (r.folder, subdir)
        if key not in listings:
            listings[key] = formats.list_files(r.folder / subdir if subdir else r.folder)
        r.has_image = name in listings[key]
        if not r.has_image:
            problems.append(Problem(str(r.path), f"image {r.image_id}", "image file is missing"))
