"""Prediction files as people have them, read into one shape: a row label, an id, a caption, references.

:func:`read_prediction_rows` reads

- the coco-caption results format: a JSON list of ``{"image_id", "caption"}`` (or any JSON list of objects);
- JSONL or CSV/TSV with a prediction column (``prediction``, ``pred``, ``answer``, ``caption``, ...), an optional
  id column (``image_id``, ``filename``, ``image``, ...) and optional references, as a list column
  (``references``, ``refs``, ``gts``, ...; in CSV a JSON list) or numbered columns (``caption0``..``caption4``,
  ``ref_1``..);
- a plain text file of ``filename<TAB>caption`` lines (``.txt``, or a ``.tsv`` without a known header).

Each row keeps where it came from ("line 7", "entry 3") so that every refusal names it. Rows are not matched
to images here (that is :mod:`rsic_core.runs.imports`).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from rsic_core.runs.records import PredictionRow

MATCHERS = ("Karpathy imgid", "coco id", "file name", "file name without extension")  # how ids name images
MATCH_OPTIONS = dict(zip(("imgid", "cocoid", "filename", "stem"), MATCHERS))  # --match's spellings of them

# Column names, in order of preference (the first one present is used).
PREDICTION_COLUMNS = (
    "prediction",
    "pred",
    "predicted_caption",
    "pred_caption",
    "generated_caption",
    "generated",
    "generation",
    "output",
    "answer",
    "hypothesis",
    "candidate",
    "response",
    "caption",
)
ID_COLUMNS = (
    "image_id",
    "imgid",
    "image",
    "filename",
    "file_name",
    "image_name",
    "img_id",
    "file",
    "image_path",
    "path",
    "img",
    "id",
    "name",
)
REFERENCE_COLUMNS = ("references", "refs", "gts", "ground_truth", "ground_truths", "gt", "targets", "captions")
_NUMBERED = re.compile(
    r"^(caption|captions|ref|refs|reference|references|gt|gts|sentence|sent|raw|target)[_\- ]?(\d+)$"
)


@dataclass
class FileRow:
    """One prediction as the file gives it."""

    where: str  # "line 7", "entry 3": names the row in messages
    key: str | None  # the image id as written (None: the file has no id column)
    prediction: str
    references: list[str] | None  # None: the file carries no references


@dataclass
class PredictionFile:
    """A prediction file read: its rows and how it was read."""

    path: Path
    format: str  # "coco results JSON", "JSONL", "CSV", "text (filename<TAB>caption)"
    rows: list[FileRow]
    columns: str  # which columns were read, said in the report

    @property
    def has_keys(self) -> bool:
        return bool(self.rows) and self.rows[0].key is not None

    @property
    def has_references(self) -> bool:
        return bool(self.rows) and self.rows[0].references is not None


def read_prediction_rows(path: str | Path) -> PredictionFile:
    """Read a prediction file in any of the formats above.

    Raises:
        FileNotFoundError: no such file.
        ValueError: one sentence naming the file and the row (or column) that cannot be read.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no predictions file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix not in (".jsonl", ".csv", ".tsv", ".txt") and text.lstrip().startswith("[")):
        return _read_json(path, text)
    if suffix == ".jsonl" or text.lstrip().startswith("{"):
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append((f"line {n}", json.loads(line)))
                except ValueError as e:
                    raise ValueError(f"{path}: line {n}: not JSON ({getattr(e, 'msg', e)})") from None
        return _from_records(path, "JSONL", records)
    if suffix == ".txt" or (suffix == ".tsv" and not _has_header(text, "\t")):
        return _read_text(path, text)
    delimiter = "\t" if suffix == ".tsv" else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    records = [(f"line {n}", row) for n, row in enumerate(reader, 2) if any((v or "").strip() for v in row.values())]
    return _from_records(path, "CSV" if delimiter == "," else "TSV", records, cells_are_text=True)


def is_project_jsonl(path: str | Path) -> bool:
    """Whether ``path`` is (or tries to be) the project's ``predictions.jsonl``: its first row names no column
    of the other layouts (``pred``, ``refs``, ``caption0``...). Such files keep their strict reader
    (:func:`rsic_core.runs.records.read_prediction_file`)."""
    path = Path(path)
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        data = json.loads(first)
    except (ValueError, OSError):
        return True  # its reader names the line
    if not isinstance(data, dict):
        return True
    names = {str(k).strip().lower() for k in data}
    project = {"image", "caption", *PredictionRow.__dataclass_fields__}  # what the project writes and reads
    other = (set(PREDICTION_COLUMNS) | set(ID_COLUMNS) | set(REFERENCE_COLUMNS)) - project
    return not (names & other) and not any(_NUMBERED.match(n) for n in names)


def _has_header(text: str, delimiter: str) -> bool:
    first = [c.strip().lower() for c in text.splitlines()[0].split(delimiter)]
    return any(c in PREDICTION_COLUMNS for c in first)


