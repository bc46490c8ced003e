"""The Compare page's filter and sort pipeline, on a real analysed run (no Streamlit)."""

from __future__ import annotations

import math

import pytest

from rsic_core.runs import layout as runs
from rsic_core.runs.compare import CompareFilter, filter_choices, filter_predictions
from rsic_core.scoring.error_analysis import analyze_run
from tests.support.scoring import PREDICTIONS, write_run


@pytest.fixture(scope="module")
def table(tmp_path_factory, corpus_scores):
    folder = write_run(tmp_path_factory.mktemp("runs"), "zero-shot", corpus_scores)
    return analyze_run(runs.load_run(folder).predictions_frame())


def ids(frame) -> list[str]:
    return list(frame["image_id"])


def test_worst_cases_come_first_and_the_order_flips(table, corpus_scores):
    worst = filter_predictions(table, CompareFilter(sort_by="CIDEr"))
    assert len(worst) == len(PREDICTIONS) and ids(worst)[0] == "beach_7.jpg"  # the empty caption
    cider = list(worst["CIDEr"])
    assert cider == sorted(cider) and cider[0] == pytest.approx(corpus_scores.per_image["beach_7.jpg"]["CIDEr"])
    best = filter_predictions(table, CompareFilter(sort_by="CIDEr", worst_first=False))
    assert ids(best) == ids(worst)[::-1]


def test_class_split_threshold_and_error_kinds_narrow_the_images(table):
    baseball = filter_predictions(table, CompareFilter(sort_by="BLEU-1", labels=("baseball field",)))
    assert ids(baseball) == ["baseball field_5.jpg"] and "wrong count" in baseball.iloc[0]["errors"]
    assert ids(filter_predictions(table, CompareFilter(sort_by="BLEU-1", at_most=0.0))) == ["beach_7.jpg"]
    hallucinated = filter_predictions(table, CompareFilter(sort_by="BLEU-1", error_kinds=("hallucinated object",)))
    assert len(hallucinated) == 3 and all("hallucinated object" in e for e in hallucinated["errors"])
    assert "stadium_8.jpg" in ids(hallucinated)  # "... near some boats": no reference has boats
    both = CompareFilter(sort_by="BLEU-1", labels=("stadium", "harbor"), error_kinds=("hallucinated object",))
    assert ids(filter_predictions(table, both)) == ["stadium_8.jpg"]
    assert filter_predictions(table, CompareFilter(sort_by="BLEU-1", splits=("val",))).empty  # all are test images
    assert len(table) == len(PREDICTIONS)  # the table itself is left as it was


def test_unscored_images_come_first_and_choices_follow_the_table(table):
    partly = table.copy()
    partly.loc[partly["image_id"] == "river_4.jpg", "CIDEr"] = math.nan  # e.g. a caption that was not scored
    assert ids(filter_predictions(partly, CompareFilter(sort_by="CIDEr")))[0] == "river_4.jpg"
    assert "river_4.jpg" not in ids(filter_predictions(partly, CompareFilter(sort_by="CIDEr", at_most=10.0)))

    choices = filter_choices(table)
    assert choices.metrics[:4] == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"] and "CIDEr" in choices.sort_by
    assert choices.labels == sorted(set(table["label"])) and choices.splits == ["test"]
    unscored = table.drop(columns=choices.metrics)
    assert filter_choices(unscored).sort_by == ["image_id"] and not filter_choices(unscored).metrics
    assert ids(filter_predictions(unscored, CompareFilter())) == sorted(ids(table))


def test_a_filter_naming_what_the_table_lacks_says_so(table):
    with pytest.raises(ValueError, match="SPICE"):
        filter_predictions(table, CompareFilter(sort_by="SPICE"))  # not computed for this run
    with pytest.raises(ValueError, match="analyze_run"):
        filter_predictions(table[["image_id", "CIDEr"]], CompareFilter(error_kinds=("wrong count",)))
    with pytest.raises(ValueError, match="needs a metric"):
        filter_predictions(table, CompareFilter(sort_by="image_id", at_most=0.5))
