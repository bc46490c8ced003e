"""Readers for the annotation formats of remote-sensing captioning datasets.

Each reader takes the annotation file and an optional image folder and returns a
:class:`Parsed`: records plus problems. A reader never raises on a bad entry: it names the file
and entry in a :class:`~rsic_core.data.records.Problem` and keeps what can still be used. It raises
``ValueError`` only when the file cannot be parsed at all.

The formats are described in ``../shared/data/README.md``: Karpathy JSON (RSICD, UCM-captions,
Sydney-captions), NWPU-Captions JSON, RISC ``captions.csv``, and a generic CSV/JSONL.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.data import textfiles
from rsic_core.data.records import ImageRecord, Problem

IMAGE_COLUMNS = ("image", "filename", "file", "file_name", "image_path", "path")
CAPTION_COLUMNS = ("caption", "captions", "sentence", "sentences", "text", "raw")
CAPTION_PATTERN = re.compile(r"(caption|sentence|raw)_?\d+")  # caption_1, sentence2, raw_3...
NOT_A_DATASET = (
    "not a captioning dataset: expected the Karpathy layout (an 'images' list of entries with 'filename' "
    "and 'sentences'), NWPU-Captions (class name -> list of images with 'filename' and 'raw'), RISC "
    "captions.csv, or a CSV/JSONL with image and caption columns"
)
LABEL_COLUMNS = ("label", "class", "category", "scene")


class NotADataset(ValueError):
    """A file or folder that is no captioning dataset at all (as opposed to a dataset that is broken)."""


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


def is_caption_column(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in CAPTION_COLUMNS or CAPTION_PATTERN.fullmatch(lowered) is not None


def list_files(folder: Path) -> dict[str, bool]:
    """Names of the entries in ``folder``, each with whether it is a symbolic link (empty if unreadable)."""
    try:
        with os.scandir(folder) as it:
            return {e.name: e.is_symlink() for e in it}
    except OSError:  # missing, not a folder, name too long, no permission
        return {}


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name over 255 bytes
        return False


def _count_missing_split(file: Path, missing: int, total: int, problems: list[Problem], column: bool = True) -> None:
    """One problem for the whole dataset when images have no split (they go to train)."""
    if not missing:
        return
    if not column:
        message = f"no 'split' column: all {total} images put in train"
    elif missing == total:
        message = f"no image has a 'split': all {total} images put in train"
    else:
        message = f"{missing} of {total} images have no 'split': put in train"
    problems.append(Problem(str(file), "split", message))


def clean_captions(raw: list, file: Path, entry: str, problems: list[Problem]) -> list[str]:
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


def is_ucm(name: str) -> bool:
    """Whether a dataset called ``name`` is UCM-captions (images ``1.tif`` ... ``2100.tif``)."""
    return "ucm" in name.lower() or "merced" in name.lower()


def label_of(filename: str, ucm: bool = False) -> str | None:
    """The scene class a file name tells: ``airport_12.jpg`` -> airport; UCM's ``205.tif`` -> baseballdiamond."""
    label = _label_from_filename(filename)
    if label is None and ucm and Path(filename).stem.isdigit():
        index = (int(Path(filename).stem) - 1) // 100
        label = UCM_CLASSES[index] if 0 <= index < len(UCM_CLASSES) else None
    return label


def looks_like_karpathy(data) -> bool:
    """A JSON object with an 'images' list, at least one entry of it with a 'filename' and a 'sentences' list."""
    entries = data.get("images") if isinstance(data, dict) else None
    return isinstance(entries, list) and any(
        isinstance(e, dict)
        and isinstance(e.get("filename"), str)
        and e["filename"]
        and isinstance(e.get("sentences"), list)
        for e in entries
    )


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
        if folder.is_dir() and probe and any(_is_file(folder / n) for n in probe):
            return folder
    return root / "images" if (root / "images").is_dir() else root


def read_karpathy(file: Path, image_dir: Path | None, loaded: tuple | None = None) -> Parsed:
    """RSICD / UCM-captions / Sydney-captions: ``{"images": [{filename, split, sentences}]}``.

    ``loaded`` (read here): the (JSON value, problems) detection already read from ``file``.
    """
    problems: list[Problem] = list(loaded[1]) if loaded else []
    data = loaded[0] if loaded else textfiles.read_json(file, problems)
    if not looks_like_karpathy(data):  # never show the strings of a file that is not a dataset
        raise NotADataset(f"{file}: {NOT_A_DATASET}")
    entries = data["images"]
    filenames = [e.get("filename") if isinstance(e, dict) else None for e in entries]
    name = str(data.get("dataset") or file.parent.name)
    folder = image_dir or _find_image_dir(file.parent, filenames, name)
    ucm = is_ucm(name)
    out = Parsed(name=name, image_dir=folder, problems=problems)
    seen: set[str] = set()
    no_split = 0
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
        label = label_of(filename, ucm)
        no_split += not entry.get("split")
        out.records.append(
            ImageRecord(
                image_id=filename,
                folder=folder,
                file=filename,
                split=str(entry.get("split") or "train"),
                captions=clean_captions(raw, file, where, out.problems) if raw else [],
                label=label,
            )
        )
        if not raw and isinstance(sentences, list):
            out.problems.append(Problem(str(file), where, "no captions; image kept without references"))
    _count_missing_split(file, no_split, len(out.records), out.problems)
    return out


