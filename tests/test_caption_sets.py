"""Training on a preprocessed caption set: its captions are the targets, the dataset's own references score the
run, the run records the set; id-like sets and other datasets' sets are refused; the grid crosses captions."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from rsic_core.data.caption_sets import REPORT, read_caption_set, train_targets, write_caption_set
from rsic_core.data.datasets import load_dataset
from rsic_core.text.preprocess import PreprocessConfig, preprocess
from rsic_core.training import jobs
from rsic_core.training.trainer import train
from tests.support.training import quick_config, write_dataset

CLEANING_ONLY = PreprocessConfig(length_filter=False, sentencepiece=False, synonyms=False, cleaning=True)
SUFFIX = "seen from above"  # no raw caption of the demo data says it
ID_LIKE = ["one", "twenty-two", "-1", "seventy-one", "-1", "forty-six", "109", "3"]


def _write_set(dataset, folder: Path, rewrite) -> Path:
    """A caption set of ``dataset`` written by the library writer, its captions rewritten by ``rewrite(i, caption)``."""
    captions = [c for r in dataset.records for c in r.captions]
    result = preprocess(captions, CLEANING_ONLY, use_cache=False)
    result = replace(result, captions=[rewrite(i, c) for i, c in enumerate(result.captions)])
    return write_caption_set(dataset, result, folder).folder


def _one_sentence(message: str) -> bool:
    return "\n" not in message and not re.search(r"[.;:]\s+[A-Z]", message)


@pytest.fixture
def demo(demo_dir):
    return load_dataset(demo_dir)


def test_training_on_a_set_takes_its_targets_and_scores_against_the_original_references(
    tiny_model_dir, tmp_path, demo, monkeypatch, one_thread
):
    from rsic_core.runs.layout import load_run
    from rsic_core.runs.tables import runs_table
    from rsic_core.training.collators import CaptionCollator

    folder = _write_set(demo, tmp_path / "above", lambda i, c: f"{c.rstrip(' .')} {SUFFIX}")
    seen: list[str] = []
    encode = CaptionCollator.encode
    monkeypatch.setattr(
        CaptionCollator,
        "encode",
        lambda self, images, captions: seen.extend(captions) or encode(self, images, captions),
    )

    run_dir = train(quick_config(tiny_model_dir, tmp_path, train_captions=str(folder), max_steps=2, predict_limit=4))

    assert jobs.read_status(run_dir)["state"] == "completed"
    assert len(seen) >= 8 and all(c.endswith(SUFFIX) for c in seen), seen  # the set's captions were the targets
    run = load_run(run_dir)
    assert len(run.predictions) == 4
    for row in run.predictions:  # scored against the dataset's own references, not the set's
        assert row.references == demo.get(row.image_id).captions
        assert not any(SUFFIX in r for r in row.references)
    recorded = json.loads((run_dir / "config.json").read_text())
    annotation = next(folder.glob("dataset_*.json"))
    assert recorded["train_captions"] == str(folder)
    assert recorded["train_captions_set"]["path"] == str(folder) and recorded["train_captions_set"]["name"] == "above"
    assert recorded["train_captions_set"]["sha256"] == hashlib.sha256(annotation.read_bytes()).hexdigest()
    assert recorded["train_captions_set"]["config"] == json.loads((folder / REPORT).read_text())["config"]
    assert recorded["train_captions_set"]["config"]["synonyms"] is False
    assert runs_table([run])["captions"].tolist() == ["above"]


def test_the_guard_refuses_a_set_of_id_like_targets_before_any_step(tiny_model_dir, tmp_path, demo):
    folder = _write_set(demo, tmp_path / "ids", lambda i, c: ID_LIKE[i % len(ID_LIKE)])
    config = quick_config(tiny_model_dir, tmp_path, train_captions=str(folder), train_limit=0)
    with pytest.raises(ValueError, match="not natural language"):
        train(config)
    assert not (Path(config.output_dir) / jobs.STEP_LOG).exists()


def test_a_set_made_from_another_dataset_is_refused_in_one_sentence(tiny_model_dir, tmp_path):
    small = load_dataset(write_dataset(tmp_path / "small", ["a red roof beside a road", "a green park with trees"] * 4))
    other = load_dataset(write_dataset(tmp_path / "other", ["a grey road beside a field of crops"] * 8))
    other.name = "other"
    folder = _write_set(other, tmp_path / "other-set", lambda i, c: c)
    config = quick_config(tiny_model_dir, tmp_path, data=str(small.root), train_captions=str(folder), train_limit=0)
    with pytest.raises(ValueError) as refused:  # its report names another dataset
        train(config)
    message = str(refused.value)
    assert message.startswith(f"{folder / REPORT}: entry 'dataset_name'") and "made from other" in message
    assert _one_sentence(message), message

    report = json.loads((folder / REPORT).read_text())  # an older set: no source named, its entries tell
    (folder / REPORT).write_text(json.dumps({k: v for k, v in report.items() if not k.startswith("dataset_")}))
    (folder / "dataset_other_processed.json").write_text(
        (folder / "dataset_other_processed.json").read_text().replace('"img_0.jpg"', '"elsewhere_0.jpg"')
    )
    with pytest.raises(ValueError) as refused:
        train(replace(config, output_dir=str(tmp_path / "run2")))
    message = str(refused.value)
    assert message.startswith(f"{folder / 'dataset_other_processed.json'}: images[0] (elsewhere_0.jpg) is not an image")
    assert "made from another dataset" in message and _one_sentence(message), message


def test_training_images_without_a_caption_in_the_set_are_counted_or_refused(tmp_path, demo):
    folder = _write_set(demo, tmp_path / "s", lambda i, c: c)
    caption_set = read_caption_set(folder)
    train_records = demo.select(split="train")
    for record in train_records[:3]:
        caption_set.captions[record.image_id] = []  # all its captions dropped by the length filter
    del caption_set.captions[train_records[3].image_id]  # no entry at all
    targets, note = train_targets(caption_set, demo, train_records)
    assert len(targets) == len(train_records) - 4
    assert note.startswith(f"4 of {len(train_records)} train images have no caption in caption set s")
    assert "1 without an entry, 3 emptied by preprocessing" in note

    for record in train_records:
        caption_set.captions[record.image_id] = []
    with pytest.raises(ValueError, match=r"none of the \d+ train images of .* has a caption in this set") as refused:
        train_targets(caption_set, demo, train_records)
    assert str(refused.value).startswith(str(caption_set.annotation_file)) and _one_sentence(str(refused.value))


def test_grid_captions_axis_gives_one_row_per_captions(tiny_model_dir, tmp_path, demo, one_thread):
    from rsic_core.cli.train import parse_config
    from rsic_core.training.experiments import GridConfig, run_grid

    folder = _write_set(demo, tmp_path / "above", lambda i, c: f"{c.rstrip(' .')} {SUFFIX}")
    _, grid = parse_config(["--captions", f"raw,{folder}", "--grid-r", "2", "--grid-alpha", "4"], GridConfig)
    assert grid.grid_captions == f"raw,{folder}"
    base = quick_config(
        tiny_model_dir,
        tmp_path,
        name="c",
        max_steps=1,
        save_steps=1,
        predict_limit=2,
        output_dir="",
        gen_max_new_tokens=6,
    )
    result = run_grid(base, replace(grid, grid_dropout="0", grid_zero_shot=False))

    table = result.table
    assert table["run"].tolist() == ["c-r2-a4-d0-raw", "c-r2-a4-d0-above"]
    assert table["captions"].tolist() == ["raw", "above"]
    assert table["CIDEr"].notna().all()
    assert "| captions |" in (result.folder / "table.md").read_text().splitlines()[0]

    with pytest.raises(FileNotFoundError, match="not a preprocessed caption set"):
        run_grid(base, GridConfig(grid_r="2", grid_captions=f"raw,{tmp_path}"))


def test_preprocess_refuses_a_folder_that_already_holds_a_set(tmp_path, demo_dir, capsys):
    from rsic_core.cli import main

    out = tmp_path / "out"
    out.mkdir()
    (out / REPORT).write_text("{}")
    assert main(["preprocess", str(demo_dir), "--out", str(out)]) == 2
    assert "already holds a caption set (preprocess_report.json)" in capsys.readouterr().err
    assert (out / REPORT).read_text() == "{}"  # nothing overwritten
