"""Annotation text as users bring it: unclosed quotes, Latin-1 and BOM files, missing splits, deep JSON, long names."""

from __future__ import annotations

import json

import pytest

from rsic_core.data.datasets import load_dataset
from tests.support.datasets import FIVE, jpg, karpathy


def test_an_unclosed_quote_names_every_row_it_swallowed(tmp_path):
    (tmp_path / "captions.csv").write_text(
        "image,caption,split\n"
        "a.png,a red roof,train\n"
        'b.png,"a river,test\n'  # the quote is never closed: rows 3-6 become one field
        "c.png,a bridge,train\n"
        "d.png,a farm,val\n"
        "e.png,a road,test\n"
    )
    ds = load_dataset(tmp_path)
    assert [r.image_id for r in ds.records] == ["a.png"]
    [quote] = [p for p in ds.problems if "quote" in p.message]
    assert quote.entry == "rows 3-6" and "unclosed quote" in quote.message and "4 rows" in quote.message


def test_a_quote_closed_rows_later_names_the_rows_read_as_one(tmp_path):
    (tmp_path / "captions.csv").write_text(
        'image,caption,split\na.png,a red roof,train\nb.png,"a river,test\nc.png,a "bridge",train\nd.png,a farm,val\n'
    )
    ds = load_dataset(tmp_path)
    assert [r.image_id for r in ds.records] == ["a.png", "d.png"]
    [joined] = [p for p in ds.problems if "quote" in p.message]
    assert joined.entry == "rows 3-4" and "opened in row 3 closes only in row 4" in joined.message


def test_a_multiline_caption_in_closed_quotes_is_one_row(tmp_path):
    (tmp_path / "captions.csv").write_text('image,caption,split\na.png,"two lines\nof caption",train\nb.png,x,val\n')
    jpg(tmp_path / "a.png")
    jpg(tmp_path / "b.png")
    ds = load_dataset(tmp_path)
    assert ds.get("a.png").captions == ["two lines\nof caption"] and ds.get("b.png").split == "val"
    assert ds.problems == []


def test_latin1_and_bom_files_are_read_and_the_guess_is_said(tmp_path):
    (tmp_path / "bom").mkdir()
    karpathy(tmp_path / "bom", [("a.jpg", "train", ["a café by the road"])])
    file = tmp_path / "bom" / "dataset_rsicd.json"
    file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes())
    ds = load_dataset(file)
    assert ds.records[0].captions == ["a café by the road"]
    assert not [p for p in ds.problems if p.entry == "encoding"]

    (tmp_path / "latin").mkdir()
    (tmp_path / "latin" / "captions.csv").write_bytes(
        "image,caption,split\na.png,a café by the road,train\n".encode("latin-1")
    )
    ds = load_dataset(tmp_path / "latin")
    assert ds.records[0].captions == ["a café by the road"]
    [guess] = [p for p in ds.problems if p.entry == "encoding"]
    assert "not UTF-8" in guess.message and "read as Windows-1252, a guess" in guess.message

    (tmp_path / "latin-json").mkdir()
    karpathy(tmp_path / "latin-json", [("a.jpg", "train", ["a café"])])
    file = tmp_path / "latin-json" / "dataset_rsicd.json"
    file.write_bytes(file.read_text().encode("utf-8").decode("unicode_escape").encode("latin-1"))
    ds = load_dataset(file)
    assert ds.records[0].captions == ["a café"] and any(p.entry == "encoding" for p in ds.problems)


def test_a_missing_split_is_said_once_for_the_dataset(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "captions.csv").write_text("image,caption\na.png,a roof\nb.png,a river\nc.png,a farm\n")
    ds = load_dataset(tmp_path / "csv")
    assert ds.split_counts() == {"train": 3}
    assert [str(p) for p in ds.problems if p.entry == "split"] == [
        f"{tmp_path / 'csv' / 'captions.csv'}: split: no 'split' column: all 3 images put in train"
    ]
    karpathy(tmp_path / "json", [("a.jpg", "test", FIVE), ("b.jpg", "", FIVE), ("c.jpg", "", FIVE)])
    ds = load_dataset(tmp_path / "json")
    assert ds.split_counts() == {"train": 2, "test": 1}
    assert [p.message for p in ds.problems if p.entry == "split"] == ["2 of 3 images have no 'split': put in train"]


def test_deep_json_and_names_over_255_bytes_are_one_sentence(tmp_path):
    (tmp_path / "dataset_deep.json").write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match=r"dataset_deep\.json: JSON nested too deeply"):
        load_dataset(tmp_path / "dataset_deep.json")
    (tmp_path / "rows.jsonl").write_text(
        json.dumps({"image": "a.png", "caption": "a roof"}) + "\n" + '{"image": ' + "[" * 100_000 + "\n"
    )
    ds = load_dataset(tmp_path / "rows.jsonl")
    assert [p.message for p in ds.problems if p.entry == "line 2"] == ["JSON nested too deeply; skipped"]
    long = tmp_path / ("a" * 300 + ".json")
    with pytest.raises(FileNotFoundError, match=r"the file name is too long \(a name may have at most 255 bytes\)"):
        load_dataset(long)
    karpathy(tmp_path / "named", [("b" * 300 + ".jpg", "train", FIVE)])
    ds = load_dataset(tmp_path / "named")
    assert [p.message for p in ds.problems] == ["image file is missing"]
    assert load_dataset(tmp_path / "named", image_dir=tmp_path / ("c" * 300)).records[0].has_image is False


def test_a_jsonl_whose_first_line_is_broken_is_still_read(tmp_path):
    good = json.dumps({"image": "a.png", "caption": "a red roof", "split": "train"})
    (tmp_path / "rows.jsonl").write_text("{broken\n" + good + "\n")
    jpg(tmp_path / "a.png")
    ds = load_dataset(tmp_path / "rows.jsonl")
    assert [r.image_id for r in ds.records] == ["a.png"]
    assert [(p.entry, p.message.startswith("not valid JSON")) for p in ds.problems] == [("line 1", True)]
