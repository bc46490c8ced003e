"""Run folders round-trip, older/partial runs still load, and RunLayout names their files."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from rsic_core.runs import layout as runs
from rsic_core.runs import plots, tables
from rsic_core.runs.layout import RunKind, RunLayout, RunStatus
from rsic_core.scoring.scale import as_percent, format_score
from rsic_core.scoring.scale import shown as shown_score
from rsic_core.training import jobs
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
    lines = RunLayout(folder).predictions.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert {"image_id", "split", "label", "prediction", "references", "scores"} <= set(first)


def test_list_runs_and_table(tmp_path, corpus_scores):
    write_run(tmp_path, "zero-shot", corpus_scores, efficiency={"params_total": 6_700_000, "latency_s_per_image": 0.02})
    write_run(tmp_path, "lora r8", corpus_scores, adapter="/adapters/r8")
    found = runs.list_runs(tmp_path)
    assert sorted(r.name for r in found) == ["lora r8", "zero-shot"]
    assert all(not r.predictions for r in found)  # listing does not read predictions
    table = tables.runs_table(found).set_index("run")
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
    layout = RunLayout(folder)
    runs.write_json(
        folder, RunLayout.METRICS, {**json.loads(layout.metrics.read_text(encoding="utf-8")), "n_images": n_images}
    )
    layout.update_config(split=split)


def test_runs_scored_on_different_image_sets_are_named_in_a_warning(tmp_path, corpus_scores):
    a = write_run(tmp_path, "zero-shot", corpus_scores)
    b = write_run(tmp_path, "lora r8", corpus_scores, adapter="/adapters/r8")
    assert tables.image_set_warning(runs.list_runs(tmp_path)) is None  # same split, same images
    assert list(tables.runs_table(runs.list_runs(tmp_path))["folder"]) != list(
        tables.runs_table(runs.list_runs(tmp_path))["run"]
    )

    _rescope(a, 12, "val")
    warning = tables.image_set_warning(runs.list_runs(tmp_path))
    assert warning and f"{a.name} (val split, 12 images)" in warning and f"{b.name} (test split, 10 images)" in warning

    _rescope(a, 10, "test")  # same split and count, but other images: told apart by their ids
    same, other = runs.load_run(a), runs.load_run(b)
    other.predictions[0].image_id = "another.jpg"
    assert tables.image_set_warning([same, runs.load_run(b)]) is None
    assert a.name in tables.image_set_warning([same, other])


def test_run_layout_writes_and_updates_the_config_atomically(tmp_path):
    layout = RunLayout(tmp_path / "run")
    assert layout.read_config() == {} and not layout.is_run  # nothing yet, and no error
    layout.folder.mkdir()
    layout.write_config({"name": "lora r8", "kind": RunKind.TRAINING, "adapter": None})
    assert layout.is_run and layout.config_file == tmp_path / "run" / "config.json"
    config = layout.update_config(adapter=str(layout.adapter_dir), steps=4)
    assert (
        config
        == layout.read_config()
        == {
            "name": "lora r8",
            "kind": "training",
            "adapter": str(tmp_path / "run" / "adapter"),
            "steps": 4,
        }
    )
    assert [p.name for p in layout.folder.iterdir()] == ["config.json"]  # no temporary file left behind
    assert runs.load_run(layout.folder).name == "lora r8"

    layout.config_file.write_text("{half a file", encoding="utf-8")
    with pytest.raises(ValueError, match="config.json"):
        layout.update_config(steps=5)  # a broken config is not overwritten with a partial one
    assert layout.config_file.read_text(encoding="utf-8") == "{half a file"
    assert any("config.json" in p for p in runs.load_run(layout.folder).problems)


def test_run_layout_knows_the_training_files(tmp_path):
    layout = RunLayout(str(tmp_path))
    names = {
        layout.status: "status.json",
        layout.step_log: "train_log.jsonl",
        layout.val_log: "val_metrics.jsonl",
        layout.process_log: "process.log",
        layout.launch_file: "launch.json",
        layout.lora_file: "lora.json",
        layout.error_file: "error.txt",
        layout.checkpoints_dir: "checkpoints",
        layout.eval_dir: "eval",
        layout.model_dir: "model",
    }
    assert all(path == tmp_path / name for path, name in names.items())
    assert layout.val_step_dir(20) == tmp_path / "val" / "step-20"
    assert layout.rank_file(1) == tmp_path / "ranks" / "rank-1.json"
    assert (RunLayout.CONFIG, jobs.STEP_LOG) == ("config.json", "train_log.jsonl")  # names for code that joins them


def test_kinds_and_statuses_keep_the_strings_older_runs_have_on_disk(tmp_path):
    (tmp_path / "status.json").write_text(json.dumps({"state": "completed", "step": 4}), encoding="utf-8")
    assert jobs.state_of(tmp_path) == RunStatus.COMPLETED and f"{jobs.state_of(tmp_path)}" == "completed"
    jobs.write_status(tmp_path, RunStatus.CANCELLED, "cancelled at step 4")
    on_disk = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))
    assert on_disk["state"] == "cancelled" and on_disk["step"] == 4  # the keys it had are kept
    with pytest.raises(ValueError):
        jobs.write_status(tmp_path, "paused")  # not a status
    (tmp_path / "status.json").write_text(json.dumps({"state": "paused"}), encoding="utf-8")
    assert jobs.state_of(tmp_path) == RunStatus.UNKNOWN  # a newer version's state reads, it does not raise
    assert RunKind("scored file") is RunKind.SCORED_FILE and str(RunKind.TRAINING_EVAL) == "training-eval"


def test_a_running_run_whose_process_is_gone_died(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # exited and reaped: its pid names no process
    jobs.write_status(tmp_path, RunStatus.RUNNING, "step 2 of 4", pid=gone.pid)
    assert jobs.state_of(tmp_path) == RunStatus.DIED and not jobs.is_alive(tmp_path)
    assert RunStatus.RUNNING.active and not RunStatus.DIED.active and set(jobs.ACTIVE) == {"queued", "running"}
    RunLayout(tmp_path).write_config({"name": "lora", "kind": RunKind.TRAINING, "split": "val"})
    assert tables.runs_table([runs.load_run(tmp_path)]).iloc[0]["status"] == "died"  # the Runs page, not "running"


def test_the_layout_and_jobs_load_no_heavy_package():
    code = "import sys, rsic_core.training.jobs; print(sorted({'torch', 'transformers', 'pandas'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_scores_print_x100_in_one_place(tmp_path, corpus_scores):
    assert as_percent(0.4312) == pytest.approx(43.12) and as_percent(None) is None and math.isnan(as_percent(math.nan))
    assert as_percent({"CIDEr": 0.9, "step": 20}) == {"CIDEr": pytest.approx(90.0), "step": 20}
    write_run(tmp_path, "zero-shot", corpus_scores, efficiency={"params_total": 6_700_000})
    table = tables.runs_table(runs.list_runs(tmp_path))
    shown = as_percent(table)
    assert shown.loc[0, "CIDEr"] == pytest.approx(100 * corpus_scores.corpus["CIDEr"])
    assert shown.loc[0, "params (M)"] == table.loc[0, "params (M)"] == pytest.approx(6.7)  # costs keep their units
    assert table.loc[0, "CIDEr"] == pytest.approx(corpus_scores.corpus["CIDEr"])  # the input is not changed
    with pytest.raises(ValueError, match="SPICE"):
        as_percent(table, ["SPICE"])
    # one number of decimals for every score shown: no 0.000000006
    assert format_score(2.3e-9) == "0.00" and format_score(0.43125) == "43.12" and format_score(None) == "\u2013"
    assert shown_score(1.4e-12) == 0.0 and list(shown_score(table["CIDEr"])) == [round(100 * table.loc[0, "CIDEr"], 2)]


def test_efficiency_figure_has_one_labelled_point_per_costed_run_from_zero(tmp_path, corpus_scores):
    write_run(tmp_path, "zero-shot", corpus_scores, efficiency={"latency_s_per_image": 0.015})
    write_run(tmp_path, "lora-r8", corpus_scores, adapter="adapters/r8", efficiency={"latency_s_per_image": 0.02})
    write_run(tmp_path, "no-report", corpus_scores)  # no efficiency.json: not plotted
    table = tables.runs_table(runs.list_runs(tmp_path))
    figure = plots.efficiency_figure(table, "latency (ms/image)", "CIDEr")
    (points,) = figure.data
    assert sorted(points.text) == ["lora-r8", "zero-shot"] and sorted(points.x) == pytest.approx([15, 20])
    assert list(points.y) == pytest.approx([100 * corpus_scores.corpus["CIDEr"]] * 2)  # the Runs page's x100
    x, y = figure.layout.xaxis, figure.layout.yaxis
    assert x.range[0] == 0 and x.range[1] > 20 and y.range[0] == 0 and y.range[1] > max(points.y)
    assert "x100" in y.title.text and points.cliponaxis is False  # run names are not cut at the edges
    with pytest.raises(ValueError, match="No run has both GFLOPs/image"):
        plots.efficiency_figure(table, "GFLOPs/image", "CIDEr")
    assert plots.axis_range([-2.0, 4.0])[0] < -2.0  # a negative value (a delta) stays inside the axis


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    from pathlib import Path

    runs.write_json(tmp_path, "metrics.json", {"corpus": {"CIDEr": 0.5}})
    real_write = Path.write_text

    def disk_full(self, text, *args, **kwargs):  # half the text reaches the disk, then it is full
        real_write(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runs.write_json(tmp_path, "metrics.json", {"corpus": {"CIDEr": 0.9}})
    monkeypatch.undo()
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8")) == {"corpus": {"CIDEr": 0.5}}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_lone_surrogate_is_written_and_read_back_as_it_was(tmp_path):
    odd = "a roof \ud800 near a road"
    runs.write_predictions(tmp_path, [runs.PredictionRow("a.jpg", "a roof", [odd, "a red roof"])])
    runs.write_json(tmp_path, "metrics.json", {"notes": [odd]})
    assert runs.load_run(tmp_path).predictions[0].references == [odd, "a red roof"]
    assert runs.read_json_object(tmp_path / "metrics.json")["notes"] == [odd]
    runs.write_predictions(tmp_path, [runs.PredictionRow("b.jpg", "un toit près d'une route", ["x"])])
    assert "près" in RunLayout(tmp_path).predictions.read_text(encoding="utf-8")  # other text stays readable


def test_a_folder_tells_what_kind_of_run_it_holds(tmp_path, corpus_scores):
    assert RunLayout(tmp_path / "new").kind is None and RunLayout(tmp_path).kind is None
    evaluation = write_run(tmp_path, "zero-shot", corpus_scores)
    assert RunLayout(evaluation).kind == RunKind.EVALUATION and not RunLayout(evaluation).foreign
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "paligemma"}))
    assert RunLayout(model).kind == "unknown" and RunLayout(model).foreign  # nothing may replace it
    old = tmp_path / "old"
    old.mkdir()
    (old / "predictions.jsonl").write_text('{"image": "1.tif", "caption": "a river"}\n')
    assert RunLayout(old).kind == "unknown" and not RunLayout(old).foreign
    with pytest.raises(ValueError, match="config.json is a file, not a folder: give a folder for --out"):
        runs.make_folder(model / "config.json" / "run", "--out")


def test_a_file_to_score_is_read_strictly_and_a_run_folder_leniently(tmp_path, corpus_scores):
    from rsic_core.runs.records import read_prediction_file

    folder = write_run(tmp_path, "zero-shot", corpus_scores)
    written = RunLayout(folder).predictions
    assert [r.image_id for r in read_prediction_file(written)] == list(PREDICTIONS)  # the project's own rows pass
    old = tmp_path / "old.jsonl"
    old.write_text('{"image": 7, "caption": "a river", "references": ["a river"]}\n\n')
    (row,) = read_prediction_file(old)
    assert (row.image_id, row.prediction, row.references) == ("7", "a river", ["a river"])
    old.write_text('{"image_id": "a", "prediction": "x", "references": "a river"}\n')
    with pytest.raises(ValueError, match="old.jsonl: line 1: references must be a list of captions"):
        read_prediction_file(old)
    rows, problems = runs.read_predictions(old)  # a run folder's reader never raises
    assert rows[0].references == ["a river"] and not problems  # one caption, never split into characters


def test_every_run_is_shown_with_its_dataset_split_model_and_adapter(tmp_path, corpus_scores):
    from rsic_core.paths import DEMO_MODEL

    a = write_run(tmp_path, "demo-zero-shot", corpus_scores)
    b = write_run(tmp_path, "demo-zero-shot", corpus_scores)
    RunLayout(a).update_config(model=str(DEMO_MODEL), dataset_name="ucm-sample", data="/data/ucm/dataset_ucm.json")
    RunLayout(b).update_config(model=str(DEMO_MODEL), dataset_name="demo", data="/home/demo/captions.csv")
    found = {r.path: r for r in runs.list_runs(tmp_path)}
    labels = {tables.run_label(found[a]), tables.run_label(found[b])}
    assert len(labels) == 2  # same name, told apart
    assert tables.run_label(found[a]).startswith("demo-zero-shot \u00b7 ucm-sample/test \u00b7 demo \u00b7 (zero-shot)")
    table = tables.runs_table(found.values()).set_index("folder")
    assert table.loc[a.name, "data"] == "ucm-sample" and table.loc[b.name, "data"] == "demo"
    assert table.loc[a.name, "model"] == "demo" and table.loc[a.name, "status"] == "scored"

    train = tmp_path / "lora"
    RunLayout(train).folder.mkdir()
    RunLayout(train).write_config({"name": "lora", "kind": RunKind.TRAINING, "adapter": None, "split": "val"})
    RunLayout(train).update_status(state=RunStatus.FAILED, message="out of memory")
    row = tables.runs_table([runs.load_run(train)]).iloc[0]
    assert row["status"] == "failed" and row["adapter"] == "(none yet)"  # not a "(zero-shot)" row without scores
    assert " \u00b7 captions raw \u00b7 " in tables.run_label(runs.load_run(train))  # two runs named lora, told apart
    RunLayout(train).update_config(train_captions="/home/me/captions/ucm-w5-20")
    assert " \u00b7 captions ucm-w5-20 \u00b7 " in tables.run_label(runs.load_run(train))


def test_every_run_names_its_data_by_a_name_never_a_path():
    from rsic_core.runs.tables import dataset_label

    assert dataset_label({"dataset_name": "ucm-captions-trainval", "data": "/data/ucm"}) == "ucm-captions-trainval"
    assert dataset_label({"kind": "training", "data": "/home/me/data/ucm-captions/"}) == "ucm-captions"  # stopped early
    assert dataset_label({"kind": "training", "data": ""}) == "demo"  # the demo dataset is an empty path
    assert dataset_label({}) == "?"


def test_a_running_run_is_neither_cleared_nor_reopened_a_dead_one_is_both(tmp_path):
    from rsic_core.runs.folders import open_run_folder

    folder = tmp_path / "lora"
    (folder / "checkpoint-2").mkdir(parents=True)
    RunLayout(folder).write_config({"name": "lora", "kind": RunKind.TRAINING, "split": "val"})
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        jobs.write_status(folder, RunStatus.RUNNING, "step 2 of 4", pid=alive.pid)
        for overwrite in (True, False):
            with pytest.raises(ValueError, match=f"still running \\(process {alive.pid}\\)"):
                open_run_folder(folder, "lora", overwrite=overwrite)
        assert (folder / "checkpoint-2").is_dir()  # refused: left as it was
    finally:
        alive.kill()
        alive.wait()
    assert open_run_folder(folder, "lora", overwrite=False) == (folder, True)  # its process died: it continues
    assert (folder / "checkpoint-2").is_dir()
    assert open_run_folder(folder, "lora", overwrite=True) == (folder, False) and not any(folder.iterdir())
