"""``evaluate`` and ``rsic evaluate`` / ``rsic score`` write complete run folders with the right scores."""

from __future__ import annotations

import json

import pytest

from rsic_core.cli import main
from rsic_core.runs import layout as runs
from rsic_core.runs.evaluation import EvalConfig, evaluate
from rsic_core.scoring.metrics import ScoreConfig, score
from tests.support.captioning import CAPTIONS, colour_images

EXTRA_REFS = {"red": "the red roof of a building", "green": "a dense green forest", "blue": "a blue lake near a river"}


@pytest.fixture(scope="module")
def colour_dataset(tmp_path_factory):
    """A Karpathy-layout dataset of the three colour images (test split) plus one train image."""
    root = tmp_path_factory.mktemp("colour data")  # a space in the path on purpose
    (root / "images").mkdir()
    entries = []
    for k, (name, image) in enumerate(zip(CAPTIONS, colour_images())):
        image.save(root / "images" / f"{name}.png")
        sentences = [{"raw": c, "tokens": c.split()} for c in (CAPTIONS[name], EXTRA_REFS[name])]
        entries.append({"filename": f"{name}.png", "imgid": k, "split": "test", "sentences": sentences})
    entries.append({"filename": "red.png", "imgid": 9, "split": "train", "sentences": [{"raw": "x", "tokens": ["x"]}]})
    (root / "dataset_colours.json").write_text(json.dumps({"images": entries, "dataset": "colours"}))
    return root


def test_evaluate_writes_predictions_scores_and_efficiency(taught_model_dir, colour_dataset, tmp_path):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.registry import load_captioner

    captioner = load_captioner(taught_model_dir, device="cpu")
    dataset = load_dataset(colour_dataset)
    config = EvalConfig(eval_efficiency_images=2, eval_efficiency_repeats=1)
    folder = evaluate(captioner, dataset, "test", config, out=tmp_path / "run")
    run = runs.load_run(folder)
    assert not run.problems
    by_id = {p.image_id: p for p in run.predictions}
    assert sorted(by_id) == ["blue.png", "green.png", "red.png"]  # the test split only
    assert by_id["red.png"].prediction == CAPTIONS["red"]  # the taught model captions correctly
    assert by_id["red.png"].references == [CAPTIONS["red"], EXTRA_REFS["red"]] and by_id["red.png"].label is None
    direct = score({i: p.prediction for i, p in by_id.items()}, {i: p.references for i, p in by_id.items()})
    assert run.corpus == pytest.approx(direct.corpus)
    assert run.corpus["BLEU-4"] > 0.9 and run.corpus["Geo-Sim (max)"] > 0.99
    assert by_id["green.png"].scores["CIDEr"] == pytest.approx(direct.per_image["green.png"]["CIDEr"])
    eff = run.efficiency
    assert eff["params_total"] == sum(p.numel() for p in captioner.model.parameters())
    assert eff["gflops_per_image"] > 0 and eff["latency_s_per_image"] > 0 and eff["n_images"] == 2
    assert eff["size_on_disk_bytes"] >= (taught_model_dir / "model.safetensors").stat().st_size
    assert run.config["split"] == "test" and run.config["adapter"] is None and "finished" in run.config
    assert run.config["caption"]["gen_num_beams"] == 1
    with pytest.raises(ValueError, match="no images in split 'val'"):
        evaluate(captioner, dataset, "val", config, out=tmp_path / "empty")


