"""The two sides of a comparison: run folders or prediction files, read and checked to be on the same images.

    ids, predictions, references, classes = load_side("runs/20261201-2257-demo")   # or a predictions.jsonl
    comparison = compare_paths(run_a, run_b, resamples=1000, seed=0)                # rsic compare, the pages

:func:`load_side` is the one reader every comparison goes through (``rsic compare``, the Compare and
Leaderboard pages); a reader of another file format plugs in there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rsic_core.runs.imports import matched_rows
from rsic_core.runs.layout import RunLayout
from rsic_core.runs.prediction_files import is_project_jsonl
from rsic_core.runs.records import read_prediction_file, read_predictions
from rsic_core.scoring.bootstrap import RESAMPLES, SEED, Comparison, compare_systems
from rsic_core.scoring.metrics import ScoreConfig

Side = tuple[list[str], list[str], list[list[str]], list[str | None]]


def load_side(path: str | Path, data: str | Path | None = None, split: str = "test", match: str | None = None) -> Side:
    """A run folder's or a prediction file's images: (image ids, predictions, references, classes).

    A class is the scene class the dataset gives the image (``label`` of the run's rows), None where
    there is none. An image whose caption failed counts with an empty prediction (it scores 0).
    A file in another format than the project's ``predictions.jsonl`` (coco results, CSV, TSV, any JSONL that
    ``rsic score`` reads) is matched to ``data``'s ``split`` (or scored against the references it carries) by
    :func:`rsic_core.runs.imports.matched_rows`; an image of the split without a prediction counts as empty.

    Raises:
        FileNotFoundError: no such folder or file, or a folder without ``predictions.jsonl``.
        ValueError: a row that cannot be read, an image without references, or no image at all.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        file = RunLayout(path).predictions
        if not file.is_file():
            raise FileNotFoundError(f"{path}: no {RunLayout.PREDICTIONS} in this folder (not a run with predictions)")
        rows, problems = read_predictions(file)
        if problems:
            raise ValueError(problems[0])
    elif path.is_file() and (data is not None or not is_project_jsonl(path)):
        file, rows = path, matched_rows(path, data, split, match=match)[1]
    elif path.is_file():
        file, rows = path, read_prediction_file(path)
    else:
        raise FileNotFoundError(f"{path}: no such run folder or predictions file")
    if not rows:
        raise ValueError(f"{file}: no prediction in it")
    seen: set[str] = set()
    for row in rows:
        if row.image_id in seen:
            raise ValueError(f"{file}: image_id {row.image_id!r} twice; each image must have one row")
        seen.add(row.image_id)
        if not any(r.strip() for r in row.references):
            raise ValueError(f"{file}: image {row.image_id!r} has no reference caption, so it cannot be scored")
    return (
        [r.image_id for r in rows],
        [r.prediction or "" for r in rows],
        [list(r.references) for r in rows],
        [r.label for r in rows],
    )


def paired(a: Side, b: Side, names: Sequence[str] = ("A", "B")) -> tuple[list[str], list[str], list[str], list, list]:
    """A's and B's predictions on the same images, in A's order: (ids, predictions A, predictions B, references, classes).

    Raises:
        ValueError: the two are not on the same images, or an image has other references in B than in A.
    """
    ids_a, ids_b = a[0], b[0]
    only_a, only_b = [i for i in ids_a if i not in set(ids_b)], [i for i in ids_b if i not in set(ids_a)]
    if only_a or only_b:
        raise ValueError(
            f"{names[0]} and {names[1]} are not on the same images ({len(ids_a)} and {len(ids_b)}; "
            f"{len(only_a)} only in {names[0]}{_eg(only_a)}, {len(only_b)} only in {names[1]}{_eg(only_b)}): "
            "compare predictions of the same images"
        )
    where_b = {i: k for k, i in enumerate(ids_b)}
    for k, i in enumerate(ids_a):
        if sorted(a[2][k]) != sorted(b[2][where_b[i]]):
            raise ValueError(
                f"image {i!r} has other references in {names[1]} than in {names[0]}: the two were scored against "
                "different references"
            )
    preds_b = [b[1][where_b[i]] for i in ids_a]
    classes = [ca if ca else b[3][where_b[i]] for i, ca in zip(ids_a, a[3])]
    return list(ids_a), list(a[1]), preds_b, list(a[2]), classes


def compare_paths(
    a: str | Path,
    b: str | Path,
    config: ScoreConfig | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    data: str | Path | None = None,
    split: str = "test",
    match: str | None = None,
) -> Comparison:
    """A against B (run folders or prediction files, those of other formats matched to ``data``'s ``split``):
    see :func:`rsic_core.scoring.bootstrap.compare_systems`."""
    sides = [load_side(x, data, split, match) for x in (a, b)]
    ids, preds_a, preds_b, refs, classes = paired(*sides, (str(a), str(b)))
    return compare_systems(ids, preds_a, preds_b, refs, classes, config, resamples, seed)


def _eg(ids: list[str]) -> str:
    return f", e.g. {ids[0]!r}" if ids else ""
