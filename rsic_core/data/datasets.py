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

from rsic_core.data import formats, textfiles
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
        ValueError: ``path`` is a file that is not a dataset (the sentence never quotes its contents).
    """
    path = Path(path).expanduser()
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as e:  # e.g. a name over 255 bytes
        raise FileNotFoundError(textfiles.os_error_sentence(path, e)) from None
    if not exists:
        raise FileNotFoundError(f"{path}: no such file or folder")
    if is_file:
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
    """The format of ``file`` from its first bytes; ``ValueError`` (quoting nothing of it) if it is none."""
    suffix = file.suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv"):
        raise ValueError(f"{file}: unknown annotation file type {suffix!r} (expected .json, .jsonl or .csv)")
    try:
        with open(file, encoding="utf-8-sig", errors="replace") as f:
            head = f.read(65536)
    except OSError as e:
        raise ValueError(textfiles.os_error_sentence(file, e)) from None
    if suffix == ".jsonl":
        row = _first_object([line for line in head.split("\n") if line.strip()][:20])
        if row is not None and formats.find_column(list(row), formats.IMAGE_COLUMNS):
            if any(formats.is_caption_column(k) for k in row):
                return "generic"
        raise ValueError(f"{file}: {formats.NOT_A_DATASET} (the first line has no image and caption fields)")
    if suffix == ".csv":
        header = [h.strip().strip('"').lower() for h in head.split("\n", 1)[0].split(",")]
        if {"source", "split", "image", "caption_1"} <= set(header):
            return "risc"
        if formats.find_column(header, formats.IMAGE_COLUMNS) is None:
            raise ValueError(f"{file}: CSV header has no image column ({', '.join(formats.IMAGE_COLUMNS)})")
        if not any(formats.is_caption_column(h) for h in header):
            raise ValueError(f"{file}: CSV header has no caption column (caption, caption_1..., sentence, text, raw)")
        return "generic"
    head = head.lstrip()
    if not head.startswith("{"):
        raise ValueError(f"{file}: not a JSON object")
    text = head if '"images"' in head or '"filename"' in head else file.read_text(encoding="utf-8", errors="replace")
    if '"images"' in text:  # the reader checks the structure (and names a syntax error)
        return "karpathy"
    if '"filename"' in text:  # every NWPU entry has one
        return "nwpu"
    raise ValueError(f"{file}: {formats.NOT_A_DATASET}")


def _first_object(lines: list[str]) -> dict | None:
    """The first of ``lines`` that is a JSON object (a broken line before it is the reader's problem to name)."""
    for line in lines:
        try:
            row = textfiles.json_line(line)
        except ValueError:
            continue
        return row if isinstance(row, dict) else None
    return None


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
    records = _index_images(parsed.records, problems)
    return CaptionDataset(
        name=parsed.name,
        format=fmt,
        root=annotation.parent,
        annotation_file=annotation,
        image_dir=parsed.image_dir,
        records=records,
        problems=problems,
    )


def _index_images(records: list[ImageRecord], problems: list[Problem]) -> list[ImageRecord]:
    """Set ``has_image`` from one listing per folder, and drop the records whose path leaves their folder.

    A path leaves the image folder when it is absolute, climbs out with ``..`` or goes through a
    symbolic link that points elsewhere: such a file is never opened (a dataset must not show
    ``/etc/passwd`` or another user's files), and its entry is skipped with a problem. Plain names
    cost no system call beyond the listing; only subfolders and links are resolved.
    """
    listings: dict[tuple[Path, str], dict[str, bool]] = {}
    inside: dict[tuple[Path, str], bool] = {}
    bases: dict[Path, Path | None] = {}
    kept = []
    for r in records:
        subdir, _, name = r.file.rpartition("/")
        key = (r.folder, subdir)
        if key not in listings:
            listings[key] = formats.list_files(r.folder / subdir if subdir else r.folder)
            inside[key] = not subdir or _stays_inside(r.folder, subdir, bases)
        leaves = Path(r.file).is_absolute() or not inside[key]
        if leaves or (listings[key].get(name) and not _stays_inside(r.folder, r.file, bases)):
            problems.append(Problem(str(r.path), f"image {r.image_id}", _OUTSIDE.format(folder=r.folder)))
            continue
        r.has_image = name in listings[key]
        if not r.has_image:
            problems.append(Problem(str(r.path), f"image {r.image_id}", "image file is missing"))
        kept.append(r)
    return kept


_OUTSIDE = "image path leads outside the dataset folder ({folder}); not opened, entry skipped"


def _stays_inside(folder: Path, relative: str, bases: dict[Path, Path | None]) -> bool:
    """Whether ``folder / relative``, symbolic links followed, is still under ``folder`` (followed too)."""
    try:
        if folder not in bases:
            bases[folder] = folder.resolve()
        return (folder / relative).resolve().is_relative_to(bases[folder])
    except (OSError, RuntimeError):  # a symbolic link loop, a name too long
        return False