def read_nwpu(file: Path, image_dir: Path | None, loaded: tuple | None = None) -> Parsed:
    """NWPU-Captions: ``{class: [{filename, split, raw, raw_1..raw_4}]}``, images in ``NWPU_images/<class>/``.

    ``loaded`` (read here): the (JSON value, problems) detection already read from ``file``.
    """
    problems: list[Problem] = list(loaded[1]) if loaded else []
    data = loaded[0] if loaded else textfiles.read_json(file, problems)
    if not looks_like_nwpu(data):  # never show the keys and strings of a file that is not a dataset
        raise NotADataset(f"{file}: {NOT_A_DATASET}")
    root = image_dir or (file.parent / "NWPU_images")
    out = Parsed(name="NWPU-Captions", image_dir=root, problems=problems)
    no_split = 0
    for label, entries in data.items():
        for i, entry in enumerate(entries):
            where = f"{label}[{i}]"
            if not isinstance(entry, dict) or not entry.get("filename"):
                out.problems.append(Problem(str(file), where, "entry has no 'filename'; skipped"))
                continue
            filename = str(entry["filename"])
            where = f"{label}[{i}] ({filename})"
            keys = ["raw"] + [f"raw_{k}" for k in range(1, 10) if f"raw_{k}" in entry]
            raw = [entry.get(k) for k in keys if k in entry]
            no_split += not entry.get("split")
            out.records.append(
                ImageRecord(
                    image_id=f"{label}/{filename}",
                    folder=root,
                    file=f"{label}/{filename}",
                    split=str(entry.get("split") or "train"),
                    captions=clean_captions(raw, file, where, out.problems),
                    label=label,
                    source="NWPU",
                )
            )
    _count_missing_split(file, no_split, len(out.records), out.problems)
    return out


def looks_like_nwpu(data) -> bool:
    """A JSON object whose every value is a list of images, at least one with 'filename' and a caption."""
    if not isinstance(data, dict) or not data or not all(isinstance(v, list) for v in data.values()):
        return False
    return any(
        isinstance(e, dict) and e.get("filename") and any(k == "raw" or k.startswith("raw_") for k in e)
        for entries in data.values()
        for e in entries
    )


def read_risc(file: Path, image_dir: Path | None) -> Parsed:
    """RISC: ``captions.csv`` with ``source,split,image,caption_1..caption_5``; images in ``resized/``."""
    folder = image_dir or (file.parent / "resized")
    out = Parsed(name="RISC", image_dir=folder)
    rows = textfiles.csv_rows(file, textfiles.read_text(file, out.problems), out.problems)
    header = [h.strip().lower() for h in next(rows)[1]]
    col = {h: i for i, h in enumerate(header)}
    caption_cols = [col[h] for h in header if h.startswith("caption")]
    no_split = 0
    for where, row in rows:
        image = row[col["image"]].strip()
        if not image:
            out.problems.append(Problem(str(file), where, "empty 'image' field; skipped"))
            continue
        raw = [row[c] for c in caption_cols]
        source = row[col["source"]].strip() or None
        no_split += not row[col["split"]].strip()
        out.records.append(
            ImageRecord(
                image_id=image,
                folder=folder,
                file=image,
                split=row[col["split"]].strip() or "train",
                captions=clean_captions(raw, file, f"{where} ({image})", out.problems),
                source=source,
            )
        )
    _count_missing_split(file, no_split, len(out.records), out.problems)
    return out


def _generic_rows(file: Path, problems: list[Problem]):
    """Yield (entry name, dict row) from a CSV (header row) or a JSONL file."""
    text = textfiles.read_text(file, problems)
    if file.suffix.lower() == ".jsonl":
        for line_number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 is valid in JSON
            if not line.strip():
                continue
            try:
                row = textfiles.json_line(line)
            except ValueError as e:
                problems.append(Problem(str(file), f"line {line_number}", f"{e}; skipped"))
                continue
            if not isinstance(row, dict):
                problems.append(Problem(str(file), f"line {line_number}", "not a JSON object; skipped"))
                continue
            yield f"line {line_number}", row
        return
    rows = textfiles.csv_rows(file, text, problems)
    header = [h.strip() for h in next(rows)[1]]
    for where, row in rows:
        yield where, dict(zip(header, row))


def read_generic(file: Path, image_dir: Path | None) -> Parsed:
    """A folder with a CSV or JSONL of (image, caption...) rows.

    Columns: the image (``image``/``filename``/``path``...), one or more captions (``caption``,
    ``caption_1``..., or a JSON list in ``captions``), optional ``split`` and ``label``/``class``
    and ``source``. Rows naming the same image are merged (one row per caption is common).
    """
    folder = image_dir or file.parent
    out = Parsed(name=file.parent.name, image_dir=folder)
    by_image: dict[str, ImageRecord] = {}
    no_split, split_column = set(), False
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
            if is_caption_column(key):
                value = row[key]
                raw.extend(value if isinstance(value, list) else [value])
        if not raw:
            out.problems.append(Problem(str(file), f"{where} ({image})", "no caption column; skipped"))
            continue
        captions = clean_captions(raw, file, f"{where} ({image})", out.problems)
        label_key = find_column(keys, LABEL_COLUMNS)
        if image in by_image:
            by_image[image].captions.extend(captions)
            continue
        split_key = find_column(keys, ("split",))
        split_column |= split_key is not None
        split = str(row.get(split_key or "") or "").strip()
        if not split:
            no_split.add(image)
        by_image[image] = ImageRecord(
            image_id=image,
            folder=folder,
            file=image,
            split=split or "train",
            captions=captions,
            label=(str(row[label_key]).strip() or None) if label_key else label_of(image),
            source=(str(row.get(find_column(keys, ("source",)) or "") or "").strip() or None),
        )
    out.records = list(by_image.values())
    _count_missing_split(file, len(no_split), len(out.records), out.problems, column=split_column)
    return out