def _read_json(path: Path, text: str) -> PredictionFile:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{path}: not JSON ({getattr(e, 'msg', e)}, line {getattr(e, 'lineno', '?')})") from None
    if isinstance(data, dict) and "annotations" in data and "images" in data:
        raise ValueError(
            f"{path}: this is a coco-format annotations file (references), not predictions; "
            "give it as --data and the predictions as FILE"
        )
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a JSON list of predictions such as [{{"image_id": 1, "caption": "..."}}]')
    fmt = "coco results JSON" if data and isinstance(data[0], dict) and "caption" in data[0] else "JSON list"
    return _from_records(path, fmt, [(f"entry {i}", item) for i, item in enumerate(data, 1)])


def _read_text(path: Path, text: str) -> PredictionFile:
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise ValueError(f"{path}: line {n}: expected filename<TAB>caption, found no tab")
        key, caption = line.split("\t", 1)
        if n == 1 and key.strip().lower() in ID_COLUMNS and caption.strip().lower() in PREDICTION_COLUMNS:
            continue  # a header line
        if not key.strip():
            raise ValueError(f"{path}: line {n}: no file name before the tab")
        rows.append(FileRow(f"line {n}", key.strip(), caption.strip(), None))
    if not rows:
        raise ValueError(f"{path}: no filename<TAB>caption line")
    return PredictionFile(path, "text (filename<TAB>caption)", rows, "file name, caption")


def _from_records(path: Path, fmt: str, records: list, cells_are_text: bool = False) -> PredictionFile:
    """Rows from a list of (where, dict), the columns chosen from the first row and checked on every row."""
    if not records:
        raise ValueError(f"{path}: no prediction rows")
    where, first = records[0]
    if not isinstance(first, dict):
        raise ValueError(f"{path}: {where}: expected an object with a prediction, found {type(first).__name__}")
    names = {str(k).strip().lower(): k for k in first}
    pred_col = next((names[c] for c in PREDICTION_COLUMNS if c in names), None)
    if pred_col is None:
        raise ValueError(
            f"{path}: no prediction column (columns: {', '.join(map(str, first))}); name it one of "
            f"{', '.join(PREDICTION_COLUMNS[:6])} or caption"
        )
    id_col = next((names[c] for c in ID_COLUMNS if c in names and names[c] != pred_col), None)
    ref_col = next((names[c] for c in REFERENCE_COLUMNS if c in names and names[c] != pred_col), None)
    numbered = _numbered_columns(first, pred_col) if ref_col is None else []
    rows = []
    for where, record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{path}: {where}: expected an object with a prediction, found {type(record).__name__}")
        rows.append(_row(path, where, record, pred_col, id_col, ref_col, numbered, cells_are_text))
    refs = ref_col or (f"{numbered[0]}..{numbered[-1]}" if numbered else None)
    columns = f"prediction {pred_col!r}, id {id_col!r}" + (f", references {refs!r}" if refs else ", no references")
    return PredictionFile(path, fmt, rows, columns)


def _numbered_columns(first: dict, pred_col) -> list:
    found = [
        (m.group(1), int(m.group(2)), k) for k in first if k != pred_col and (m := _NUMBERED.match(str(k).lower()))
    ]
    if not found:
        return []
    prefix = found[0][0]
    return [k for _, _, k in sorted(f for f in found if f[0] == prefix)]


def _row(path, where, record, pred_col, id_col, ref_col, numbered, cells_are_text) -> FileRow:
    prediction = record.get(pred_col)
    if not isinstance(prediction, str):
        found = "nothing" if prediction is None else repr(prediction)
        raise ValueError(f"{path}: {where}: the prediction ({pred_col!r}) must be a text, found {found}")
    key = None
    if id_col is not None:
        key = record.get(id_col)
        if key is None or isinstance(key, bool) or not isinstance(key, (str, int)) or not str(key).strip():
            raise ValueError(f"{path}: {where}: no image id in column {id_col!r} (found {key!r})")
        key = str(key).strip()
    references = None
    if ref_col is not None:
        references = _reference_list(path, where, record.get(ref_col), ref_col, cells_are_text)
    elif numbered:
        references = [str(record[c]).strip() for c in numbered if record.get(c) not in (None, "")]
        if not references:
            raise ValueError(f"{path}: {where}: no reference in columns {numbered[0]}..{numbered[-1]}")
    return FileRow(where, key, prediction.strip(), references)


def _reference_list(path, where, value, column, cells_are_text) -> list[str]:
    if cells_are_text and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                f"{path}: {where}: references ({column!r}) must be a JSON list of captions such as "
                f'["a road", "two houses"]'
            ) from None
    if isinstance(value, str):
        raise ValueError(f'{path}: {where}: references ({column!r}) must be a list of captions (write ["..."])')
    if not isinstance(value, list) or not value:
        raise ValueError(f"{path}: {where}: references ({column!r}) must be a non-empty list of captions")
    for k, ref in enumerate(value, 1):
        if isinstance(ref, dict) and isinstance(ref.get("raw"), str):  # Karpathy-style sentence objects
            value[k - 1] = ref = ref["raw"]
        if not isinstance(ref, str):
            raise ValueError(f"{path}: {where}: reference {k} ({column!r}) must be a text, found {ref!r}")
    return [r.strip() for r in value]