def test_cli_evaluate_then_score(taught_model_dir, colour_dataset, tmp_path, capsys):
    out = tmp_path / "cli run"
    code = main(
        [
            "evaluate",
            "--model",
            str(taught_model_dir),
            "--data",
            str(colour_dataset),
            "--eval-limit",
            "2",
            "--out",
            str(out),
            "--no-eval-efficiency",
            "--metrics",
            "bleu,rouge,cider",
            "--eval-name",
            "taught zero-shot",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "CIDEr" in printed and "METEOR" not in printed and str(out) in printed
    run = runs.load_run(out)
    assert len(run.predictions) == 2 and run.name == "taught zero-shot" and run.efficiency == {}
    assert f"CIDEr            {100 * run.corpus['CIDEr']:8.2f}" in printed  # x100, as every page prints it

    code = main(
        ["score", str(out / "predictions.jsonl"), "--out", str(tmp_path / "rescored"), "--metrics", "bleu", "--json"]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["corpus"]["BLEU-4"] == pytest.approx(run.corpus["BLEU-4"])
    rescored = runs.load_run(tmp_path / "rescored")
    assert rescored.corpus.keys() == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr"}  # ROUGE/CIDEr kept
    assert rescored.corpus["CIDEr"] == pytest.approx(run.corpus["CIDEr"])
    assert rescored.predictions[0].scores.keys() == run.predictions[0].scores.keys()


def test_cli_errors_are_one_sentence(tmp_path, capsys, monkeypatch):
    assert main(["evaluate", "--model", "demo", "--data", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rsic: error:") and "no such file or folder" in err and "\n" not in err
    assert main(["score", str(tmp_path / "nothing.jsonl")]) == 2
    assert "no predictions file" in capsys.readouterr().err

    file = tmp_path / "preds.jsonl"
    file.write_text(json.dumps({"image_id": "a", "prediction": "a red roof", "references": ["a red roof"]}) + "\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java
    assert main(["score", str(file)]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs Java" in err and "\n" not in err and "Traceback" not in err


def _colour_data(root, references=None, images=True):
    """The three colour images (test split) with ``references`` (colour -> captions); ``images=False``: captions only."""
    (root / "images").mkdir(parents=True)
    entries = []
    for k, (name, image) in enumerate(zip(CAPTIONS, colour_images())):
        if images:
            image.save(root / "images" / f"{name}.png")
        refs = (references or {}).get(name) or [CAPTIONS[name], EXTRA_REFS[name]]
        entries.append(
            {"filename": f"{name}.png", "imgid": k, "split": "test", "sentences": [{"raw": r} for r in refs]}
        )
    (root / "dataset_colours.json").write_text(json.dumps({"images": entries, "dataset": "colours"}))
    return root


def test_a_lone_surrogate_in_a_reference_loses_no_prediction(taught_model_dir, tmp_path):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.registry import load_captioner

    odd = "a blue lake \ud800 beside the river"  # what "\\ud800" in a JSON dataset reads as
    dataset = load_dataset(_colour_data(tmp_path / "data", {"blue": [odd, EXTRA_REFS["blue"]]}))
    assert odd in dataset.get("blue.png").captions
    config = EvalConfig(eval_efficiency=False, scoring=ScoreConfig(score_metrics=("bleu", "cider")))
    folder = evaluate(load_captioner(taught_model_dir, device="cpu"), dataset, "test", config, out=tmp_path / "run")
    run = runs.load_run(folder)
    assert not run.problems
    by_id = {p.image_id: p for p in run.predictions}
    assert sorted(by_id) == ["blue.png", "green.png", "red.png"]  # every prediction is on disk
    assert by_id["red.png"].prediction == CAPTIONS["red"]
    assert by_id["blue.png"].references == [odd, EXTRA_REFS["blue"]]  # the string itself, not a replacement
    assert "finished" in run.config and run.corpus["BLEU-4"] > 0.5  # and the run is scored, with a note
    assert any("lone surrogate" in note for note in run.metrics["notes"])


def test_a_split_without_readable_images_writes_no_run(taught_model_dir, tmp_path):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.registry import load_captioner

    captioner = load_captioner(taught_model_dir, device="cpu")
    root = tmp_path / "runs"
    root.mkdir()
    captions_only = load_dataset(_colour_data(tmp_path / "captions-only", images=False))
    with pytest.raises(ValueError, match="none of the 3 image files of split 'test' is there"):
        evaluate(captioner, captions_only, "test", root=root)
    corrupt = _colour_data(tmp_path / "corrupt")
    for image in (corrupt / "images").iterdir():
        image.write_bytes(b"\x89PNG but not really")
    with pytest.raises(ValueError, match="none of the 3 images of split 'test' could be read"):
        evaluate(captioner, load_dataset(corrupt), "test", EvalConfig(eval_efficiency=False), root=root)
    out = tmp_path / "chosen"
    out.mkdir()
    with pytest.raises(ValueError, match="could be read"):
        evaluate(captioner, load_dataset(corrupt), "test", EvalConfig(eval_efficiency=False), out=out)
    assert list(root.iterdir()) == [] and list(out.iterdir()) == []  # no run folder, no config-only run
    with pytest.raises(ValueError, match="eval_limit must be a number of images"):
        EvalConfig(eval_limit=-3)


def test_four_evaluations_at_once_write_four_complete_runs(taught_model_dir, colour_dataset, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.registry import load_captioner

    captioner, dataset = load_captioner(taught_model_dir, device="cpu"), load_dataset(colour_dataset)
    config = EvalConfig(eval_name="same name", eval_efficiency=False, scoring=ScoreConfig(score_metrics=("bleu",)))
    with ThreadPoolExecutor(max_workers=4) as pool:  # the same name in the same second: four folders all the same
        folders = list(pool.map(lambda _: evaluate(captioner, dataset, "test", config, root=tmp_path), range(4)))
    assert len(set(folders)) == 4 and sorted(tmp_path.iterdir()) == sorted(folders)
    for folder in folders:
        run = runs.load_run(folder)
        assert not run.problems and "finished" in run.config and run.corpus["BLEU-4"] > 0.9
        assert sorted(p.image_id for p in run.predictions) == ["blue.png", "green.png", "red.png"]
    assert not [f for f in tmp_path.rglob("*.tmp")]


def test_rsic_score_never_replaces_another_run_unless_asked(tmp_path, capsys):
    from rsic_core.runs.evaluation import rescore
    from rsic_core.runs.layout import RunKind, RunLayout

    target = tmp_path / "evaluation"
    target.mkdir()
    RunLayout(target).write_config({"name": "zero-shot", "kind": RunKind.EVALUATION, "model": "m"})
    rows = [runs.PredictionRow("a.jpg", "a red roof", ["a red roof"], scores={"BLEU-4": 1.0})]
    runs.write_predictions(target, rows)
    runs.write_json(target, RunLayout.EFFICIENCY, {"params_total": 10})
    file = tmp_path / "mine.jsonl"
    file.write_text(json.dumps({"image_id": "b.jpg", "prediction": "a lake", "references": ["a blue lake"]}) + "\n")
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    with pytest.raises(ValueError, match="already holds a run \\(evaluation\\)"):
        rescore(file, ScoreConfig(score_metrics=("bleu",)), out=target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    rescore(target, ScoreConfig(score_metrics=("bleu",)))  # the run scored again in place is not another run
    assert [p.image_id for p in runs.load_run(target).predictions] == ["a.jpg"]

    assert main(["score", str(file), "--out", str(target), "--overwrite", "--metrics", "bleu"]) == 0
    replaced = runs.load_run(target)
    assert [p.image_id for p in replaced.predictions] == ["b.jpg"] and replaced.config["kind"] == "imported"
    assert replaced.efficiency == {}  # it measured another model
