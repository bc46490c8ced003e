"""Error analysis finds the mistakes a person would point at."""

from __future__ import annotations

import pandas as pd

from rsic_core.runs import layout as runs
from rsic_core.scoring import error_analysis as ea
from tests.support.scoring import write_run

REFS = [
    "two baseball fields are surrounded by green trees",
    "there are two baseball diamonds near a road",
    "two baseball fields next to some buildings",
    "two baseball fields are surrounded by green trees",
    "two baseball fields beside a parking lot",
]


def test_wrong_count_is_found_and_right_count_is_not():
    wrong = ea.analyze("three baseball fields are surrounded by trees", REFS)
    assert "wrong count" in wrong.errors
    # the note names the object as the prediction writes it ("baseball fields": one WordNet name), not "field(s)"
    assert "3 baseball fields predicted, the references say 2" in wrong.details
    right = ea.analyze("two big baseball fields surrounded by green trees", REFS)
    assert "wrong count" not in right.errors and "hallucinated object" not in right.errors


def test_hallucinated_and_missing_objects():
    e = ea.analyze(
        "a stadium with a green field is near some boats",
        [
            "a stadium with a green football field is surrounded by buildings",
            "an oval stadium next to some roads",
            "the playground is in the stadium",
        ],
    )
    assert "hallucinated object" in e.errors and e.hallucinated == ["boats"]  # named as the prediction writes it
    assert e.details == ["'boats' is in the prediction but in no reference"]
    assert "missing object" not in e.errors  # buildings/roads are each in one reference only
    m = ea.analyze(
        "a café near the road", ["a café near a road with trees", "trees around a café", "a café with trees"]
    )
    assert m.errors == ["missing object"] and "trees" in m.missing
    assert m.matching == ["café", "road"]  # content words only


def test_synonyms_and_plurals_are_not_hallucinations():
    e = ea.analyze(
        "several airplanes near the terminal",
        ["many planes are parked next to a long runway", "some aircraft near a terminal"],
    )
    assert "hallucinated object" not in e.errors


def test_run_analysis_counts_and_breakdowns(tmp_path, corpus_scores):
    run = runs.load_run(write_run(tmp_path, "r", corpus_scores))
    table = ea.analyze_run(run.predictions_frame())
    counts = ea.error_counts(table).set_index("error")["images"]
    assert counts["wrong count"] == 1  # three vs two baseball fields
    assert counts["hallucinated object"] == 3  # tree in farmland, car in residential, boat at the stadium
    assert counts["missing object"] == 2  # the empty beach caption, the café without trees
    by_class = ea.breakdown(table, "label", ["CIDEr", "BLEU-4"]).set_index("label")
    assert by_class.loc["beach", "CIDEr"] == 0 and by_class.loc["harbor", "CIDEr"] > 1
    assert by_class["images"].sum() == len(table)
    by_length = ea.breakdown(table, "length", ["CIDEr"])
    assert list(by_length["length"]) == ["empty", "1-5 words", "6-10 words"]
    per_class = ea.error_counts(table, by="label")
    assert per_class[(per_class["label"] == "beach") & (per_class["error"] == "missing object")]["images"].item() == 1


def test_notes_name_objects_as_the_references_write_them():
    houses = ["many houses along the road", "many houses and a road", "houses and trees"]
    e = ea.analyze("a road near some trees", houses)
    assert e.missing == ["houses"] and e.details == ["'houses' is in 3 of 3 references but not in the prediction"]
    general = ea.analyze("many buildings along a road", houses)  # buildings: houses named more generally
    assert general.errors == [] and "buildings" in general.matching


def test_marks_cover_every_form_of_a_missing_or_flagged_object():
    marks = dict(ea.word_marks("three storage tanks are in the lawn", ["lawn"], ["storage tank"]))
    assert marks["storage"] == marks["tanks"] == "missing" and marks["lawn"] == "match" and marks["three"] == ""
    assert dict(ea.word_marks("an aerial image of an airport", [], (), ["airport"]))["airport"] == "flagged"


def test_without_wordnet_a_fixed_list_of_objects_stands_in(monkeypatch):
    from rsic_core.text import wordnet

    def unavailable():
        raise wordnet.WordNetUnavailable("WordNet is not installed (test)")

    monkeypatch.setattr(wordnet, "load_wordnet", unavailable)
    row = {"prediction": "some planes near a lake", "references": ["two planes on the runway"] * 3, "label": "x"}
    table = ea.analyze_run(pd.DataFrame([row]))
    assert table.attrs["notes"] == ["objects from a fixed list of common ones: WordNet is not installed (test)"]
    assert table.loc[0, "hallucinated"] == ["lake"] and table.loc[0, "missing"] == ["runway"]
