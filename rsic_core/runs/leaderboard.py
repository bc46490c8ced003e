"""The field side by side: every run of one dataset split, scored again with one evaluator, against a baseline.

    boards = board_runs(list_runs())                    # "ucm-captions / val" -> its runs with predictions
    board = score_board(boards["ucm-captions / val"])   # each run scored once, n-gram statistics kept
    table = leaderboard(board, baseline=run_path, metric="CIDEr")

Each run's predictions are read with :func:`rsic_core.runs.sides.load_side` and scored here with the
same metrics and settings, whatever its ``metrics.json`` says: evaluation runs, scored files and
imported prediction files (run folders with ``"kind": "imported"``, ``source``, ``source_sha256``,
``dataset`` and ``split``) alike. The baseline column is a paired bootstrap of A - baseline
(:mod:`rsic_core.scoring.bootstrap`) for runs on the baseline's images.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.runs.layout import RunLayout
from rsic_core.runs.records import Run
from rsic_core.runs.sides import load_side
from rsic_core.runs.tables import adapter_label, dataset_label, model_label
from rsic_core.scoring.bootstrap import RESAMPLES, SEED, SystemStats, paired_bootstrap, system_stats
from rsic_core.scoring.metrics import METEOR, ScoreConfig

IMPORTED = "imported"  # config.json "kind" of a prediction file imported as a run
PROTOCOL = "coco-caption corpus scores, PTB tokenizer"


def board_name(config: dict) -> str:
    """``<dataset> / <split>``: the dataset and split a run scored (an imported file says them itself)."""
    data = str(config["dataset"]) if config.get("dataset") else dataset_label(config)
    return f"{data} / {config.get('split') or '?'}"


def board_runs(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """Runs with predictions, by dataset split (the boards in the order first met)."""
    boards: dict[str, list[Run]] = {}
    for run in runs:
        if RunLayout(run.path).predictions.is_file():
            boards.setdefault(board_name(run.config), []).append(run)
    return boards


def protocol(references: Sequence[Sequence[str]]) -> str:
    """How a row was scored: the evaluator, the images and the references per image (min/median/max)."""
    counts = [len(r) for r in references]
    spread = f"{min(counts)}/{statistics.median(counts):g}/{max(counts)}"
    return f"{PROTOCOL}, {len(counts)} images, references per image {spread} (min/median/max)"


@dataclass
class Board:
    """Every run of one board scored with one evaluator: one row each, and the statistics its resamples need."""

    rows: list[dict]  # run, folder, kind, model, adapter, source, protocol, images, corpus scores (0-1), path
    stats: dict[str, SystemStats]  # run folder -> its cached statistics
    notes: list[str] = field(default_factory=list)  # runs left out, each in a sentence


def score_board(runs: Sequence[Run], config: ScoreConfig | None = None) -> Board:
    """Score every run's predictions (read with :func:`load_side`) with the same metrics and settings.

    Args:
        runs: run folders of one dataset split (see :func:`board_runs`).
        config (all metrics but SPICE): the metric groups and Geo-Sim settings.
    """
    board = Board(rows=[], stats={})
    for run in runs:
        try:
            ids, predictions, references, _ = load_side(run.path)
            stats = system_stats(ids, predictions, references, config)
        except (ValueError, OSError) as e:
            board.notes.append(f"{run.path.name} was left out: {e}")
            continue
        c, imported = run.config, run.config.get("kind") == IMPORTED
        board.stats[str(run.path)] = stats
        board.rows.append(
            {
                "run": run.name,
                "folder": run.path.name,  # <timestamp>-<name>: tells apart runs of the same name, as on Runs
                "kind": c.get("kind") or "?",
                "model": "(imported)" if imported else model_label(c.get("model")),
                "adapter": None if imported else adapter_label(c),
                "source": c.get("source"),
                "protocol": protocol(references),
                "images": len(ids),
                **stats.corpus,
                **({METEOR: stats.meteor_jar} if stats.meteor_jar is not None else {}),  # as `rsic score`
                "path": str(run.path),
            }
        )
    return board


def leaderboard(
    board: Board,
    baseline: str | Path | None = None,
    metric: str = "CIDEr",
    resamples: int = RESAMPLES,
    seed: int = SEED,
):
    """One row per run of ``board``, best ``metric`` first, with A - baseline in ``metric`` and its interval.

    Args:
        board: the runs scored by :func:`score_board`.
        baseline (none): the run folder the others are compared with (one of the board's).
        metric ("CIDEr"): the metric the rows are sorted by and compared in.
        resamples (1000), seed (0): the paired bootstrap against the baseline.

    Returns:
        A DataFrame (scores 0-1): run, folder, kind, model, adapter, source, protocol, images, the metrics, then
        ``vs baseline``, ``low``, ``high``, ``A wins``; and its ``attrs["notes"]``: runs that could not be
        scored and runs with no interval against the baseline (other images), each in a sentence.
    """
    import pandas as pd

    table, notes = pd.DataFrame(board.rows), list(board.notes)
    table.attrs["notes"] = notes
    if table.empty:
        return table
    for column in ("vs baseline", "low", "high", "A wins"):
        table[column] = float("nan")
    base = board.stats.get(str(Path(baseline))) if baseline is not None else None
    if base is not None and metric in base.corpus:
        for k, path in enumerate(table["path"]):
            if path == str(Path(baseline)):
                continue
            try:
                d = paired_bootstrap(board.stats[path], base, resamples, seed).get(metric)
            except ValueError as e:
                notes.append(f"{table.at[k, 'run']}: no interval against the baseline ({e})")
                continue
            if d is not None:
                table.loc[k, ["vs baseline", "low", "high", "A wins"]] = [d.delta, d.low, d.high, d.a_wins]
    if metric in table.columns:
        table = table.sort_values(metric, ascending=False, na_position="last", ignore_index=True)
    table.attrs["notes"] = notes
    return table
