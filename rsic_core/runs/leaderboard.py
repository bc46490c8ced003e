"""The field side by side: every run of one dataset split, scored again with one evaluator, against a baseline.

    boards = board_runs(list_runs())                    # "ucm-captions / val" -> its runs with predictions
    table = leaderboard(boards["ucm-captions / val"], baseline=run_path, metric="CIDEr")

Each run's predictions are read with :func:`rsic_core.runs.sides.load_side` and scored here with the
same metrics and settings, whatever its ``metrics.json`` says: evaluation runs, scored files and
imported prediction files (run folders with ``"kind": "imported"``, ``source``, ``source_sha256``,
``dataset`` and ``split``) alike. The baseline column is a paired bootstrap of A - baseline
(:mod:`rsic_core.scoring.bootstrap`) for runs on the baseline's images.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

from rsic_core.runs.layout import RunLayout
from rsic_core.runs.records import Run
from rsic_core.runs.sides import load_side
from rsic_core.runs.tables import adapter_label, dataset_label, model_label
from rsic_core.scoring.bootstrap import RESAMPLES, SEED, paired_bootstrap, system_stats
from rsic_core.scoring.metrics import ALL_METRICS, ScoreConfig

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


def leaderboard(
    runs: Sequence[Run],
    baseline: str | Path | None = None,
    metric: str = "CIDEr",
    config: ScoreConfig | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
):
    """One row per run, scored with one evaluator, best ``metric`` first, with A - baseline in ``metric``.

    Args:
        runs: run folders of one dataset split (see :func:`board_runs`).
        baseline (none): the run the others are compared with (one of ``runs``).
        metric ("CIDEr"): the metric the rows are sorted by and compared in.
        config (all metrics but SPICE): the metric groups and Geo-Sim settings, the same for every run.
        resamples (1000), seed (0): the paired bootstrap against the baseline.

    Returns:
        A DataFrame (scores 0-1): run, kind, model, adapter, source, protocol, images, the metrics, then
        ``vs baseline``, ``low``, ``high``, ``A wins``; and its ``attrs["notes"]``: runs that could not be
        scored and runs on other images than the baseline, each in a sentence.
    """
    import pandas as pd

    rows, stats, notes = [], {}, []
    for run in runs:
        try:
            ids, predictions, references, _ = load_side(run.path)
            stats[str(run.path)] = system_stats(ids, predictions, references, config)
        except (ValueError, OSError) as e:
            notes.append(f"{run.path.name} was left out: {e}")
            continue
        c = run.config
        rows.append(
            {
                "run": run.name,
                "kind": c.get("kind") or "?",
                "model": model_label(c.get("model")) if c.get("kind") != IMPORTED else "(imported)",
                "adapter": adapter_label(c) if c.get("kind") != IMPORTED else None,
                "source": c.get("source"),
                "protocol": protocol(references),
                "images": len(ids),
                **stats[str(run.path)].corpus,
                "path": str(run.path),
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["notes"] = notes
    if table.empty:
        return table
    base = stats.get(str(Path(baseline))) if baseline is not None else None
    for column in ("vs baseline", "low", "high", "A wins"):
        table[column] = float("nan")
    if base is not None and metric in base.corpus:
        for k, path in enumerate(table["path"]):
            run_stats = stats[path]
            if path == str(Path(baseline)):
                continue
            try:
                d = paired_bootstrap(run_stats, base, resamples, seed).get(metric)
            except ValueError as e:
                notes.append(f"{table.at[k, 'run']}: no interval against the baseline ({e})")
                continue
            if d is not None:
                table.loc[k, ["vs baseline", "low", "high", "A wins"]] = [d.delta, d.low, d.high, d.a_wins]
    metrics = [m for m in ALL_METRICS if m in table.columns]
    if metric in metrics:
        table = table.sort_values(metric, ascending=False, na_position="last", ignore_index=True)
    table.attrs["notes"] = notes
    return table
