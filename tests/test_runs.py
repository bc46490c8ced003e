"""Run folders round-trip and older/partial runs still load."""

from __future__ import annotations

import json
import math

import pytest

from rsic_core.runs import layout as runs
from tests.support.scoring import PREDICTIONS, REFERENCES, write_run


def test_a_written_run_reads_back_with_its_scores(tmp_path, corpus_scores):
    folder = write_run(
        tmp_path, "zero shot", corpus_scores, efficiency={"params_total": 6_700_000, "gflops_per_image": 1.5}
    )
    run = runs.load_run(folder)
    assert run.name == "zero shot" and not run.problems
    assert run.corpus["CIDEr"] == pytest.approx(corpus_scores.corpus["CIDEr"])
    assert run.metrics["embedder"] == "all-MiniLM-L6-v2 (packaged)"
    frame = run.predictions_frame()
    assert len(frame) == len(PREDICTIONS)
    row = frame.set_index("image_id").loc["harbor_2.jpg"]
    assert row["prediction"] == PREDICTIONS["harbor_2.jpg"] and list(row["references"]) == REFERENCES["harbor_2.jpg"]
    assert row["BLEU-4"] == pytest.approx(corpus_scores.per_image["harbor_2.jpg"]["BLEU-4"])
    # every line of predictions.jsonl is standard JSON (no NaN) with the documented keys
    lines = (folder / runs.PREDICTIONS).read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert {"image_id", "split", "label", "prediction", "references", "scores"} <= set(first)


def test_list_runs_and_table(tmp_path, corpus_scores):
    write_run(tmp_path, "zero-shot", corpus_scores, efficiency={"params_total": 6_700_000, "latency_s_per_image": 0.02})
    write_run(tmp_path, "lora r8", corpus_scores, adapter="/adapters/r8")
    found = runs.list_runs(tmp_path)
    assert sorted(r.name for r in found) == ["lora r8", "zero-shot"]
    assert all(not r.predictions for r in found)  # listing does not read predictions
    table = runs.runs_table(found).set_index("run")
    assert table.loc["lora r8", "adapter"] == "/adapters/r8" and table.loc["zero-shot", "adapter"] == "(zero-shot)"
    assert table.loc["zero-shot", "params (M)"] == pytest.approx(6.7)
    assert table.loc["zero-shot", "latency (ms/image)"] == pytest.approx(20)
    assert math.isnan(table.loc["lora r8", "params (M)"])
    assert table.loc["zero-shot", "METEOR"] == pytest.approx(corpus_scores.corpus["METEOR"])


def test_older_and_broken_runs_load_leniently(tmp_path):
    old = tmp_path / "old-run"
    old.mkdir()
    (old / "predictions.jsonl").write_text(
        '{"image": "1.tif", "caption": "a river"}\nnot json\n\n{"image_id": "2.tif", "prediction": "x", "scores": {"CIDEr": null}}\n',
        encoding="utf-8",
    )
    (old / "metrics.json").write_text("{broken", encoding="utf-8")
    run = runs.load_run(old)
    assert [p.image_id for p in run.predictions] == ["1.tif", "2.tif"]
    assert run.predictions[0].prediction == "a river" and run.predictions[0].references == []
    assert run.name == "old-run" and run.corpus == {}
    assert any("line 2" in p for p in run.problems) and any("metrics.json" in p for p in run.problems)
    assert math.isnan(run.predictions_frame().loc[1, "CIDEr"])
    assert [r.name for r in runs.list_runs(tmp_path)] == ["old-run"]
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        runs.load_run(tmp_path / "absent")


def test_run_folders_get_unique_safe_names(tmp_path):
    a = runs.new_run_dir("PaliGemma 3B / LoRA r=8", tmp_path)
    b = runs.new_run_dir("PaliGemma 3B / LoRA r=8", tmp_path)
    assert a != b and a.parent == tmp_path and "/" not in a.name and " " not in a.name


def _rescope(folder, n_images: int, split: str) -> None:
    """Mark a written run as scored on another image set (as a smaller evaluation would be)."""
    metrics = json.loads((folder / runs.METRICS).read_text(encoding="utf-8"))
    config = json.loads((folder / runs.CONFIG).read_text(encoding="utf-8"))
    runs.write_json(folder, runs.METRICS, {**metrics, "n_images": n_images})
    runs.write_json(folder, runs.CONFIG, {**config, "split": split})


def test_runs_scored_on_different_image_sets_are_named_in_a_warning(tmp_path, corpus_scores):
    a = write_run(tmp_path, "zero-shot", corpus_scores)
    b = write_run(tmp_path, "lora r8", corpus_scores, adapter="/adapters/r8")
    assert runs.image_set_warning(runs.list_runs(tmp_path)) is None  # same split, same images
    assert list(runs.runs_table(runs.list_runs(tmp_path))["folder"]) != list(
        runs.runs_table(runs.list_runs(tmp_path))["run"]
    )

    _rescope(a, 12, "val")
    warning = runs.image_set_warning(runs.list_runs(tmp_path))
    assert warning and f"{a.name} (val split, 12 images)" in warning and f"{b.name} (test split, 10 images)" in warning

    _rescope(a, 10, "test")  # same split and count, but other images: told apart by their ids
    same, other = runs.load_run(a), runs.load_run(b)
    other.predictions[0].image_id = "another.jpg"
    assert runs.image_set_warning([same, runs.load_run(b)]) is None
    assert a.name in runs.image_set_warning([same, other])
