"""Readers for the annotation formats of remote-sensing captioning datasets.

Each reader takes the annotation file and an optional image folder and returns a
:class:`Parsed`: records plus problems. A reader never raises on a bad entry: it names the file
and entry in a :class:`~rsic_core.data.records.Problem` and keeps what can still be used. It raises
``ValueError`` only when the file cannot be parsed at all.

The formats are described in ``../shared/data/README.md``: Karpathy JSON (RSICD, UCM-captions,
Sydney-captions), NWPU-Captions JSON, RISC ``captions.csv``, and a generic CSV/JSONL.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.data.records import ImageRecord, Problem

IMAGE_COLUMNS = ("image", "filename", "file", "file_name", "image_path", "path")
CAPTION_COLUMNS = ("caption", "captions", "sentence", "sentences", "text", "raw")
LABEL_COLUMNS = ("label", "class", "category", "scene")
# UC Merced land-use classes in alphabetical order: UCM-captions names image N.tif, class (N-1)//100.
UCM_CLASSES = (
    "agricultural",
    "airplane",
    "baseballdiamond",
    "beach",
    "buildings",
    "chaparral",
    "denseresidential",
    "forest",
    "freeway",
    "golfcourse",
    "harbor",
    "intersection",
    "mediumresidential",
    "mobilehomepark",
    "overpass",
    "parkinglot",
    "river",
    "runway",
    "sparseresidential",
    "storagetanks",
    "tenniscourt",
)


@dataclass
class Parsed:
    name: str
    image_dir: Path
    records: list[ImageRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def find_column(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


def list_files(folder: Path) -> set[str]:
    """Names of the files in ``folder`` (empty if it does not exist)."""
    try:
        with os.scandir(folder) as it:
            return {e.name for e in it}
    except (FileNotFoundError, NotADirectoryError):
        return set()


def _read_json(file: Path):
    try:
        with open(file, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{file}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"{file}: not UTF-8 text ({e.reason} at byte {e.start})") from e


def _clean_captions(raw: list, file: Path, entry: str, problems: list[Problem]) -> list[str]:
    """Keep non-empty string captions; report the others."""
    if raw and all(isinstance(c, str) and c.strip() for c in raw):  # the common case, fast
        return [c.strip() for c in raw]
    kept = []
    for i, caption in enumerate(raw, 1):
        if not isinstance(caption, str):
            problems.append(Problem(str(file), entry, f"caption {i} is not text ({caption!r}); dropped"))
        elif not caption.strip():
            problems.append(Problem(str(file), entry, f"caption {i} is empty; dropped"))
        else:
            kept.append(caption.strip())
    if not kept:
        problems.append(Problem(str(file), entry, "no usable caption; image kept without references"))
    return kept


def _label_from_filename(filename: str) -> str | None:
    """RSICD-style ``airport_12.jpg`` -> ``airport`` (the part before the last underscore)."""
    stem = Path(filename).stem
    head, sep, tail = stem.rpartition("_")
    return head if sep and tail.isdigit() and head else None


def _find_image_dir(root: Path, names: list[str], name: str) -> Path:
    """The first candidate folder that holds the first listed images; ``root/images`` otherwise."""
    candidates = [
        root / "images",
        root / f"{name}_images",
        *sorted(root.glob("*_images")),
        *sorted(root.glob("*images*")),
        root / "imgs",
        root,
    ]
    probe = [n for n in names[:20] if n]
    for folder in dict.fromkeys(candidates):
        if folder.is_dir() and probe and any((folder / n).is_file() for n in probe):
            return folder
    return root / "images" if (root / "images").is_dir() else root


def read_karpathy(file: Path, image_dir: Path | None) -> Parsed:
    """RSICD / UCM-captions / Sydney-captions: ``{"images": [{filename, split, sentences}]}``."""
    data = _read_json(file)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError(f"{file}: expected a JSON object with an 'images' list (Karpathy layout)")
    name = str(data.get("dataset") or file.parent.name)
    entries = data["images"]
    filenames = [e.get("filename") if isinstance(e, dict) else None for e in entries]
    folder = image_dir or _find_image_dir(file.parent, filenames, name)
    is_ucm = "ucm" in name.lower() or "merced" in name.lower()
    out = Parsed(name=name, image_dir=folder)
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"images[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str) or not entry["filename"]:
            out.problems.append(Problem(str(file), where, "entry has no 'filename'; skipped"))
            continue
        filename = entry["filename"]
        where = f"images[{i}] ({filename})"
        if filename in seen:
            out.problems.append(Problem(str(file), where, "image listed twice; second entry skipped"))
            continue
        seen.add(filename)
        sentences = entry.get("sentences")
        if not isinstance(sentences, list):
            out.problems.append(Problem(str(file), where, "no 'sentences' list; image kept without references"))
            sentences = []
        raw = [s.get("raw") if isinstance(s, dict) else s for s in sentences]
        label = _label_from_filename(filename)
        if label is None and is_ucm and Path(filename).stem.isdigit():
            index = (int(Path(filename).stem) - 1) // 100
            label = UCM_CLASSES[index] if 0 <= index < len(UCM_CLASSES) else None
        out.records.append(
            ImageRecord(
                image_id=filename,
                folder=folder,
                file=filename,
                split=str(entry.get("split") or "train"),
                captions=_clean_captions(raw, file, where, out.problems) if raw else [],
                label=label,
            )
        )
        if not raw and isinstance(sentences, list):
            out.problems.append(Problem(str(file), where, "no captions; image kept without references"))
    return out


def read_nwpu(file: Path, image_dir: Path | None) -> Parsed:
    """NWPU-Captions: ``{class: [{filename, split, raw, raw_1..raw_4}]}``, images in ``NWPU_images/<class>/``."""
    data = _read_json(file)
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object keyed by class name (NWPU-Captions layout)")
    root = image_dir or (file.parent / "NWPU_images")
    out = Parsed(name="NWPU-Captions", image_dir=root)
    for label, entries in data.items():
        if not isinstance(entries, list):
            out.problems.append(Problem(str(file), f"class {label!r}", "value is not a list of images; skipped"))
            continue
        for i, entry in enumerate(entries):
            where = f"{label}[{i}]"
            if not isinstance(entry, dict) or not entry.get("filename"):
                out.problems.append(Problem(str(file), where, "entry has no 'filename'; skipped"))
                continue
            filename = str(entry["filename"])
            where = f"{label}[{i}] ({filename})"
            keys = ["raw"] + [f"raw_{k}" for k in range(1, 10) if f"raw_{k}" in entry]
            raw = [entry.get(k) for k in keys if k in entry]
            out.records.append(
                ImageRecord(
                    image_id=f"{label}/{filename}",
                    folder=root,
                    file=f"{label}/{filename}",
                    split=str(entry.get("split") or "train"),
                    captions=_clean_captions(raw, file, where, out.problems),
                    label=label,
                    source="NWPU",
                )
            )
    return out


def read_risc(file: Path, image_dir: Path | None) -> Parsed:
    """RISC: ``captions.csv`` with ``source,split,image,caption_1..caption_5``; images in ``resized/``."""
    folder = image_dir or (file.parent / "resized")
    out = Parsed(name="RISC", image_dir=folder)
    with open(file, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        col = {h: i for i, h in enumerate(header)}
        caption_cols = [col[h] for h in header if h.startswith("caption")]
        for row_number, row in enumerate(reader, 2):
            if not row or not any(cell.strip() for cell in row):
                continue
            where = f"row {row_number}"
            if len(row) != len(header):
                out.problems.append(
                    Problem(str(file), where, f"expected {len(header)} columns, found {len(row)}; skipped")
                )
                continue
            image = row[col["image"]].strip()
            if not image:
                out.problems.append(Problem(str(file), where, "empty 'image' field; skipped"))
                continue
            raw = [row[c] for c in caption_cols]
            source = row[col["source"]].strip() or None
            out.records.append(
                ImageRecord(
                    image_id=image,
                    folder=folder,
                    file=image,
                    split=row[col["split"]].strip() or "train",
                    captions=_clean_captions(raw, file, f"{where} ({image})", out.problems),
                    source=source,
                )
            )
    return out


def _generic_rows(file: Path, problems: list[Problem]):
    """Yield (entry name, dict row) from a CSV (header row) or a JSONL file."""
    if file.suffix.lower() == ".jsonl":
        with open(file, encoding="utf-8", errors="replace") as f:
            for line_number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append(Problem(str(file), f"line {line_number}", f"not valid JSON ({e.msg}); skipped"))
                    continue
                if not isinstance(row, dict):
                    problems.append(Problem(str(file), f"line {line_number}", "not a JSON object; skipped"))
                    continue
                yield f"line {line_number}", row
        return
    with open(file, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        for row_number, row in enumerate(reader, 2):
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(
                    Problem(
                        str(file), f"row {row_number}", f"expected {len(header)} columns, found {len(row)}; skipped"
                    )
                )
                continue
            yield f"row {row_number}", dict(zip(header, row))


def read_generic(file: Path, image_dir: Path | None) -> Parsed:
    """A folder with a CSV or JSONL of (image, caption...) rows.

    Columns: the image (``image``/``filename``/``path``...), one or more captions (``caption``,
    ``caption_1``..., or a JSON list in ``captions``), optional ``split`` and ``label``/``class``
    and ``source``. Rows naming the same image are merged (one row per caption is common).
    """
    folder = image_dir or file.parent
    out = Parsed(name=file.parent.name, image_dir=folder)
    by_image: dict[str, ImageRecord] = {}
    for where, row in _generic_rows(file, out.problems):
        keys = list(row)
        image_key = find_column(keys, IMAGE_COLUMNS)
        image = str(row.get(image_key) or "").strip() if image_key else ""
        if not image:
            out.problems.append(
                Problem(str(file), where, f"no image name (columns {', '.join(IMAGE_COLUMNS)}); skipped")
            )
            continue
        raw: list = []
        for key in keys:
            lowered = key.strip().lower()
            if lowered in CAPTION_COLUMNS or re.fullmatch(r"(caption|sentence|raw)_?\d+", lowered):
                value = row[key]
                raw.extend(value if isinstance(value, list) else [value])
        if not raw:
            out.problems.append(Problem(str(file), f"{where} ({image})", "no caption column; skipped"))
            continue
        captions = _clean_captions(raw, file, f"{where} ({image})", out.problems)
        label_key = find_column(keys, LABEL_COLUMNS)
        if image in by_image:
            by_image[image].captions.extend(captions)
            continue
        by_image[image] = ImageRecord(
            image_id=image,
            folder=folder,
            file=image,
            split=str(row.get(find_column(keys, ("split",)) or "") or "train").strip(),
            captions=captions,
            label=(str(row[label_key]).strip() or None) if label_key else _label_from_filename(image),
            source=(str(row.get(find_column(keys, ("source",)) or "") or "").strip() or None),
        )
    out.records = list(by_image.values())
    return out
