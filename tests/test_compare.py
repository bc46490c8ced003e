"""The Compare page's filter and sort pipeline, on a real analysed run (no Streamlit)."""

from __future__ import annotations

import math
import re

import pytest

from rsic_core.runs import layout as runs
from rsic_core.runs.compare import CompareFilter, errors_by_class, filter_choices, filter_predictions, time_label
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


def test_a_threshold_is_compared_with_the_score_as_shown(table, corpus_scores):
    tiny = corpus_scores.per_image["farmland_3.jpg"]["BLEU-4"]
    assert 0 < tiny < 1e-9  # what the scorer gives for no 4-gram in common, shown as 0.00
    assert sorted(ids(filter_predictions(table, CompareFilter(sort_by="BLEU-4", at_most=0)))) == [
        "beach_7.jpg",
        "farmland_3.jpg",
    ]
    cafe = corpus_scores.per_image["café_10.jpg"]["BLEU-4"]  # about 1e-4: 0.01 on the x100 scale
    assert "café_10.jpg" not in ids(filter_predictions(table, CompareFilter(sort_by="BLEU-4", at_most=0)))
    assert "café_10.jpg" in ids(
        filter_predictions(table, CompareFilter(sort_by="BLEU-4", at_most=round(100 * cafe, 2)))
    )


def test_errors_by_class_has_every_kind_even_when_no_image_is_left(table):
    counts = errors_by_class(table)
    assert list(counts.columns) == ["wrong count", "missing object", "hallucinated object"]
    assert counts.loc["baseball field", "wrong count"] == 1 and counts["hallucinated object"].sum() == 3
    none = errors_by_class(filter_predictions(table, CompareFilter(sort_by="BLEU-1", splits=("val",))))
    assert none.empty and list(none.columns) == list(counts.columns)  # the pivot that raised KeyError


def test_a_per_image_time_says_when_it_is_a_batch_average():
    assert time_label(0.2123, 1) == "212 ms"  # a batch of one: the image alone
    assert time_label(0.2123, 8) == "212 ms per image, batch average (batch size 8)"
    assert time_label(0.2123, None) == "212 ms per image, batch average"
    assert time_label(None, 8) is None and time_label(math.nan, 8) is None


def test_the_words_to_look_at_put_hallucinated_objects_first():
    from ui.grounding_cache import ordered_words

    words = "there are two planes and a harbor near the runway".split()
    order = ordered_words(words, flagged=["harbor"])
    assert [words[i] for i in order] == ["harbor", "two", "planes", "runway"]  # function words have no overlay


def test_compare_shows_where_the_run_model_looked_for_a_word(tmp_path, demo_dir):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=600)
    at.session_state["runs_root"] = str(tmp_path)
    at.run()
    at.switch_page("views/compare.py").run()
    [b for b in at.button if b.label == "Evaluate the demo model on the test split"][0].click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    pills = [b for b in at.button_group if str(b.key).startswith("compare_look_")]
    assert len(pills) == len([m for m in at.markdown if m.value.startswith("**Prediction:**")]) > 0
    shown = len(at.get("image"))
    look = pills[0]  # the demo model's "an aerial image of ...": its scene's words, not "aerial" or "image"
    assert look.options and not {"aerial", "image"} & set(look.options), look.options
    shown_first = next(m.value for m in at.markdown if m.value.startswith("**Prediction:**")).split("** ", 1)[1]
    words = re.sub(r":\w+\[(?:\*\*|~~)?(.*?)(?:\*\*|~~)?\]", r"\1", shown_first).split()  # its marks taken off
    look.set_value(words.index(look.options[0].removeprefix("⚠ "))).run()  # the first word offered
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.get("image")) == shown + 1  # the overlay of the word picked, under its prediction
