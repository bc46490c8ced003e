"""What a run folder holds, as values: its prediction rows and the run read back.

Plain dataclasses (pandas only inside :meth:`Run.predictions_frame`); where the files are and
how they are written is :mod:`rsic_core.runs.layout`, which builds these from a folder.
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
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["image_id"] = str(data.get("image_id", data.get("image", "")))
        known["prediction"] = str(data.get("prediction") or data.get("caption") or "")
        known["references"] = [str(r) for r in (data.get("references") or [])]
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
        """One row per image: image_id, split, label, path, prediction, references, then one column per metric."""
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
                **{k: (math.nan if v is None else float(v)) for k, v in p.scores.items()},
            }
            for p in self.predictions
        ]
        return pd.DataFrame(
            rows, columns=None if rows else ["image_id", "split", "label", "path", "prediction", "references", "error"]
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
