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

from rsic_core.data import cells, formats, hub
from rsic_core.data.detection import detect_format, find
from rsic_core.data.records import ImageRecord, Problem

__all__ = ["FORMATS", "SPLITS", "CaptionDataset", "detect_format", "load_dataset"]

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


FORMATS = ("karpathy", "nwpu", "risc", "generic", "hub")


def load_dataset(
    path: str | Path,
    image_dir: str | Path | None = None,
    format: str | None = None,
) -> CaptionDataset:
    """Read a captioning dataset in any supported format.

    Args:
        path: a dataset folder or its annotation file (Karpathy ``dataset_*.json`` of RSICD,
            UCM-captions or Sydney-captions; NWPU-Captions ``dataset_nwpu.json``; RISC
            ``captions.csv``; a ``.csv``/``.jsonl`` with image and caption columns; or the hub's
            layout: parquet files or a ``save_to_disk`` folder, see :mod:`rsic_core.data.hub`).
        image_dir (found from the layout): the folder image file names are relative to.
        format (detected): one of ``FORMATS`` to skip detection.

    Returns:
        The dataset; what could not be used is listed in ``problems``, never raised.

    Raises:
        FileNotFoundError: no annotation file at ``path``.
        ValueError: ``path`` is not a dataset (one sentence quoting nothing of it), or the annotation
            file cannot be parsed at all (e.g. malformed JSON, with the file, line and column).
    """
    found = find(path)
    fmt = format or found.format
    if fmt not in FORMATS:
        raise ValueError(f"unknown dataset format {fmt!r}; expected one of {', '.join(FORMATS)}")
    folder = Path(image_dir).expanduser() if image_dir else None
    if fmt == "hub":
        parsed = hub.read_hub(found.file, folder)
    elif fmt in ("karpathy", "nwpu"):
        reader = formats.read_karpathy if fmt == "karpathy" else formats.read_nwpu
        parsed = reader(found.file, folder, found.loaded if found.format == fmt else None)
    else:
        parsed = (formats.read_risc if fmt == "risc" else formats.read_generic)(found.file, folder)
    problems = list(parsed.problems)
    records = _index_images(parsed.records, problems, on_disk=cells.file_of if fmt == "hub" else str)
    return CaptionDataset(
        name=parsed.name,
        format=fmt,
        root=found.file if found.file.is_dir() else found.file.parent,
        annotation_file=found.file,
        image_dir=parsed.image_dir,
        records=records,
        problems=problems,
    )


def _index_images(records: list[ImageRecord], problems: list[Problem], on_disk=str) -> list[ImageRecord]:
    """Set ``has_image`` from one listing per folder, and drop the records whose path leaves their folder.

    A path leaves the image folder when it is absolute, climbs out with ``..`` or goes through a
    symbolic link that points elsewhere: such a file is never opened (a dataset must not show
    ``/etc/passwd`` or another user's files), and its entry is skipped with a problem. Plain names
    cost no system call beyond the listing; only subfolders and links are resolved. ``on_disk``
    gives the file a record's name lives in (for the hub layout, the data file of a row).
    """
    listings: dict[tuple[Path, str], dict[str, bool]] = {}
    inside: dict[tuple[Path, str], bool] = {}
    bases: dict[Path, Path | None] = {}
    kept = []
    for r in records:
        file = on_disk(r.file)
        subdir, _, name = file.rpartition("/")
        key = (r.folder, subdir)
        if key not in listings:
            listings[key] = formats.list_files(r.folder / subdir if subdir else r.folder)
            inside[key] = not subdir or _stays_inside(r.folder, subdir, bases)
        leaves = Path(file).is_absolute() or not inside[key]
        if leaves or (listings[key].get(name) and not _stays_inside(r.folder, file, bases)):
            problems.append(Problem(str(r.path), f"image {r.image_id}", _OUTSIDE.format(folder=r.folder)))
            continue
        present = name in listings[key]
        r.has_image = r.has_image and present  # a hub cell without bytes is missing too
        if not present:
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
