"""Error analysis on the real UCM-captions references (../shared/data/ucm-captions; skipped where absent).

One run-like table of all 1,890 train and val images: each image predicted by the caption most of
its references share (a correct caption), except the images below, predicted as a model might.
"""

from __future__ import annotations

from collections import Counter

import pytest

from rsic_core.scoring import error_analysis as ea
from rsic_core.scoring.confusion import NONE, class_words, confusion_figure, scene_confusion

PREDICTIONS = {
    "1901.jpg": "an aerial image of an airport",  # storagetanks: "three storage tanks are in the lawn"
    "201.jpg": "an aerial image of farmland",  # baseballdiamond: "a very old baseball diamond with sand and weeds"
    "2001.jpg": "two tennis courts surrounded by many plants",  # "a tennis court surrounded by many plants"
    "1919.jpg": "three storage tanks on the lawn",  # "a storage tank is in the lawn", "there is one storage tank"
}
PARAPHRASES = {  # correct captions in words the references do not use
    "1982.jpg": "one small white storage tank on the ground beside a road",
    "2037.jpg": "a small tennis court surrounded by lots of trees",  # the references say plants
    "282.jpg": "an old baseball field made of sand and weeds",  # they say baseball diamond
    "116.jpg": "a white plane is taxiing on the runway",  # they say airplane
    "1201.jpg": "a medium residential area with homes and trees",  # they say houses
}


@pytest.fixture(scope="module")
def table(shared_data):
    import pandas as pd

    from rsic_core.data.datasets import load_dataset

    dataset = load_dataset(shared_data / "ucm-captions")
    rows = [
        {
            "image_id": r.image_id,
            "split": r.split,
            "label": r.label,
            "prediction": {**PREDICTIONS, **PARAPHRASES}.get(r.image_id) or Counter(r.captions).most_common(1)[0][0],
            "references": r.captions,
        }
        for r in dataset.records
    ]
    return ea.analyze_run(pd.DataFrame(rows)).set_index("image_id", drop=False)


def test_an_airport_on_storage_tanks_is_flagged(table):
    row = table.loc["1901.jpg"]
    assert row["hallucinated"] == ["airport"] and row["hallucinated object"]
    assert "storage tanks" in row["missing"] and row["missing object"]
    assert "'airport' is in the prediction but in no reference" in row["details"]
    assert row["scene"] == "airplane"  # the references say airport only for the airplane class


def test_farmland_for_a_baseball_diamond_is_no_match(table):
    row = table.loc["201.jpg"]
    assert row["matching"] == [] and row["hallucinated"] == ["farmland"]
    assert "baseball diamond" in row["missing"]
    assert row["scene"] == "agricultural"


def test_correct_captions_in_other_words_are_not_flagged(table):
    for image_id in PARAPHRASES:
        row = table.loc[image_id]
        assert row["errors"] == [], (image_id, row["details"])
    assert "plane" in table.loc["116.jpg", "matching"] and "trees" in table.loc["2037.jpg", "matching"]


def test_a_count_that_differs_from_the_references_is_a_wrong_count(table):
    courts = table.loc["2001.jpg"]
    assert courts["wrong count"] and courts["details"] == ["2 tennis courts predicted, the references say 1"]
    tanks = table.loc["1919.jpg"]
    assert tanks["wrong count"] and "3 storage tanks predicted, the references say 1" in tanks["details"]
    assert not table.loc["1982.jpg", "wrong count"]  # "one small white storage tank": as the references say


def test_class_names_run_together_are_read_as_words():
    assert class_words("storagetanks") == ("storage", "tanks")
    assert class_words("baseballdiamond") == ("baseball", "diamond")
    assert class_words("mobilehomepark") == ("mobile", "home", "park")
    assert class_words("tennis court") == ("tennis", "court") and class_words("chaparral") == ("chaparral",)


def test_the_confusion_says_what_each_class_was_called(table):
    confusion = scene_confusion(table)
    classes = sorted(set(table["label"]))
    assert list(confusion.index) == classes and list(confusion.columns[: len(classes)]) == classes
    assert confusion.values.sum() == len(table)
    diagonal = sum(confusion.loc[c, c] for c in classes)
    assert diagonal >= 0.95 * len(table)  # the references' own captions name their class
    assert confusion.loc["storagetanks", "airplane"] >= 1 and confusion.loc["baseballdiamond", "agricultural"] >= 1
    figure = confusion_figure(confusion)
    heatmap = figure.data[0]
    assert list(heatmap.y) == classes and list(heatmap.x) == [str(c) for c in confusion.columns]
    assert heatmap.z.tolist() == confusion.values.tolist()
    assert NONE not in confusion.columns or confusion[NONE].sum() < 0.02 * len(table)
