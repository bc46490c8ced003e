"""What a run folder holds, as values: its prediction rows and the run read back.

Plain dataclasses (pandas only inside :meth:`Run.predictions_frame`); where the files are and
how they are written is :mod:`rsic_core.runs.layout`, which builds these from a folder.

Two readers of ``predictions.jsonl``: :func:`read_predictions` for run folders (the project's own
files, old ones included: a line it cannot read is reported, never raised) and
:func:`read_prediction_file` for a file a user gives to be scored, which refuses the first row that
would be scored wrong (no ``image_id``, an id twice, a prediction that is not text, references that
are not a list of texts), naming the file and line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PredictionRow:
    """One image of a run: its prediction, references and per-image scores."""

    image_id: str
    prediction: str
    references: list[str] = field(default_factory=list)
    split: str | None = None
    label: str | None = None  # scene class where the dataset tells it
    path: str | None = None  # the image file, for viewers
    scores: dict[str, float | None] = field(default_factory=dict)  # metric -> value (None: not scored)
    seconds: float | None = None  # captioning time of this image
    error: str | None = None  # why no caption was produced, if so

    @classmethod
    def from_dict(cls, data: Mapping) -> PredictionRow:
        """A row from a ``predictions.jsonl`` line, leniently (older runs spelled ``image`` and ``caption``)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["image_id"] = str(data.get("image_id", data.get("image", "")))
        known["prediction"] = str(data.get("prediction") or data.get("caption") or "")
        references = data.get("references") or []
        known["references"] = [references] if isinstance(references, str) else [str(r) for r in references]
        known["scores"] = dict(data.get("scores") or {})
        return cls(**known)


@dataclass
class Run:
    """A run folder read back."""

    path: Path
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)  # metrics.json: corpus, embedder, skipped, notes, ...
    efficiency: dict = field(default_factory=dict)
    predictions: list[PredictionRow] = field(default_factory=list)  # empty unless asked for
    problems: list[str] = field(default_factory=list)  # what could not be read

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.path.name)

    @property
    def corpus(self) -> dict[str, float]:
        return {k: v for k, v in (self.metrics.get("corpus") or {}).items() if v is not None}

    def predictions_frame(self):
        """One row per image: image_id, split, label, path, prediction, references, error, seconds, then one column per metric.

        ``seconds`` is the image's share of its batch's captioning time (a batch average unless the batch was one).
        """
        import pandas as pd

        rows = [
            {
                "image_id": p.image_id,
                "split": p.split,
                "label": p.label,
                "path": p.path,
                "prediction": p.prediction,
                "references": p.references,
                "error": p.error,
                "seconds": math.nan if p.seconds is None else float(p.seconds),
                **{k: (math.nan if v is None else float(v)) for k, v in p.scores.items()},
            }
            for p in self.predictions
        ]
        return pd.DataFrame(
            rows,
            columns=None
            if rows
            else ["image_id", "split", "label", "path", "prediction", "references", "error", "seconds"],
        )


def read_predictions(file: str | Path) -> tuple[list[PredictionRow], list[str]]:
    """Rows of a ``predictions.jsonl`` and the lines that could not be read."""
    rows, problems = [], []
    with open(file, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(PredictionRow.from_dict(json.loads(line)))
            except (ValueError, TypeError, AttributeError) as e:
                problems.append(f"{file}: line {n}: {e}")
    return rows, problems


def read_prediction_file(file: str | Path) -> list[PredictionRow]:
    """The rows of a predictions file given to be scored, each checked (strict, unlike :func:`read_predictions`).

    Every line is a JSON object with ``image_id`` (text or number; ``image`` is read too), ``prediction``
    (text; ``caption`` is read too) and ``references`` (a non-empty list of texts); blank lines are skipped.

    Raises:
        ValueError: the first line that is not such a row, or an ``image_id`` given twice
            (``"<file>: line <n>: <what is wrong>"``).
    """
    rows: list[PredictionRow] = []
    first_line: dict[str, int] = {}
    with open(file, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = _checked_row(line)
            except ValueError as e:
                raise ValueError(f"{file}: line {n}: {e}") from None
            if row.image_id in first_line:
                raise ValueError(
                    f"{file}: line {n}: image_id {row.image_id!r} again (first on line {first_line[row.image_id]}); "
                    "each image must have one row"
                )
            first_line[row.image_id] = n
            rows.append(row)
    return rows


def _checked_row(line: str) -> PredictionRow:
    try:
        data = json.loads(line)
    except ValueError as e:
        raise ValueError(f"not JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object with image_id, prediction and references, found {_kind(data)}")
    image_id = data.get("image_id", data.get("image"))
    if image_id is None or image_id == "":
        raise ValueError("no image_id (each row needs the id of its image)")
    if isinstance(image_id, bool) or not isinstance(image_id, (str, int)):
        raise ValueError(f"image_id must be a text or a whole number, found {_kind(image_id)}")
    prediction = data.get("prediction", data.get("caption"))
    if prediction is None:
        raise ValueError("no prediction")
    if not isinstance(prediction, str):
        raise ValueError(f"prediction must be a text, found {_kind(prediction)}")
    references = data.get("references")
    if isinstance(references, str):
        raise ValueError('references must be a list of captions, found one text (write ["..."])')
    if not isinstance(references, list) or not references:
        raise ValueError(f"references must be a non-empty list of captions, found {_kind(references)}")
    for k, reference in enumerate(references, 1):
        if not isinstance(reference, str):
            raise ValueError(f"reference {k} must be a text, found {_kind(reference)}")
    scores = data.get("scores") if isinstance(data.get("scores"), dict) else {}
    row = PredictionRow.from_dict({**data, "scores": scores, "references": references})
    row.image_id, row.prediction = str(image_id), prediction
    return row


def _kind(value) -> str:
    """How a JSON value reads in a message: ``true``, ``a list``, ``an object``, ``nothing``..."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"{value!r}"
