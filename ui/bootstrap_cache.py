"""What the Compare and Leaderboard pages share for "is A better than B?": the metric groups to score with,
the cached paired bootstrap of two runs and the leaderboard of one dataset split, and the table that shows them.

Cached on the runs' files (their modification times), so a page rerun does not score again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rsic_core.runs.layout import RunLayout
from rsic_core.runs.leaderboard import Board, leaderboard, score_board
from rsic_core.runs.sides import compare_paths
from rsic_core.scoring.bootstrap import LEVEL, RESAMPLES, Comparison
from rsic_core.scoring.metrics import ScoreConfig
from rsic_core.scoring.scale import NUMBER_FORMAT, PAPER_SCALE, SCALE_NOTE

GROUPS = ("bleu", "rouge", "cider", "meteor", "geo_sim")
FAST_GROUPS = ["bleu", "rouge", "cider"]  # no JVM start, no embedder: seconds on 2 cores
GROUPS_HELP = (
    "METEOR starts a Java process (about 15 s the first time) and Geo-Sim a sentence embedder; BLEU, ROUGE-L and "
    "CIDEr take seconds. METEOR is resampled as the mean of per-image scores (its jar aggregates over the corpus)."
)


def groups_input(key: str) -> tuple[str, ...]:
    """The metric groups to score with (a multiselect, BLEU, ROUGE-L and CIDEr by default)."""
    chosen = st.multiselect("Metrics", GROUPS, default=FAST_GROUPS, key=key, help=GROUPS_HELP)
    return tuple(g for g in GROUPS if g in chosen)


def _stamp(folder: str) -> float:
    file = RunLayout(Path(folder)).predictions
    return file.stat().st_mtime if file.is_file() else 0.0


@st.cache_data(show_spinner="Bootstrapping A against B over images...", max_entries=8)
def _comparison(a: str, b: str, stamps: tuple, groups: tuple, resamples: int) -> Comparison:
    return compare_paths(a, b, ScoreConfig(score_metrics=groups), resamples)


def comparison(a: str, b: str, groups: tuple[str, ...], resamples: int = RESAMPLES) -> Comparison:
    """A against B (run folders), cached on their predictions files."""
    return _comparison(a, b, (_stamp(a), _stamp(b)), groups, resamples)


@st.cache_data(show_spinner="Scoring every run with one evaluator...", max_entries=4)
def _scored(paths: tuple, stamps: tuple, groups: tuple) -> Board:
    from rsic_core.runs.layout import load_run

    return score_board([load_run(p, with_predictions=False) for p in paths], ScoreConfig(score_metrics=groups))


@st.cache_data(show_spinner="Bootstrapping each run against the baseline...", max_entries=8)
def _board(paths: tuple, stamps: tuple, groups: tuple, baseline: str | None, metric: str):
    return leaderboard(_scored(paths, stamps, groups), baseline, metric)


def board(paths: list[str], baseline: str | None, metric: str, groups: tuple[str, ...]):
    """:func:`rsic_core.runs.leaderboard.leaderboard` of these run folders, each scored once (cached on their
    predictions files) whatever the baseline."""
    return _board(tuple(paths), tuple(_stamp(p) for p in paths), groups, baseline, metric)


def difference_table(result: Comparison) -> None:
    """A, B, A - B, its interval and A's share of wins, one row per metric (x100)."""
    rows = [
        {
            "metric": name,
            "A": PAPER_SCALE * result.a[name],
            "B": PAPER_SCALE * result.b[name],
            "A - B": PAPER_SCALE * d.delta,
            "low": PAPER_SCALE * d.low,
            "high": PAPER_SCALE * d.high,
            "A wins (%)": 100 * d.a_wins,
        }
        for name, d in result.differences.items()
    ]
    number = st.column_config.NumberColumn(format=NUMBER_FORMAT)
    st.dataframe(rows, hide_index=True, column_config=dict.fromkeys(("A", "B", "A - B", "low", "high"), number))
    st.caption(
        f"Scores {SCALE_NOTE}. {result.n_images} images, {result.resamples} paired resamples (seed {result.seed}); "
        f"low-high: the {100 * LEVEL:.0f} % interval of A - B. Corpus BLEU and CIDEr-D are recomputed on each "
        "resample; ROUGE-L, METEOR and Geo-Sim are means of per-image scores."
    )


def class_table(result: Comparison, metric: str) -> None:
    """A - B in ``metric`` within each class, with its interval (x100)."""
    rows = [
        {
            "class": label,
            "images": result.class_sizes[label],
            "A - B": PAPER_SCALE * diffs[metric].delta,
            "low": PAPER_SCALE * diffs[metric].low,
            "high": PAPER_SCALE * diffs[metric].high,
            "A wins (%)": 100 * diffs[metric].a_wins,
        }
        for label, diffs in result.per_class.items()
        if metric in diffs
    ]
    number = st.column_config.NumberColumn(format=NUMBER_FORMAT)
    st.dataframe(rows, hide_index=True, column_config=dict.fromkeys(("A - B", "low", "high"), number))
