"""Quick evaluations score a seeded sample of the split stratified by class, not its first N images.

The datasets of this field list their images class by class (UCM-captions, RSICD, Sydney), so the
first 21 images of a split are one or two classes; a sample of 21 covers all 21 of UCM's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rsic_core.cli import main
from rsic_core.data.datasets import load_dataset
from rsic_core.data.records import ImageRecord
from rsic_core.data.subsets import choose_subset, describe_subset
from rsic_core.runs import layout as runs
from rsic_core.training import jobs
from tests.support.datasets import class_ordered
from tests.support.shared import shared_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ordered(tmp_path_factory):
    """21 classes, listed class by class: 2 train and 5 val images each (105 val images)."""
    return class_ordered(tmp_path_factory.mktemp("ordered"), {"train": 2, "val": 5})


def _records(labels=(), sources=()) -> list[ImageRecord]:
    n = max(len(labels), len(sources))
    return [
        ImageRecord(
            f"{i}.jpg", Path("."), f"{i}.jpg", "val", ["a caption"],
            label=labels[i] if labels else None, source=sources[i] if sources else None,
        )
        for i in range(n)
    ]  # fmt: skip


def test_21_images_of_a_class_ordered_split_are_one_of_each_class(ordered):
    val = load_dataset(ordered).select(split="val")
    assert len({r.label for r in val[:21]}) == 5  # the first 21 images: five classes
    chosen = choose_subset(val, 21, seed=0)
    assert len({r.label for r in chosen.records}) == 21
    assert [val.index(r) for r in chosen.records] == sorted(val.index(r) for r in chosen.records)  # split's order
    assert chosen.description == "21 of 105 images, stratified over 21 classes, seed 0"
    assert chosen.to_dict() == {
        "n": 21, "of": 105, "seed": 0, "strata": 21, "by": "class", "image_ids": chosen.image_ids,
    }  # fmt: skip
    spread = Counter(r.label for r in choose_subset(val, 32, seed=0).records)
    assert len(spread) == 21 and set(spread.values()) == {1, 2}  # 32 = one of each class, a second of 11


def test_the_same_seed_gives_the_same_images_and_another_seed_others(ordered):
    val = load_dataset(ordered).select(split="val")
    first = choose_subset(val, 21, seed=0).image_ids
    assert choose_subset(load_dataset(ordered).select(split="val"), 21, seed=0).image_ids == first
    assert choose_subset(val, 21, seed=1).image_ids != first
    assert set(choose_subset(val, 8, seed=0).image_ids) < set(first)  # a smaller sample is part of a larger one
    code = (
        "import sys; from rsic_core.data.datasets import load_dataset; from rsic_core.data.subsets import choose_subset;"
        "print(','.join(choose_subset(load_dataset(sys.argv[1]).select(split='val'), 21, seed=0).image_ids))"
    )
    for hash_seed in ("1", "2"):  # other processes with other string hashes choose the same images
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", code, str(ordered)], env=env, capture_output=True, text=True)
        assert out.stdout.strip().split(",") == first, out.stderr


def test_the_whole_split_sources_and_plain_samples():
    labels = ["a"] * 6 + ["b"] * 3 + ["c"]  # a class of one image, and fewer images than classes
    records = _records(labels)
    assert [r.label for r in choose_subset(records, 2, seed=5).records] != ["a", "a"]
    assert len({r.label for r in choose_subset(records, 3, seed=5).records}) == 3
    for n in (None, 0, 10, 50):
        whole = choose_subset(records, n)
        assert whole.records == records and whole.description == "all 10 images"
    by_source = choose_subset(_records(sources=["rsicd"] * 5 + ["ucm"] * 5), 4, seed=2)
    assert (by_source.by, by_source.strata) == ("source", 2)
    assert Counter(r.source for r in by_source.records) == {"rsicd": 2, "ucm": 2}
    assert by_source.description == "4 of 10 images, stratified over 2 sources, seed 2"
    plain = choose_subset(_records(sources=[None] * 10), 4, seed=2)
    assert (plain.by, len(plain.records)) == (
        None,
        4,
    ) and plain.description == "4 of 10 images, a seeded sample (seed 2)"
    again = choose_subset(records, image_ids=["3.jpg", "9.jpg", "gone.jpg"])
    assert again.image_ids == ["3.jpg", "9.jpg"]  # a recorded sample is taken again as it is
    assert describe_subset({}) == "images not recorded"


def test_rsic_evaluate_with_eval_limit_21_covers_every_class_and_records_them(ordered, tmp_path, capsys):
    out = tmp_path / "run"
    command = ["evaluate", "--data", str(ordered), "--eval-split", "val", "--eval-limit", "21", "--out", str(out)]
    assert main([*command, "--no-eval-efficiency", "--metrics", "bleu"]) == 0
    printed = capsys.readouterr().out
    assert "images: 21 of 105 images, stratified over 21 classes, seed 0 of the val split" in printed
    run = runs.load_run(out)
    assert len({p.label for p in run.predictions}) == 21
    assert run.config["subset"]["image_ids"] == [p.image_id for p in run.predictions]
    assert (run.config["subset"]["by"], run.config["eval_seed"]) == ("class", 0)
    other = tmp_path / "seed 4"
    assert main([*command[:-1], str(other), "--eval-seed", "4", "--no-eval-efficiency", "--metrics", "bleu"]) == 0
    assert runs.load_run(other).config["subset"]["image_ids"] != run.config["subset"]["image_ids"]


def test_a_training_run_validates_on_the_same_recorded_images_at_every_step_and_on_resume(
    ordered, tiny_model_dir, tmp_path, one_thread
):
    from rsic_core.training.config import TrainConfig
    from rsic_core.training.trainer import train
    from tests.support.training import quick_config

    data = class_ordered(tmp_path / "data", {"train": 2, "val": 5})
    config = quick_config(
        tiny_model_dir, tmp_path, data=str(data), eval_split="val", max_steps=4, save_steps=4, eval_steps=2,
        val_limit=7, eval_seed=3, val_metrics="bleu", predict_limit=5, gen_max_new_tokens=6,
    )  # fmt: skip

    def cancel_at_two(step, total):
        if step == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # what the Train page's Cancel sends

    run_dir = train(config, progress=cancel_at_two)
    assert jobs.read_status(run_dir)["state"] == "cancelled"
    recorded = json.loads((run_dir / "config.json").read_text())["val_subset"]
    assert (recorded["n"], recorded["of"], recorded["seed"], recorded["strata"]) == (7, 105, 3, 21)
    assert len({i.split("_")[0] for i in recorded["image_ids"]}) == 7  # seven classes, not the first one

    class_ordered(data, {"train": 2, "val": 6})  # the dataset gains an image per class before the run resumes
    fresh = choose_subset(load_dataset(data).select(split="val"), 7, seed=3).image_ids
    assert fresh != recorded["image_ids"]  # a new sample would now be other images
    train(TrainConfig(resume=str(run_dir)))
    assert jobs.read_status(run_dir)["state"] == "completed"
    for step in (2, 4):
        scored = runs.load_run(run_dir / "val" / f"step-{step}")
        assert [p.image_id for p in scored.predictions] == recorded["image_ids"]
        assert scored.config["subset"]["image_ids"] == recorded["image_ids"]
    final = runs.load_run(run_dir)
    assert final.config["subset"]["n"] == 5 and len({p.label for p in final.predictions}) == 5
    assert json.loads((run_dir / "config.json").read_text())["val_subset"] == recorded


def test_the_train_page_says_which_images_validate(ordered, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RSIC_RUNS", str(tmp_path))
    run_dir = tmp_path / "20260101-120000-lora"
    run_dir.mkdir()
    subset = choose_subset(load_dataset(ordered).select(split="val"), 21, seed=2).to_dict()
    config = {"kind": "training", "data": str(ordered), "eval_steps": 2, "val_split": "val", "val_subset": subset}
    (run_dir / "config.json").write_text(json.dumps(config))
    (run_dir / jobs.VAL_LOG).write_text(json.dumps({"step": 2, "seconds": 1.0, "BLEU-4": 0.12}) + "\n")
    jobs.write_status(run_dir, "completed", "2 steps", step=2, max_steps=2)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["dataset_path"] = str(ordered)
    at.run()
    at.switch_page("views/train.py").run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert "Validation images: 32 of 105 images, stratified over 21 classes, seed 0 of the val split" in " ".join(
        captions
    )
    assert any(m.value.endswith("on 21 of 105 images, stratified over 21 classes, seed 2") for m in at.markdown)


def test_the_compare_evaluate_panel_samples_the_split_and_says_so(demo_dir, tmp_path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["runs_root"] = str(tmp_path)
    at.run()
    at.switch_page("views/compare.py").run()
    assert "Images evaluated: all 12 images of the test split." in [c.value for c in at.caption]
    at.number_input(key="evaluate_limit").set_value(4)
    at.number_input(key="evaluate_seed").set_value(3)
    next(b for b in at.button if b.label == "Evaluate").click()
    at.run(timeout=600)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    [folder] = [p for p in tmp_path.iterdir() if (p / "config.json").is_file()]
    config = json.loads((folder / "config.json").read_text())
    assert (config["subset"]["n"], config["subset"]["seed"], config["eval_seed"]) == (4, 3, 3)
    line = "4 of 12 images, stratified over 12 classes, seed 3 of the test split."
    assert f"Images: {line}" in [c.value for c in at.caption]  # the run shown says which images it scored
    at.switch_page("views/runs.py").run()
    assert list(at.dataframe[0].value["subset"]) == ["4 of 12 images, stratified over 12 classes, seed 3"]


def test_21_validation_images_of_the_real_ucm_captions_are_its_21_classes():
    val = load_dataset(shared_path("data", "ucm-captions")).select(split="val")
    assert len({r.label for r in val[:21]}) <= 3  # what the first 21 were
    chosen = choose_subset(val, 21, seed=0)
    assert len({r.label for r in chosen.records}) == 21 and chosen.of == 210
    assert chosen.description == "21 of 210 images, stratified over 21 classes, seed 0"


def test_rsic_train_takes_val_limit_and_eval_seed_and_refuses_a_negative_seed(tmp_path):
    from rsic_core.cli.train import parse_config
    from rsic_core.runs.evaluation import EvalConfig

    [config] = parse_config(["--val-limit", "21", "--eval-seed", "7", "--train-device", "cpu"])
    assert (config.val_limit, config.eval_seed) == (21, 7)
    for old in ("--eval-limit", "--eval_limit"):  # the validation's older spelling (rsic evaluate's is its own)
        [config] = parse_config([old, "5", "--train-device", "cpu"])
        assert config.val_limit == 5 and not hasattr(config, "eval_limit")
    old_file = tmp_path / "run.yaml"
    old_file.write_text("eval_limit: 6\ntrain_device: cpu\n")  # a config file written for the older name
    [config] = parse_config(["--config", str(old_file)])
    assert config.val_limit == 6
    assert parse_config(["--config", str(old_file), "--val-limit", "8"])[0].val_limit == 8  # options override it
    with pytest.raises(ValueError, match=r"eval_seed must be 0 or more \(got -1\)"):
        parse_config(["--eval-seed", "-1", "--train-device", "cpu"])
    with pytest.raises(ValueError, match=r"eval_seed must be 0 or more \(got -2\)"):
        EvalConfig(eval_seed=-2)
