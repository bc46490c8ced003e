"""What the pages hand the browser for their labels: whole class names, the words worth a heatmap, no "None" cells.

How these look at 1440 px is checked in Chromium (tests/test_browser.py::test_labels_read_whole_at_1440_px).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TEMPLATE = {"aerial", "image", "images", "photo"}  # the frame of "an aerial image of ...": no heatmap worth showing


def test_heatmap_pills_offer_the_captions_content_words_not_its_template(demo_dir):
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page("views/live_caption.py").run()
    picker = next(w for w in at.multiselect if str(w.key).startswith("live_picked"))
    picker.set_value([o for o in picker.options if o.startswith("harbor")][:1]).run()
    assert not at.exception, [e.message for e in at.exception]
    caption = next(m.value.lstrip("# ").strip() for m in at.markdown if m.value.startswith("### "))
    (pills,) = [b for b in at.button_group if str(b.key).startswith("live_look_0_")]
    assert TEMPLATE & set(caption.split()), caption  # the demo model's caption has the template words...
    assert "harbor" in pills.options and not TEMPLATE & set(pills.options), pills.options  # ...the pills do not


def test_pills_leave_out_frame_words_in_any_number_and_keep_flagged_objects_first():
    from ui.grounding_cache import ordered_words

    words = "An aerial photo of two storage tanks in the middle of dense residential areas .".split()
    offered = [words[i] for i in ordered_words(words, flagged=["tanks"])]
    assert offered == ["tanks", "two", "storage", "dense", "residential"]


def test_model_comparison_shows_n_a_with_its_reason_under_the_table_and_the_note_beside_the_model():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("views/efficiency.py").run()
    assert not at.exception, [e.message for e in at.exception]
    (table,) = [d for d in at.dataframe if "study: total" in d.value.columns]
    assert table.value.isna().any().any()  # unpublished and not yet counted figures...
    assert table.proto.placeholder == "n/a"  # ...show as n/a, not "None"
    assert list(table.proto.column_order)[:3] == ["model", "shape", "note"]  # not the last of 11 columns
    captions = [c.value for c in at.caption]
    reason = next(i for i, c in enumerate(captions) if c.startswith("n/a in a study column"))
    assert "BITA (OPT-2.7B)" in captions[reason] and "not counted (PureT" in captions[reason]
    assert "Trainable:" in captions[reason + 1]  # the reason comes first under the table, before the long note


def test_confusion_labels_are_whole_and_the_figure_grows_to_hold_them():
    from rsic_core.scoring.confusion import confusion_figure

    long = "denseresidential / mediumresidential / sparseresidential"
    counts = pd.DataFrame([[0, 2]], index=["denseresidential"], columns=["denseresidential", long])
    short = confusion_figure(pd.DataFrame([[2]], index=["beach"], columns=["beach"])).to_dict()["layout"]
    layout = confusion_figure(counts).to_dict()["layout"]
    assert [t.split("<br>") for t in layout["xaxis"]["ticktext"]] == [[c] for c in counts.columns[:1]] + [
        long.split(" / ")
    ]  # every class whole, one per line
    assert layout["xaxis"]["automargin"] and layout["yaxis"]["automargin"]
    assert layout["margin"]["b"] > short["margin"]["b"] and layout["height"] - layout["margin"]["b"] >= 100
