"""Is A better than B on the Compare page, and the Leaderboard page: real UCM val references, two systems and an
imported file, scored with one evaluator, headless (streamlit AppTest)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.comparing import write_run

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory, ucm_val_sides) -> Path:
    """Runs of UCM val (60 images): the first reference, a constant caption, an imported file of it, the first
    reference on 20 of the images; and one of 5 train images."""
    root = tmp_path_factory.mktemp("board")
    records = ucm_val_sides["records"][:60]
    write_run(root, "first-ref", records, "first")
    write_run(root, "constant", records, "constant")
    imported = write_run(root, "imported-constant", records, "constant")
    source = imported / "predictions.jsonl"
    config = {
        "name": "imported-constant",
        "kind": "imported",
        "source": "/papers/constant.json",
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "dataset": "ucm-captions",
        "split": "val",
    }
    (imported / "config.json").write_text(json.dumps(config))
    write_run(root, "other-split", records[:5], "first", split="train")  # another board
    write_run(root, "fewer", records[:20], "first")  # the val split, but not the baseline's images
    return root


def frame_of(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_leaderboard_ranks_every_run_of_a_split_against_a_baseline(runs_root):
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["runs_root"] = str(runs_root)
    at.run()
    at.switch_page("views/leaderboard.py").run()
    assert not at.exception, [e.message for e in at.exception]
    board = next(s for s in at.selectbox if s.key == "leaderboard_board")
    assert sorted(board.options) == ["ucm-captions / train", "ucm-captions / val"]
    board.set_value("ucm-captions / val").run()
    table = frame_of(at, "protocol")
    order = list(table.columns)  # the scores before the wide what-was-run columns (seen cut off at 1440 px)
    assert order[:2] == ["run", "folder"] and order.index("CIDEr") < order.index("protocol")
    assert table["folder"].is_unique
    assert set(table["run"][-2:]) == {"constant", "imported-constant"} and set(table["run"]) == {
        "first-ref",
        "constant",
        "imported-constant",
        "fewer",
    }
    assert set(table["kind"]) == {"evaluation", "imported"}
    assert table["CIDEr"].is_monotonic_decreasing and "60 images" in table["protocol"].iloc[-1]
    assert "/papers/constant.json" in set(table["source"].dropna())
    imported = table[table["run"] == "imported-constant"].iloc[0]
    constant = table[table["run"] == "constant"].iloc[0]
    assert imported["CIDEr"] == constant["CIDEr"]  # the same captions score the same, whatever their kind

    baseline = next(s for s in at.selectbox if s.key == "leaderboard_baseline")
    baseline.set_value(str(runs_root / "constant")).run()
    assert not at.exception, [e.message for e in at.exception]
    table = frame_of(at, "vs baseline").set_index("run")
    assert table.loc["first-ref", "low"] > 0 and table.loc["first-ref", "A wins"] > 99  # x100, and %
    assert table.loc["imported-constant", "vs baseline"] == 0 and table.loc["imported-constant", "A wins"] == 0
    assert table["low"].isna().sum() == 2  # the baseline itself, and the run on 20 of its 60 images:
    assert any(
        w.value.startswith("fewer: no interval against the baseline (") and "(20 and 60" in w.value for w in at.warning
    )


def test_compare_says_whether_a_is_better_than_b(runs_root):
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["runs_root"] = str(runs_root)
    at.session_state["compare_run"] = str(runs_root / "first-ref")
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception, [e.message for e in at.exception]
    pick = next(s for s in at.selectbox if s.key == "compare_b")
    pick.set_value(str(runs_root / "constant")).run()
    assert not at.exception, [e.message for e in at.exception]
    table = frame_of(at, "A wins (%)").set_index("metric")
    assert list(table.index) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr"]
    assert (
        (table["low"] > 0).all()
        and (table["A wins (%)"] == 100).all()
        and table.loc["BLEU-4", "A"] == pytest.approx(100)
    )
    assert any("60 images, 1000 paired resamples" in c.value for c in at.caption)
    assert [p for p in at.markdown if p.value.startswith("**Prediction:**")]  # the page's own features stay

    next(s for s in at.selectbox if s.key == "compare_b_class").set_value("CIDEr").run()
    classes = frame_of(at, "class")
    assert len(classes) > 1 and (classes["A - B"] > 0).all()

    pick.set_value(str(runs_root / "other-split")).run()  # 5 train images: not the same images
    assert any("not on the same images (60 and 5" in e.value for e in at.error)
