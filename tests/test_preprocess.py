"""The preprocessing pipeline: each step does what it says, can be switched off, is cached, and
``rsic preprocess`` writes a Karpathy JSON of natural-language captions, a report and the mapping."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rsic_core.text import preprocess as preprocess_module
from rsic_core.text.guard import check_natural_language
from rsic_core.text.preprocess import PreprocessConfig, cache_key, clean_caption, count_words, preprocess
from tests.bad_inputs.text import planted_object_arrays, planted_pickle

ALL_OFF = dict(length_filter=False, sentencepiece=False, synonyms=False, cleaning=False)
CAPTIONS = [
    "a plane .",  # 2 words: too short
    "four words are here .",  # 4: too short
    "Many buildings are near a park .",  # 6: kept
    "  The   RIVER  flows\tpast the trees .",  # 6: kept, cleaned
    "a café sits beside the green square",  # 7: kept, non-ASCII dropped
    " ".join(["word"] * 20),  # 20: kept
    " ".join(["word"] * 21),  # 21: too long
]


def test_length_filter_keeps_captions_within_the_bounds_and_reports_the_drops():
    result = preprocess(CAPTIONS, PreprocessConfig(**ALL_OFF | {"length_filter": True}), use_cache=False)
    assert result.kept_index.tolist() == [2, 3, 4, 5]
    step = result.step("length_filter")
    assert (step.captions_in, step.captions_out) == (7, 4)
    assert step.details["dropped_short"] == 2 and step.details["dropped_long"] == 1
    wider = preprocess(
        CAPTIONS,
        PreprocessConfig(**ALL_OFF | {"length_filter": True, "len_min_words": 1, "len_max_words": 30}),
        use_cache=False,
    )
    assert len(wider.captions) == 7


def test_every_step_can_be_switched_off():
    result = preprocess(CAPTIONS, PreprocessConfig(**ALL_OFF), use_cache=False)
    assert result.captions == CAPTIONS
    assert [s.enabled for s in result.steps] == [False] * 4
    assert result.sentencepiece is None and result.synonyms is None


def test_cleaning_lowercases_strips_non_ascii_and_collapses_spaces():
    assert clean_caption("  The   RIVER  flows\tpast a café .") == "the river flows past a caf ."
    result = preprocess(
        CAPTIONS, PreprocessConfig(**ALL_OFF | {"cleaning": True, "length_filter": True}), use_cache=False
    )
    assert result.captions[1] == "the river flows past the trees ."
    assert all(c.isascii() and c == c.lower() for c in result.captions)


def test_sentencepiece_pieces_decode_back_to_the_captions(tmp_path, demo_dir):
    from sentencepiece import SentencePieceProcessor

    from rsic_core.data.datasets import load_dataset
    from rsic_core.text.stats import captions_of

    captions = captions_of(load_dataset(demo_dir))
    config = PreprocessConfig(**ALL_OFF | {"sentencepiece": True, "sp_vocab_size": 150})
    result = preprocess(captions, config, use_cache=False)
    sp = result.sentencepiece
    assert 50 < sp.vocab_size <= 150 and sp.vocab[0][0] == "<unk>"
    assert result.captions == captions and sp.n_changed == 0  # the step's output is text, not pieces
    pieces = sp.pieces(0)
    assert len(pieces) > 1 and "".join(pieces).replace("▁", " ").strip() == captions[0].strip()
    sp.save(tmp_path / "m.model")
    reloaded = SentencePieceProcessor(model_file=str(tmp_path / "m.model"))
    assert reloaded.decode(reloaded.encode(captions[5])) == captions[5]


def test_the_whole_pipeline_is_served_from_the_disk_cache(demo_dir):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.text.stats import captions_of

    captions = captions_of(load_dataset(demo_dir))
    config = PreprocessConfig(sp_vocab_size=200)
    first = preprocess(captions, config)
    again = preprocess(captions, config)
    assert not first.from_cache and again.from_cache
    assert again.captions == first.captions and again.report()["steps"] == first.report()["steps"]
    assert first.guard.ok, first.guard.summary()
    # Everything the pages and the CLI read comes back the same from the data-only cache.
    assert again.kept_index.tolist() == first.kept_index.tolist() and again.before_synonyms == first.before_synonyms
    assert again.guard == first.guard and again.steps == first.steps and again.config == first.config
    sp, cached_sp = first.sentencepiece, again.sentencepiece
    assert (
        cached_sp.model_proto == sp.model_proto and cached_sp.vocab == sp.vocab and cached_sp.pieces(3) == sp.pieces(3)
    )
    assert cached_sp.processor().decode(cached_sp.processor().encode(captions[0])) == captions[0]
    syn, cached_syn = first.synonyms, again.synonyms
    assert cached_syn.mapping.equals(syn.mapping) and cached_syn.applied_map() == syn.applied_map()
    assert cached_syn.words == syn.words and cached_syn.labels.tolist() == syn.labels.tolist()
    np.testing.assert_array_equal(cached_syn.embeddings, syn.embeddings)
    changed = preprocess(captions, PreprocessConfig(sp_vocab_size=200, len_max_words=8))
    assert not changed.from_cache and len(changed.captions) < len(first.captions)


def test_a_missing_embedder_is_reported_and_the_other_steps_still_run():
    config = PreprocessConfig(syn_embedder="/nonexistent/embedder", sentencepiece=False)
    result = preprocess(CAPTIONS, config, use_cache=False)
    notes = result.step("synonyms").notes
    assert notes and "embedder is unavailable" in notes[0]
    assert len(result.captions) == 4 and result.captions[1] == "the river flows past the trees ."


def test_min_words_above_max_words_is_refused():
    with pytest.raises(ValueError, match="min words"):
        preprocess(CAPTIONS, PreprocessConfig(len_min_words=9, len_max_words=3), use_cache=False)


def test_cli_writes_a_karpathy_json_of_natural_captions_a_report_and_the_mapping(tmp_path, demo_dir, capsys):
    from rsic_core.cli import main
    from rsic_core.data.datasets import load_dataset

    out = tmp_path / "out"
    code = main(
        [
            "preprocess",
            str(demo_dir),
            "--out",
            str(out),
            "--sp-vocab-size",
            "200",
            "--syn-eps",
            "0.4",
            "--len-max-words",
            "12",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "synonyms" in printed and "look like natural language" in printed
    original, processed = load_dataset(demo_dir), load_dataset(out)
    assert [r.image_id for r in processed.records] == [r.image_id for r in original.records]
    assert [r.split for r in processed.records] == [r.split for r in original.records]
    captions = [c for r in processed.records for c in r.captions]
    assert captions and all(5 <= count_words(c) <= 12 for c in captions)
    assert check_natural_language(captions).ok
    report = json.loads((out / "preprocess_report.json").read_text())
    assert report["config"]["syn_eps"] == 0.4 and [s["name"] for s in report["steps"]] == [
        "length_filter",
        "sentencepiece",
        "synonyms",
        "cleaning",
    ]
    with open(out / "synonym_mapping.csv") as f:
        header = next(csv.reader(f))
    assert header == [
        "variant",
        "canonical",
        "cluster",
        "variant_count",
        "canonical_count",
        "similarity",
        "relation",
        "applied",
    ]
    assert (out / "sentencepiece.model").is_file()


def test_cli_says_plainly_when_the_dataset_is_missing(tmp_path, capsys):
    from rsic_core.cli import main

    assert main(["preprocess", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


SMALL = PreprocessConfig(sp_vocab_size=40, synonyms=False)


def test_the_disk_cache_holds_data_only(tmp_path, monkeypatch):
    from sentencepiece import SentencePieceProcessor

    monkeypatch.setenv("RSIC_HOME", str(tmp_path))
    preprocess(CAPTIONS, SMALL)
    (folder,) = (tmp_path / "cache" / "preprocess").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "arrays.npz",
        "captions.json",
        "result.json",
        "sentencepiece.model",
    ]
    assert json.loads((folder / "result.json").read_text())["format"] == preprocess_module.CACHE_VERSION
    captions = json.loads((folder / "captions.json").read_text())
    assert captions["captions"] == preprocess(CAPTIONS, SMALL, use_cache=False).captions
    sp = SentencePieceProcessor(model_file=str(folder / "sentencepiece.model"))
    assert sp.decode(sp.encode(CAPTIONS[2])) == CAPTIONS[2]
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
        assert {name: arrays[name].dtype.kind for name in arrays.files} == {
            "kept_index": "i",
            "sp_ids": "i",
            "sp_offsets": "i",
        }


def test_a_planted_pickle_never_runs_and_the_result_is_computed_fresh(tmp_path, monkeypatch):
    """A pickle at the old path (<key>.pkl), object arrays or a pickle in the cache folder: nothing runs."""
    monkeypatch.setenv("RSIC_HOME", str(tmp_path / "home"))
    marker = tmp_path / "code-ran"
    expected = preprocess(CAPTIONS, SMALL, use_cache=False).captions
    cache = tmp_path / "home" / "cache" / "preprocess"
    cache.mkdir(parents=True)
    for version in (5, preprocess_module.CACHE_VERSION):  # where the pickle cache was read, then and now
        monkeypatch.setattr(preprocess_module, "CACHE_VERSION", version)  # ends at the current version
        (cache / f"{cache_key(CAPTIONS, SMALL)}.pkl").write_bytes(planted_pickle(marker))
    result = preprocess(CAPTIONS, SMALL)
    assert not marker.exists() and not result.from_cache and result.captions == expected
    folder = cache / cache_key(CAPTIONS, SMALL)
    assert (folder / "arrays.npz").is_file()

    planted_object_arrays(folder / "arrays.npz", marker, ("kept_index", "sp_ids", "sp_offsets"))
    result = preprocess(CAPTIONS, SMALL)
    assert not marker.exists() and not result.from_cache and result.captions == expected
    assert "ignored an unreadable cache folder" in result.notes[0] and "allow_pickle=False" in result.notes[0]
    again = preprocess(CAPTIONS, SMALL)  # the ignored folder was replaced by a good one
    assert again.from_cache and again.captions == expected and again.notes == []

    (folder / "result.json").write_bytes(planted_pickle(marker))
    result = preprocess(CAPTIONS, SMALL)
    assert not marker.exists() and not result.from_cache and result.captions == expected and result.notes


def test_a_cache_folder_of_another_run_or_format_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_HOME", str(tmp_path))
    expected = preprocess(CAPTIONS, SMALL).captions
    (folder,) = (tmp_path / "cache" / "preprocess").iterdir()
    meta = json.loads((folder / "result.json").read_text())
    (folder / "result.json").write_text(json.dumps(meta | {"format": 5}))
    result = preprocess(CAPTIONS, SMALL)
    assert not result.from_cache and result.captions == expected and "another version" in result.notes[0]
    other = PreprocessConfig(sp_vocab_size=41, synonyms=False)  # a folder holding another config's run
    meta = json.loads((folder / "result.json").read_text())
    (folder / "result.json").write_text(json.dumps(meta | {"config": meta["config"] | {"sp_vocab_size": 41}}))
    result = preprocess(CAPTIONS, SMALL)
    assert not result.from_cache and result.config == SMALL != other and "another run" in result.notes[0]
    assert not list(folder.parent.glob(".*"))  # no temporary folder left behind


def test_a_cache_that_cannot_be_written_is_noted_and_the_result_still_comes(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "preprocess").write_text("a file where the cache folder goes")
    monkeypatch.setenv("RSIC_HOME", str(tmp_path))
    result = preprocess(CAPTIONS, SMALL)
    assert len(result.captions) == 4 and "could not write the preprocessing cache" in result.notes[0]


def test_home_and_statistics_count_the_same_repeated_references(tmp_path):
    """A reference repeated with other capitals or spacing counts on both pages alike (they said 470 and 469)."""
    import json

    from PIL import Image

    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.validation import validate
    from rsic_core.text.stats import duplicate_references

    (tmp_path / "images").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "images" / "a.jpg")
    refs = ["a red  roof", "A red roof", "a red roof ", "two planes", "two planes"]
    entry = {"filename": "a.jpg", "imgid": 0, "split": "train", "sentences": [{"raw": r} for r in refs]}
    (tmp_path / "dataset_x.json").write_text(json.dumps({"images": [entry], "dataset": "x"}))
    home = validate(load_dataset(tmp_path), check_images=False).duplicate_captions
    statistics = int(duplicate_references(load_dataset(tmp_path))["duplicates"].sum())
    assert home == statistics == 3
