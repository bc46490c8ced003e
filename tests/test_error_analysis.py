"""Error analysis finds the mistakes a person would point at."""

from __future__ import annotations

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
    assert any("3 field" in d and "2" in d for d in wrong.details)
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
    assert "hallucinated object" in e.errors and any("'boat'" in d for d in e.details)
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
