"""Every page of the app opens on the offline demo dataset, headless (streamlit AppTest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "views").glob("*.py"))


def keyed(widgets, name: str):
    """The widget keyed ``name`` (or ``name:<digest>``, see ``ui.state.widget_key``) among ``widgets``."""
    return next(w for w in widgets if w.key == name or str(w.key).startswith(f"{name}:"))


def open_page(page: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_the_demo(page, demo_dir):
    at = open_page(page)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, f"{page} shows no title"


def test_home_shows_the_demo_summary(demo_dir):
    at = open_page()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "120" and metrics["Captions"] == "600" and metrics["Problems"] == "0"
    assert "offline demo dataset" in " ".join(m.value for m in at.markdown)
    steps = next(m.value for m in at.markdown if m.value.startswith("**Next steps**"))  # first start: where to begin
    for step in ("Load your own data", "Caption an image", "Save these captions", "Train", "Compare"):
        assert step in steps, step


def test_explorer_filters_and_detail(demo_dir):
    at = open_page("views/explorer.py")
    assert len(at.get("image")) == 24, "the first gallery page shows 24 thumbnails"
    assert len([b for b in at.button if b.label == "Details"]) == 24

    keyed(at.number_input, "explorer_page").set_value(2).run()
    assert any("page 2 of 5" in m.value for m in at.markdown)
    keyed(at.selectbox, "explorer_split").set_value("train").run()  # the page count changed: back to page 1
    assert any("96 of 120 images match; page 1 of 4" in m.value for m in at.markdown)

    keyed(at.selectbox, "explorer_split").set_value("test").run()
    details = [b for b in at.button if b.label == "Details"]
    assert len(details) == 12  # the demo's 120 images split 96/12/12

    at.text_input(key="explorer_keyword").set_value("zzzz-no-such-word").run()
    assert not [b for b in at.button if b.label == "Details"]
    assert any("0 of 120 images match" in m.value for m in at.markdown)

    at.text_input(key="explorer_keyword").set_value("").run()
    first = [b for b in at.button if b.label == "Details"][0]
    first.click().run()
    assert not at.exception
    image_id = at.session_state["explorer_selected"]
    assert at.subheader[0].value == image_id
    ordered = [m.value for m in at.markdown if m.value.startswith("1. ")]
    assert ordered and ordered[0].count("\n") == 4, "the detail view lists all five captions"


def test_a_chosen_dataset_path_is_used_and_a_bad_one_reported(tmp_path, shared_data):
    # The sidebar widget itself is driven in the real-browser test: AppTest does not re-run the
    # main script's sidebar after a click when the app uses st.navigation.
    at = open_page(dataset_path=str(tmp_path / "missing"))
    assert any("no such file or folder" in e.value for e in at.error)

    at = open_page(dataset_path=str(shared_data / "ucm-sample"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "42" and metrics["Classes"] == "21"
    at.switch_page("views/explorer.py").run()
    assert not at.exception and len(at.get("image")) == 24


def _broken_dataset(root: Path) -> Path:
    """A Karpathy dataset whose three images are all missing."""
    import json

    root.mkdir()
    (root / "dataset_broken.json").write_text(
        json.dumps(
            {
                "images": [
                    {"filename": f"farm_{i}.jpg", "split": "test", "sentences": [{"raw": "a green field"}]}
                    for i in range(3)
                ]
            }
        )
    )
    return root


def test_problems_are_listed_on_home_and_explorer(tmp_path, demo_dir):
    path = str(_broken_dataset(tmp_path / "broken"))
    at = open_page(dataset_path=path)
    assert not at.exception, [e.message for e in at.exception]
    assert any("3 problems found" in w.value for w in at.warning)
    table = at.dataframe[-1].value
    assert len(table) == 3 and table["Message"].eq("image file is missing").all()

    at.switch_page("views/explorer.py").run()
    assert not at.exception
    assert [w.value for w in at.warning].count("missing") == 3, "each missing image is marked in the gallery"


@pytest.mark.parametrize("page", PAGES)
def test_a_malformed_annotation_file_is_one_sentence_on_every_page(page, tmp_path, demo_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dataset_bad.json").write_text('{"images": [,]}')
    at = open_page(page, dataset_path=str(bad))
    assert not at.exception, [e.message for e in at.exception]
    if page in ("views/home.py", "views/explorer.py", "views/statistics.py", "views/synonyms.py"):
        assert any("not valid JSON (line 1, column 13)" in e.value for e in at.error)


def _sidebar_script():
    """The sidebar alone (AppTest drives its button here; under st.navigation it does not re-run it)."""
    import streamlit as st

    from ui.state import DATASET_KEY, dataset_sidebar

    dataset_sidebar()
    st.write(f"loaded: [{st.session_state[DATASET_KEY]}]")


def _load_in_sidebar(at: AppTest, path) -> AppTest:
    at.sidebar.text_input(key="dataset_path_input").set_value(str(path))
    return at.sidebar.button(key="dataset_load").click().run()


def test_the_sidebar_takes_datasets_only_under_the_data_roots(tmp_path, monkeypatch):
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    for folder in (allowed / "mine", elsewhere):
        folder.mkdir(parents=True)
        (folder / "captions.csv").write_text("image,caption,split\na.png,a red roof,train\n")
    (allowed / "link").symlink_to(elsewhere, target_is_directory=True)  # inside by name, outside in fact
    (allowed / "settings.json").write_text('{"api_key": "s3cr3t-token", "hosts": ["db.internal"]}')
    monkeypatch.setenv("RSIC_DATA_ROOTS", str(allowed))

    at = AppTest.from_function(_sidebar_script, default_timeout=60).run()
    for refused in (elsewhere, allowed / "link", allowed / ".." / "elsewhere", "/etc/passwd"):
        _load_in_sidebar(at, refused)
        assert [e.value for e in at.sidebar.error] == [
            f"{refused} is outside the folders datasets are read from ({allowed}, {Path(os.environ['RSIC_HOME']).resolve()}); "
            "to add a folder, start the app with RSIC_DATA_ROOTS set to the folders to allow, separated by ':' "
            "(it replaces the home folder; RSIC_HOME stays allowed); hidden folders (.ssh...) inside them are left out"
        ]
        assert any(m.value == "loaded: []" for m in at.markdown), "the demo dataset stays loaded"

    _load_in_sidebar(at, allowed / "settings.json")
    [error] = [e.value for e in at.sidebar.error]
    assert "not a captioning dataset" in error and "s3cr3t" not in error and "api_key" not in error

    _load_in_sidebar(at, allowed / "mine")
    assert not at.sidebar.error and any(m.value == f"loaded: [{allowed / 'mine'}]" for m in at.markdown)


def test_the_explorer_shows_sixteen_bit_bands_and_says_how(tmp_path):
    import warnings

    import numpy as np
    import rasterio

    root = tmp_path / "geo"
    (root / "images").mkdir(parents=True)
    bands = np.random.default_rng(0).integers(100, 4000, size=(4, 32, 32)).astype(np.uint16)
    profile = {"driver": "GTiff", "count": 4, "height": 32, "width": 32, "dtype": "uint16"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(root / "images" / "farm_1.tif", "w", **profile) as dst:
            dst.write(bands)
    (root / "captions.csv").write_text("image,caption,split\nimages/farm_1.tif,a green field,train\n")

    at = open_page("views/explorer.py", dataset_path=str(root), explorer_selected="images/farm_1.tif")
    assert not at.exception, [e.message for e in at.exception]
    notes = [c.value for c in at.caption if c.value.startswith("16-bit, 4 bands")]
    assert notes == [notes[0]] and "showed bands 1,2,3 (the first three), stretched each band 2-98 %" in notes[0]
    at.text_input(key="explorer_bands").set_value("4,3,2").run()
    assert any("showed bands 4,3,2 (chosen)" in c.value for c in at.caption)
    at.text_input(key="explorer_bands").set_value("7").run()
    assert any("there is no band 7: the image has 4 bands" in e.value for e in at.error)
