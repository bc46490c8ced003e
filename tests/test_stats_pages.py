"""Caption statistics frames and figures, and the Caption statistics and Synonym clusters pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rsic_core.text import stats as cs

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(scope="module")
def demo(demo_dir):
    from rsic_core.data.datasets import load_dataset

    return load_dataset(demo_dir)


def test_counts_per_split_and_source_add_up(demo):
    counts = cs.counts_by_split_source(demo)
    assert list(counts["split"]) == ["train", "val", "test"]
    assert counts["images"].sum() == len(demo) and counts["captions"].sum() == demo.num_captions
    assert cs.counts_figure(counts).data


def test_lengths_tokens_vocabulary_and_duplicates():
    before = ["many buildings are near a park .", "a plane", "Buildings and buildings and trees are here"]
    after = ["many building are near a park .", "building and building and trees are here"]
    lengths = cs.length_frame({"before": before, "after": after})
    assert lengths[lengths.stage == "before"]["words"].tolist() == [6, 2, 7]
    fig = cs.length_histogram(lengths, 5, 20)
    assert {t.name for t in fig.data} == {"before", "after"}
    top = cs.top_tokens(before, n=3)
    assert top.iloc[0]["token"] == "buildings" and top.iloc[0]["count"] == 3 and "a" not in set(top["token"])
    table = cs.vocabulary_table({"input": before, "final": after})
    assert table["vocabulary"].tolist() == [10, 9] and table["reduction_%"].tolist() == [0.0, 10.0]
    assert len(cs.top_tokens_figure({"before": top, "after": cs.top_tokens(after, 3)}).data) == 2


def test_duplicate_references_are_counted(shared_data):
    from rsic_core.data.datasets import load_dataset

    duplicates = cs.duplicate_references(load_dataset(shared_data / "ucm-sample"))
    assert len(duplicates) > 0 and (duplicates["duplicates"] >= 1).all()
    assert (duplicates["references"] - duplicates["distinct"] == duplicates["duplicates"]).all()


@pytest.fixture(scope="module")
def app(demo_dir):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    return at


def test_statistics_page_shows_counts_lengths_and_vocabulary(app):
    app.switch_page("views/statistics.py")
    app.run()
    assert not app.exception
    assert app.title[0].value == "Caption statistics"
    frames = [d.value for d in app.dataframe]
    steps = frames[0]
    assert steps["step"].tolist() == ["length_filter", "sentencepiece", "synonyms", "cleaning"]
    assert steps["captions_out"].iloc[0] < steps["captions_in"].iloc[0]  # the demo has captions under 5 words
    pieces = next(f for f in frames if "pieces" in f.columns)
    assert "▁" in pieces["pieces"].iloc[0]
    counts = next(f for f in frames if "split" in f.columns and "images" in f.columns)
    assert list(counts["split"]) == ["train", "val", "test"]
    vocabulary = next(f for f in frames if "vocabulary" in f.columns)
    assert vocabulary["stage"].tolist()[0] == "input" and vocabulary["stage"].tolist()[-1] == "final"
    assert any("token" in f.columns for f in frames)
    assert [s.value for s in app.subheader][:3] == ["Vocabulary", "Before", "After"]
    assert "natural language" in app.success[0].value


def test_synonym_page_shows_the_mapping_and_reclusters_on_eps(app):
    app.switch_page("views/synonyms.py")
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table.columns)[:3] == ["variant", "canonical", "cluster"]
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Words clustered"]) > 20
    assert len(app.get("plotly_chart")) == 1  # the UMAP map
    app.slider(key="synonyms_eps").set_value(0.1).run()
    assert not app.exception
    tighter = {m.label: m.value for m in app.metric}
    assert (tighter["Noise words"], tighter["Merges applied"]) != (metrics["Noise words"], metrics["Merges applied"])
    app.text_input(key="synonyms_search").input("zzzz-no-such-word").run()
    assert app.dataframe[0].value.empty
    app.text_input(key="synonyms_search").input("").run()


def test_synonym_page_keeps_the_number_unless_told_otherwise(app):
    app.switch_page("views/synonyms.py")
    app.slider(key="synonyms_eps").set_value(0.5).run()
    kept = app.dataframe[0].value
    assert not app.exception and not kept[kept["relation"] == "plural"]["applied"].any()
    app.toggle(key="synonyms_keep_number").set_value(False).run()  # plurals to singular, the RISC way
    assert not app.exception
    study = app.dataframe[0].value
    plurals = study[study["relation"] == "plural"]
    assert len(plurals) and plurals["applied"].all()
    assert study["applied"].tolist() == sorted(study["applied"], reverse=True)  # applied merges first
    app.toggle(key="synonyms_keep_number").set_value(True).run()


def test_words_clustered_are_the_content_words_of_the_statistics_vocabulary(app, demo):
    from rsic_core.text import words
    from rsic_core.text.preprocess import PreprocessConfig, preprocess

    app.switch_page("views/statistics.py").run()
    table = next(d.value for d in app.dataframe if "vocabulary" in d.value.columns).set_index("stage")
    app.switch_page("views/synonyms.py").run()
    clustered = int({m.label: m.value for m in app.metric}["Words clustered"])

    captions = cs.captions_of(demo)
    kept = cs.result_stages(captions, preprocess(captions, PreprocessConfig()))["after length filter"]
    vocabulary = words.word_counts(kept)
    assert table.loc["after length filter", "vocabulary"] == len(vocabulary)
    assert clustered == sum(map(words.is_content_word, vocabulary)) < len(vocabulary)  # what the metric's help says


def _save(app, page: str) -> str:
    """Click Save these captions on ``page`` with the name its box shows; that name."""
    name = next(t for t in app.text_input if t.label == "Set name" and t.key.startswith(f"{page}_save_name")).value
    app.button(key=f"{page}_save").click().run()
    assert not app.exception, app.exception
    return name


def test_saved_captions_make_a_set_the_train_page_offers(app, demo):
    from rsic_core.data.caption_sets import REPORT, read_caption_set
    from rsic_core.paths import captions_dir
    from rsic_core.text import words

    app.switch_page("views/statistics.py").run()
    app.number_input(key="statistics_max_words").set_value(12).run()
    name = _save(app, "statistics")
    folder = captions_dir() / name
    assert (folder / REPORT).is_file()
    assert any(f"--train-captions {folder}" in s.value for s in app.success)
    saved = read_caption_set(folder)
    kept = [c for captions in saved.captions.values() for c in captions]
    assert kept and all(words.count_words(c) <= 12 and c == c.lower() for c in kept)  # the page's settings
    assert set(saved.captions) == {r.image_id for r in demo.records}
    assert json.loads((folder / REPORT).read_text())["config"]["len_max_words"] == 12

    before = (folder / REPORT).read_text()
    assert _save(app, "statistics") == name  # the same name again: refused, nothing overwritten
    assert any("already exists" in e.value for e in app.error) and (folder / REPORT).read_text() == before

    app.switch_page("views/synonyms.py").run()
    app.slider(key="synonyms_eps").set_value(0.3).run()
    tight = _save(app, "synonyms")
    assert json.loads((captions_dir() / tight / REPORT).read_text())["config"]["syn_eps"] == 0.3

    foreign = captions_dir() / f"{name}-of-another-dataset"  # a set whose report names another dataset
    shutil.copytree(folder, foreign, symlinks=True)
    report = json.loads((foreign / REPORT).read_text())
    (foreign / REPORT).write_text(json.dumps(report | {"dataset_name": "another", "dataset_sha256": None}))

    app.switch_page("views/train.py").run()
    assert not app.exception, app.exception
    picker = next(s for s in app.selectbox if s.label == "Training captions")
    assert picker.options[0] == "raw (the dataset's own)" and {name, tight} <= set(picker.options)
    assert foreign.name not in picker.options
