"""Telling a dataset's format by its fields, and refusing what is none.

A format is recognised by what its entries hold, never by a file name or a word somewhere in the
file: Karpathy (an ``images`` list of entries with ``filename`` and ``sentences``), NWPU-Captions
(class name -> list of entries with ``filename`` and ``raw``), RISC (``captions.csv`` with
``source,split,image,caption_1...``), a CSV/JSONL with an image column and caption column(s), and the
hub's parquet or ``save_to_disk`` layout (an image column of ``{bytes, path}`` and caption columns).
In a folder the first file that is a dataset wins, so a ``settings.json`` or ``state.json`` beside
the annotations is passed over; a folder where nothing is one is refused with one sentence.

A JSON file is parsed to be told; :func:`detect_format` keeps the verdict per file (by modification
time and size), so pages that ask on every run do not parse it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rsic_core.data import formats, hub, textfiles
from rsic_core.data.formats import NOT_A_DATASET, NotADataset
from rsic_core.paths import check_regular


@dataclass(frozen=True)
class Found:
    """Where a dataset's annotations are and in which format."""

    format: str
    file: Path  # the annotation file; for the hub layout the folder (or the one parquet file given)
    loaded: tuple | None = None  # (JSON value, problems) read while telling the format, for the reader


def detect_format(path: str | Path) -> tuple[str, Path]:
    """Find the annotation file under ``path`` and tell its format.

    Args:
        path: a dataset folder or its annotation file.

    Returns:
        (format, annotation file); for the hub layout the folder (or the parquet file given).

    Raises:
        FileNotFoundError: the path does not exist or holds no annotation file this project reads.
        ValueError: ``path`` is not a dataset, or a file that looks like one cannot be read (the
            sentence never quotes its contents).
    """
    found = find(path, keep=False)
    return found.format, found.file


def find(path: str | Path, keep: bool = True) -> Found:
    """:func:`detect_format`, keeping the JSON value read on the way when ``keep`` (for the reader)."""
    path = Path(path).expanduser()
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as e:  # e.g. a name over 255 bytes
        raise FileNotFoundError(textfiles.os_error_sentence(path, e)) from None
    if not exists:
        raise FileNotFoundError(f"{path}: no such file or folder")
    check_regular(path)
    if is_file:
        return _of_file(path, keep)
    candidates = sorted(path.glob("dataset_*.json")) + sorted(path.glob("*.json"))
    if (path / "captions.csv").is_file():
        candidates.insert(0, path / "captions.csv")
    candidates = list(dict.fromkeys(candidates + sorted(path.glob("*.jsonl")) + sorted(path.glob("*.csv"))))
    broken: ValueError | None = None  # a file that could be a dataset but cannot be read
    for candidate in candidates:
        try:
            return _of_file(candidate, keep)
        except NotADataset:
            continue
        except ValueError as e:
            broken = broken or e
    if hub.is_hub_folder(path):
        hub.check(path)
        return Found("hub", path)
    if broken is not None:
        raise broken
    if candidates:
        raise NotADataset(f"{path}: {NOT_A_DATASET} (none of its {len(candidates)} .json/.jsonl/.csv files is one)")
    raise FileNotFoundError(
        f"{path}: found no annotation file (looked for dataset_*.json in the Karpathy or NWPU "
        "layout, RISC captions.csv, a .csv/.jsonl with image and caption columns, or parquet files)"
    )


def _of_file(file: Path, keep: bool) -> Found:
    """The format of ``file`` from its fields; ``NotADataset`` (quoting nothing of it) if it is none."""
    check_regular(file)
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        hub.check(file)
        return Found("hub", file)
    if suffix == ".json":
        if keep:
            fmt, data, problems = _json_layout(file)
            return Found(fmt, file, (data, problems))
        return Found(_json_verdict(file), file)
    if suffix not in (".jsonl", ".csv"):
        raise NotADataset(f"{file}: unknown annotation file type {suffix!r} (expected .json, .jsonl, .csv or .parquet)")
    if suffix == ".jsonl":
        return Found(_jsonl_format(file, textfiles.first_lines(file, 20)), file)
    try:
        with open(file, encoding="utf-8-sig", errors="replace") as f:
            head = f.read(65536)
    except OSError as e:
        raise ValueError(textfiles.os_error_sentence(file, e)) from None
    return Found(_csv_format(file, head), file)


def _jsonl_format(file: Path, lines: list[str]) -> str:
    row = _first_object(lines)
    if row is not None and formats.find_column(list(row), formats.IMAGE_COLUMNS):
        if any(formats.is_caption_column(k) for k in row):
            return "generic"
    raise NotADataset(f"{file}: {NOT_A_DATASET} (the first line has no image and caption fields)")


def _csv_format(file: Path, head: str) -> str:
    header = [h.strip().strip('"').lower() for h in head.split("\n", 1)[0].split(",")]
    if {"source", "split", "image", "caption_1"} <= set(header):
        return "risc"
    if formats.find_column(header, formats.IMAGE_COLUMNS) is None:
        raise NotADataset(f"{file}: CSV header has no image column ({', '.join(formats.IMAGE_COLUMNS)})")
    if not any(formats.is_caption_column(h) for h in header):
        raise NotADataset(f"{file}: CSV header has no caption column (caption, caption_1..., sentence, text, raw)")
    return "generic"


def _json_layout(file: Path) -> tuple[str, object, list]:
    """(format, JSON value, problems met reading it) of a Karpathy or NWPU file; ``NotADataset`` otherwise."""
    problems: list = []
    text = textfiles.read_text(file, problems)
    if not text.lstrip().startswith("{"):
        raise NotADataset(f"{file}: not a JSON object, so {NOT_A_DATASET}")
    if '"images"' not in text and '"filename"' not in text:  # neither layout can be there: not parsed
        raise NotADataset(f"{file}: {NOT_A_DATASET}")
    data = textfiles.parse_json(text, file)
    if formats.looks_like_karpathy(data):
        return "karpathy", data, problems
    if formats.looks_like_nwpu(data):
        return "nwpu", data, problems
    raise NotADataset(f"{file}: {NOT_A_DATASET}")


def _json_verdict(file: Path) -> str:
    """The format of a JSON file, kept per (file, modification time, size)."""
    try:
        stat = file.stat()
    except OSError as e:
        raise ValueError(textfiles.os_error_sentence(file, e)) from None
    fmt, error, message = _cached_verdict(str(file), stat.st_mtime_ns, stat.st_size)
    if error is not None:
        raise error(message)
    return fmt


@lru_cache(maxsize=256)
def _cached_verdict(file: str, mtime_ns: int, size: int) -> tuple[str | None, type | None, str]:
    try:
        return _json_layout(Path(file))[0], None, ""
    except ValueError as e:  # NotADataset or a file that cannot be read: kept as well
        return None, type(e), str(e)


def _first_object(lines: list[str]) -> dict | None:
    """The first of ``lines`` that is a JSON object (a broken line before it is the reader's problem to name)."""
    for line in lines:
        try:
            row = textfiles.json_line(line)
        except ValueError:
            continue
        return row if isinstance(row, dict) else None
    return None
