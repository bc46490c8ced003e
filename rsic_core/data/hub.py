"""The layout users download from the Hugging Face hub: parquet files, or a folder ``datasets`` saved.

RSICD and other caption sets on the hub are parquet files (``data/train-00000-of-00001.parquet``)
whose image column holds ``{bytes, path}`` (the ``datasets`` Image feature) beside a list of captions,
or one caption per row with several rows per image; ``Dataset.save_to_disk`` writes arrow files and a
``dataset_dict.json`` or ``state.json`` instead. Splits come from the file names as ``datasets`` reads
them (``train-*``, ``data/test-*``, a ``validation/`` folder), or from a ``split`` column.

Nothing is downloaded and no image is decoded while loading: a record's file is a reference
``data/train-00000-of-00001.parquet#row=12`` inside the dataset folder, which
:func:`rsic_core.data.images.read_image` opens through :func:`rsic_core.data.cells.image_bytes` (one
parquet row group, or one row of a memory-mapped arrow file): every consumer of ``record.path`` opens
it as it opens an image file. A cell with only a relative ``path`` names an image file in the folder.

Example::

    ds = load_dataset("downloads/rsicd")     # data/train-00000-of-00001.parquet, data/test-...
    image = ds.records[0].load_image()       # decoded now, from the bytes in the parquet file
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rsic_core.data import cells, formats
from rsic_core.data.records import ImageRecord, Problem

SPLIT_NAMES = {"training": "train", "validation": "val", "valid": "val", "dev": "val", "testing": "test"}
NAME_COLUMNS = ("filename", "file_name", "file", "image_path", "path", "image_name", "image_id", "name")
_CAPTIONS_WANTED = "text or a list of texts named caption(s), sentence(s), text or raw, or 'sentences' of {raw}"


@dataclass(frozen=True)
class Columns:
    """Which columns of a hub data file hold what."""

    image: str  # the struct of bytes and path
    captions: tuple[str, ...]  # text, list of texts, or list of {raw: text}
    name: str | None = None  # the image's file name, where a column has it
    label: str | None = None
    label_names: tuple[str, ...] | None = None  # a ClassLabel's names (the column holds their numbers)
    split: str | None = None
    source: str | None = None


def is_hub_folder(folder: Path) -> bool:
    """Whether ``folder`` holds parquet files (up to three levels down) or is a ``save_to_disk`` folder."""
    if saved_marker(folder) is not None:
        return True
    return any(next(folder.glob(pattern), None) for pattern in ("*.parquet", "*/*.parquet", "*/*/*.parquet"))


def check(path: Path) -> None:
    """Refuse, with one sentence that quotes nothing of it, a hub file or folder that is no captioning dataset.

    Only the schema of the first data file is read (cheap enough for every page run).

    Raises:
        formats.NotADataset: no data file, no image column, or no caption column.
        ValueError: a data file that cannot be read as parquet or arrow.
    """
    if path.is_file():
        files = [path]
    else:
        files = _arrow_files(path) or sorted(p for p in path.glob("**/*.parquet") if not _hidden(p, path))[:1]
    if not files:
        raise formats.NotADataset(f"{path}: {formats.NOT_A_DATASET} (found no parquet or arrow data file)")
    _required(files[0], cells.schema(files[0]))


def _required(file: Path, schema) -> tuple[str, tuple[str, ...]]:
    """The image column and the caption columns of ``schema``, or ``NotADataset``."""
    image = cells.image_column(schema)
    if image is None:
        raise formats.NotADataset(
            f"{file}: no image column (a `datasets` Image feature: a struct with 'bytes'); not a captioning dataset"
        )
    found = [f for f in schema if f.name != image and _is_caption(f)]
    lists = sorted((f for f in found if not _is_text(f.type)), key=lambda f: _rank(f.name))
    captions = (lists[0].name,) if lists else tuple(f.name for f in found)  # 'captions' beside 'sentences': one
    if not captions:
        raise formats.NotADataset(f"{file}: no caption column ({_CAPTIONS_WANTED}); not a captioning dataset")
    return image, captions


def columns_of(file: Path) -> Columns:
    """The image, caption and other columns of a parquet or arrow file, from its schema (no row is read)."""

    schema = cells.schema(file)
    image, captions = _required(file, schema)
    text = [f.name for f in schema if _is_text(f.type)]
    label = formats.find_column([f.name for f in schema if f.name not in (image, *captions)], formats.LABEL_COLUMNS)
    return Columns(
        image=image,
        captions=captions,
        name=formats.find_column([t for t in text if t not in captions], NAME_COLUMNS),
        label=label,
        label_names=_class_names(schema, label),
        split=formats.find_column(text, ("split",)),
        source=formats.find_column(text, ("source",)),
    )


def _is_text(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_caption(field) -> bool:
    """A text, list of texts or list of ``{raw}`` column named like captions (caption_1, sentences, raw...)."""
    import pyarrow as pa

    kind = field.type
    if not formats.is_caption_column(field.name):
        return False
    if _is_text(kind):
        return True
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        item = kind.value_type
        return _is_text(item) or (pa.types.is_struct(item) and item.get_field_index("raw") >= 0)
    return False


def _rank(name: str) -> int:
    lowered = name.strip().lower()
    return (
        formats.CAPTION_COLUMNS.index(lowered) if lowered in formats.CAPTION_COLUMNS else len(formats.CAPTION_COLUMNS)
    )


def _class_names(schema, label: str | None) -> tuple[str, ...] | None:
    """The names of a ``datasets`` ClassLabel column (they live in the schema's metadata)."""
    if label is None or not (schema.metadata or {}).get(b"huggingface"):
        return None
    import datasets

    try:
        feature = datasets.Features.from_arrow_schema(schema).get(label)
    except Exception:  # metadata another writer left: the numbers are shown as they are
        return None
    return tuple(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def _hidden(file: Path, root: Path) -> bool:
    return any(part.startswith((".", "__")) for part in file.relative_to(root).parts)


def saved_marker(folder: Path) -> Path | None:
    """``dataset_dict.json``, or ``state.json`` beside ``dataset_info.json``: what ``save_to_disk`` writes."""
    if (folder / "dataset_dict.json").is_file():
        return folder / "dataset_dict.json"
    if (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file():
        return folder / "state.json"
    return None


def _arrow_files(folder: Path) -> list[Path]:
    """The arrow files ``state.json`` lists (those of every split of ``dataset_dict.json``); empty if none."""
    marker = saved_marker(folder)
    if marker is None:
        return []
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise ValueError(f"{marker}: not valid JSON, so the `save_to_disk` folder cannot be read") from None
    if marker.name == "dataset_dict.json":
        splits = data.get("splits", []) if isinstance(data, dict) else []
        return [f for split in splits if isinstance(split, str) for f in _arrow_files(folder / split)]
    entries = data.get("_data_files", []) if isinstance(data, dict) else []
    return [folder / d["filename"] for d in entries if isinstance(d, dict) and isinstance(d.get("filename"), str)]


def read_hub(path: Path, image_dir: Path | None = None) -> formats.Parsed:
    """A hub dataset: a folder of parquet files, one parquet file, or a ``save_to_disk`` folder.

    Args:
        path: the folder (or one parquet file: that split alone).
        image_dir (the dataset folder): where the relative ``path`` of a cell without bytes points.

    Raises:
        formats.NotADataset: no data file, or none with an image column and a caption column.
        ValueError: no data file can be read (the first one's sentence).
    """
    root = path.parent if path.is_file() else path
    name = root.parent.name if root.name == "data" and root.parent.name else root.name
    reader = _Reader(formats.Parsed(name=name, image_dir=image_dir or root), root)
    files = _data_files(path, root, reader.out.problems)
    if not files:
        raise formats.NotADataset(f"{path}: {formats.NOT_A_DATASET} (found no parquet or arrow data file)")
    first_error = None
    for file, split in files:
        try:
            reader.read(file, SPLIT_NAMES.get(split, split) if split else None, columns_of(file))
        except ValueError as e:  # no image or caption column, or unreadable: the other files are still read
            first_error = first_error or e
            reader.out.problems.append(Problem(str(file), "file", f"{str(e).removeprefix(f'{file}: ')}; skipped"))
    if first_error is not None and not reader.files_read:
        raise first_error
    reader.out.records = list(reader.by_key.values())
    if reader.no_split:
        message = f"no split in the file names or a 'split' column: {reader.no_split} images put in train"
        reader.out.problems.append(Problem(str(path), "split", message))
    return reader.out


def _data_files(path: Path, root: Path, problems: list[Problem]) -> list[tuple[Path, str | None]]:
    """(data file, the split its name tells or None) in split order; files leading outside ``root`` left out."""
    if path.is_dir() and saved_marker(path) is not None:
        return _saved_splits(path)
    found = _named_splits(root)
    every = {os.path.normpath(p.absolute()) for p in root.glob("**/*.parquet") if not _hidden(p, root)}
    if not found:  # no name tells a split (or datasets could not glob the folder's name): all of them, no split
        found = dict.fromkeys(sorted(every))
    for file in sorted(every - set(found)) if not path.is_file() else []:
        problems.append(Problem(file, "file", "its name tells no split while the other files' names do; not read"))
    if path.is_file():
        found = {os.path.normpath(path.absolute()): found.get(os.path.normpath(path.absolute()))}
    base = root.resolve()
    kept = []
    for file, split in found.items():
        if not Path(file).resolve().is_relative_to(base):
            problems.append(Problem(file, "file", "leads outside the dataset folder (a link); not read"))
            continue
        kept.append((Path(file), split))
    return kept


def _named_splits(root: Path) -> dict[str, str | None]:
    """Parquet file -> split, by the rules ``datasets.load_dataset`` follows for a local folder; {} if none tells."""
    from datasets.data_files import get_data_patterns, resolve_pattern

    try:
        patterns = get_data_patterns(str(root))
    except (FileNotFoundError, ValueError):  # no file, or a sharded name that is no split name
        return {}
    if patterns == {"train": ["**"]}:  # the default: no file name tells a split
        return {}
    found: dict[str, str | None] = {}
    for split, split_patterns in patterns.items():
        for pattern in split_patterns:
            try:
                matched = resolve_pattern(pattern, str(root), allowed_extensions=[".parquet"])
            except FileNotFoundError:
                continue
            for file in sorted(matched):
                found.setdefault(os.path.normpath(file), str(split))
    return found


def _saved_splits(folder: Path) -> list[tuple[Path, str | None]]:
    """The arrow files of a ``save_to_disk`` folder, read by ``datasets.load_from_disk`` (memory-mapped)."""
    import datasets

    try:
        saved = datasets.load_from_disk(str(folder), keep_in_memory=False)
    except (OSError, ValueError, KeyError, TypeError) as e:
        reason = "a file it lists is missing" if isinstance(e, FileNotFoundError) else "its files are not consistent"
        raise ValueError(f"{folder}: not a readable `save_to_disk` folder ({reason})") from None
    parts = saved.items() if isinstance(saved, datasets.DatasetDict) else [(saved.split, saved)]
    return [(Path(c["filename"]), str(split) if split else None) for split, ds in parts for c in ds.cache_files]


class _Reader:
    """The images of a hub dataset, file after file: rows of one image merged, ids kept unique."""

    def __init__(self, out: formats.Parsed, root: Path):
        self.out, self.root = out, root
        self.by_key: dict[tuple[str, str], ImageRecord] = {}  # (split, name) -> its record
        self.ids: set[str] = set()
        self.no_split = self.files_read = 0
        self.ucm = formats.is_ucm(out.name)

    def read(self, file: Path, split: str | None, columns: Columns) -> None:
        """Add the images of one data file (its rows named ``row N (image)`` in problems)."""
        wanted = (*columns.captions, columns.name, columns.label, columns.split, columns.source)
        values, paths, has_bytes = cells.read_columns(file, columns.image, [c for c in dict.fromkeys(wanted) if c])
        relative = PurePosixPath(os.path.relpath(file, self.root)).as_posix()
        self.files_read += 1
        for row, cell_path in enumerate(paths):
            named = _name(values[columns.name][row] if columns.name else None) or _name(cell_path)
            image_id = named or cells.reference(relative, row)
            where = f"row {row} ({image_id})"
            raw = [c for col in columns.captions for c in _texts(values[col][row])]
            row_split = str(values[columns.split][row] or "").strip() if columns.split else ""
            row_split = SPLIT_NAMES.get(row_split, row_split) or split
            key = (row_split or "train", image_id)
            captions = formats.clean_captions(raw, file, where, self.out.problems) if raw else []
            if key in self.by_key:  # one caption per row: the rows of one image are merged
                self.by_key[key].captions.extend(captions)
                continue
            if not raw:
                self.out.problems.append(Problem(str(file), where, "no captions; image kept without references"))
            self.no_split += not row_split
            record = ImageRecord(
                image_id=image_id if image_id not in self.ids else f"{key[0]}/{image_id}",  # a name in two splits
                folder=self.root,
                file=cells.reference(relative, row),
                split=key[0],
                captions=captions,
                label=_label(values, columns, row) or (formats.label_of(named, self.ucm) if named else None),
                source=(str(values[columns.source][row] or "").strip() or None) if columns.source else None,
            )
            if not has_bytes[row]:
                self._without_bytes(record, cell_path, file, where)
            self.ids.add(record.image_id)
            self.by_key[key] = record

    def _without_bytes(self, record: ImageRecord, cell_path: str | None, file: Path, where: str) -> None:
        """A cell with only a relative path names an image file in the folder; else the image is missing."""
        if cell_path and not Path(cell_path).is_absolute() and cells.ROW not in cell_path:
            record.folder, record.file = self.out.image_dir, cell_path  # checked like any image file name
            return
        record.has_image = False
        self.out.problems.append(Problem(str(file), where, "the image cell holds no bytes; image kept as missing"))


def _name(value) -> str | None:
    """An image's name from a file name column or the cell's path (an absolute path: its last part)."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    return Path(text).name if Path(text).is_absolute() else text


def _texts(value) -> list:
    """The captions of one cell: a text, a list of texts, or a list of ``{raw: text}`` (Karpathy sentences)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v.get("raw") if isinstance(v, dict) else v for v in value]
    return [value]


def _label(values: dict, columns: Columns, row: int) -> str | None:
    if not columns.label:
        return None
    value = values[columns.label][row]
    if isinstance(value, int) and columns.label_names and 0 <= value < len(columns.label_names):
        return columns.label_names[value]
    return str(value).strip() or None if value is not None else None
