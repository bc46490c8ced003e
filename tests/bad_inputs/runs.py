"""Bad inputs of runs and training: rows ``rsic score`` would score wrong, writes into another run, bad options.

Each ``rsic score`` row problem is its own case (the file holds one bad row among good ones, and the
sentence names the line). Cases that aim a command at an existing run prove that the run's files
come out byte-identical (as every case's files do). Cases that would start a run check, with ``RSIC_RUNS`` pointed at an
empty folder, that no run folder is left behind. Training cases refuse before any model is loaded,
except the wrong model path, which fails at loading on a four-image dataset.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path

from PIL import Image

from tests.bad_inputs import BadInput, Outcome, cli, page_outcome

GOOD = {"image_id": "a.jpg", "prediction": "a red roof", "references": ["a red roof", "the roof of a house"]}
CAPTIONS = ["a red roof beside a road", "a green park with trees", "a blue lake near houses", "a grey parking lot"]
_TINY_MODEL: Path | None = None  # a tiny PaliGemma saved once per session (only the corrupt-images case loads it)


def tiny_model() -> Path:
    global _TINY_MODEL
    if _TINY_MODEL is None:
        from rsic_core.models.registry import build_tiny

        _TINY_MODEL = build_tiny("paligemma").save(Path(tempfile.mkdtemp(prefix="rsic-bad-runs-model-")))
    return _TINY_MODEL


@contextlib.contextmanager
def _runs_at(folder: Path):
    """RSIC_RUNS set to ``folder`` for the block: where a new run folder would go."""
    before = os.environ.get("RSIC_RUNS")
    os.environ["RSIC_RUNS"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("RSIC_RUNS", None)
        else:
            os.environ["RSIC_RUNS"] = before


def _leaves_no_run(argv: list) -> Outcome:
    """``cli(argv)`` with an empty runs folder, which must still be empty afterwards."""
    runs = Path(tempfile.mkdtemp(prefix="rsic-bad-runs-root-"))
    with _runs_at(runs):
        outcome = cli(argv)
    left = sorted(p.name for p in runs.iterdir())
    assert not left, f"a failed start left {left} in the runs folder"
    return outcome


# --- inputs ----------------------------------------------------------------------------------------------------


def _lines(tmp: Path, *rows) -> Path:
    """A predictions file: dicts as JSON lines, strings as they are."""
    file = tmp / "preds.jsonl"
    file.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return file


def _dataset(tmp: Path, images: str = "good") -> Path:
    """A Karpathy-layout dataset of four test images: ``good`` ones, ``corrupt`` files, or ``none`` (captions only)."""
    folder = tmp / "data"
    (folder / "images").mkdir(parents=True)
    entries = []
    for i, caption in enumerate(CAPTIONS):
        name = f"img_{i}.png"
        if images == "good":
            Image.new("RGB", (32, 32), (60 * i, 90, 120)).save(folder / "images" / name)
        elif images == "corrupt":
            (folder / "images" / name).write_bytes(b"not a picture at all" * 10)
        split = "train" if i < 2 and images == "good" else "test"
        entries.append({"filename": name, "imgid": i, "split": split, "sentences": [{"raw": caption}]})
    if images == "none":
        (folder / "images").rmdir()
    (folder / "dataset_small.json").write_text(json.dumps({"images": entries, "dataset": "small"}), encoding="utf-8")
    return folder


def _evaluation_run(tmp: Path) -> Path:
    """A finished evaluation run (as `rsic evaluate` leaves it): config, predictions, scores."""
    from rsic_core.runs import layout as runs
    from rsic_core.runs.layout import RunKind, RunLayout

    folder = tmp / "zero-shot"
    folder.mkdir()
    RunLayout(folder).write_config({"name": "zero-shot", "kind": RunKind.EVALUATION, "model": "demo", "split": "test"})
    rows = [runs.PredictionRow(image_id="a.jpg", prediction="a red house", references=GOOD["references"])]
    rows[0].scores = {"BLEU-4": 0.42}
    runs.write_predictions(folder, rows)
    runs.write_json(folder, RunLayout.METRICS, {"corpus": {"BLEU-4": 0.42}, "n_images": 1})
    return folder


def _finished_training_run(tmp: Path) -> Path:
    """A training run that completed at step 3 (config, status, step log, a checkpoint)."""
    from rsic_core.runs.layout import RunKind, RunLayout, RunStatus
    from rsic_core.training.config import TrainConfig

    folder = tmp / "lora"
    layout = RunLayout(folder)
    (layout.checkpoints_dir / "checkpoint-3").mkdir(parents=True)
    (layout.checkpoints_dir / "checkpoint-3" / "trainer_state.json").write_text('{"global_step": 3}')
    config = TrainConfig(model="demo", max_steps=3, output_dir=str(folder))
    layout.write_config({**config.to_dict(), "kind": RunKind.TRAINING, "adapter": str(layout.adapter_dir)})
    layout.update_status(state=RunStatus.COMPLETED, step=3, max_steps=3, message="3 steps")
    layout.step_log.write_text("".join(json.dumps({"step": s, "loss": 2.0 / s}) + "\n" for s in (1, 2, 3)))
    return folder


def _model_folder(tmp: Path) -> Path:
    """A folder with a model's config.json (no run of this project): nothing may replace it."""
    folder = tmp / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "paligemma", "hidden_size": 64}))
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def _file(tmp: Path) -> Path:
    (tmp / "notes.txt").write_text("my notes\n")
    return tmp


def _captions_only_under_home(tmp: Path) -> Path:
    """A captions-only dataset under RSIC_HOME (where the app takes datasets from)."""
    return _dataset(Path(tempfile.mkdtemp(prefix="bad-runs-", dir=os.environ["RSIC_HOME"])), images="none")


def _compare_page_evaluate(data: Path) -> Outcome:
    """Press the Compare page's Evaluate button with ``data`` loaded and no runs: its error, and no run written."""
    from streamlit.testing.v1 import AppTest

    runs = data.parent / "runs"
    runs.mkdir()
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
    at.session_state["runs_root"] = str(runs)
    at.session_state["dataset_path"] = str(data / "dataset_small.json")
    at.run()
    at.switch_page("views/compare.py")
    at.run()
    [b for b in at.button if b.label.startswith("Evaluate the demo model")][0].click()
    at.run()
    assert not list(runs.iterdir()), "a run was written"
    return page_outcome(at)


# --- cases -----------------------------------------------------------------------------------------------------


def _score(name: str, rows: tuple, expected: str) -> BadInput:
    return BadInput(
        f"rsic score: {name}",
        build=lambda tmp: _lines(tmp, *rows),
        run=lambda file: cli(["score", file, "--metrics", "bleu"]),
        expected=r"preds\.jsonl: " + expected,
        exit_code=2,
    )


SCORE_CASES = [
    _score("a row without image_id", (GOOD, {"prediction": "x", "references": ["y"]}), "line 2: no image_id"),
    _score("an empty image_id", ({**GOOD, "image_id": ""},), "line 1: no image_id"),
    _score("image_id true", ({**GOOD, "image_id": True},), "line 1: image_id must be a text or a whole number"),
    _score(
        "references given as one string",
        ({**GOOD, "references": "a red roof"},),
        r"line 1: references must be a list of captions, found one text",
    ),
    _score("no references", ({"image_id": "a.jpg", "prediction": "x"},), "line 1: references must be a non-empty"),
    _score("an empty reference list", ({**GOOD, "references": []},), "line 1: references must be a non-empty list"),
    _score(
        "a reference that is a number", ({**GOOD, "references": ["a roof", 3]},), "line 1: reference 2 must be a text"
    ),
    _score(
        "a duplicated image_id",
        (GOOD, {**GOOD, "image_id": "b.jpg"}, {**GOOD, "prediction": "a blue lake"}),
        r"line 3: image_id 'a\.jpg' again \(first on line 1\)",
    ),
    _score("prediction true", ({**GOOD, "prediction": True},), "line 1: prediction must be a text, found true"),
    _score(
        "prediction a list", ({**GOOD, "prediction": ["a", "roof"]},), "line 1: prediction must be a text, found a list"
    ),
    _score("no prediction", ({"image_id": "a.jpg", "references": ["x"]},), "line 1: no prediction"),
    _score("a line that is not JSON", (GOOD, "{image_id: b.jpg"), "line 2: not JSON"),
    _score("a line that is a list", (GOOD, "[1, 2]"), "line 2: expected a JSON object"),
]


def _text_file(name: str, text: str):
    def build(tmp: Path) -> Path:
        (tmp / name).write_text(text, encoding="utf-8")
        return tmp / name

    return build


def _imported(name: str, file: str, text: str, expected: str) -> BadInput:
    """A prediction file in another layout that ``rsic score`` refuses before writing any run."""
    return BadInput(
        f"rsic score: {name}",
        build=_text_file(file, text),
        run=lambda path: _leaves_no_run(["score", path, "--metrics", "bleu"]),
        expected=re.escape(file) + ": " + expected,
        exit_code=2,
    )


IMPORT_CASES = [
    _imported(
        "a CSV references cell that is not a JSON list",
        "eval.csv",
        'prediction,references\na road,"[""a road""]"\na house,"a house"\n',
        r"line 3: references \('references'\) must be a JSON list",
    ),
    _imported(
        "coco results without references or --data",
        "results.json",
        '[{"image_id": 1, "caption": "a road"}]',
        "the file carries predictions but no references: give the dataset",
    ),
    _imported(
        "a text line without a tab",
        "captions.txt",
        "1.jpg\ta road\n2.jpg a house\n",
        "line 2: expected filename<TAB>caption",
    ),
    _imported(
        "a JSON entry whose caption is a number",
        "results.json",
        '[{"image_id": 1, "caption": "a road", "references": ["a road"]}, {"image_id": 2, "caption": 7, "references": ["x"]}]',
        r"entry 2: the prediction \('caption'\) must be a text, found 7",
    ),
    _imported(
        "a CSV with no prediction column",
        "eval.csv",
        'image,refs\n1.jpg,"[]"\n',
        "no prediction column",
    ),
]

WRITE_CASES = [
    BadInput(
        "rsic score --out an evaluation run (would replace its predictions)",
        build=lambda tmp: {"file": _lines(tmp, GOOD), "run": _evaluation_run(tmp)},
        run=lambda b: cli(["score", b["file"], "--out", b["run"], "--metrics", "bleu"]),
        expected=r"zero-shot already holds a run \(evaluation\); give another --out, or --overwrite",
        exit_code=2,
    ),
    BadInput(
        "rsic score --out a model folder --overwrite",
        build=lambda tmp: {"file": _lines(tmp, GOOD), "model": _model_folder(tmp)},
        run=lambda b: cli(["score", b["file"], "--out", b["model"], "--overwrite", "--metrics", "bleu"]),
        expected=r"my-model holds a config\.json that is not a run of this project",
        exit_code=2,
    ),
    BadInput(
        "rsic score --out a file",
        build=lambda tmp: {"file": _lines(tmp, GOOD), "folder": _file(tmp)},
        run=lambda b: cli(["score", b["file"], "--out", b["folder"] / "notes.txt", "--metrics", "bleu"]),
        expected=r"notes\.txt is a file, not a folder: give a folder for --out",
        exit_code=2,
    ),
    BadInput(
        "rsic train --output-dir an evaluation run (was taken as a resume)",
        build=_evaluation_run,
        run=lambda run: cli(["train", "--output-dir", run, "--max-steps", "3"]),
        expected=r"zero-shot holds a run of kind evaluation, not a training run; give another --output-dir, or --overwrite",
        exit_code=2,
    ),
    BadInput(
        "rsic train --resume an evaluation run",
        build=_evaluation_run,
        run=lambda run: cli(["train", "--resume", run]),
        expected=r"zero-shot holds a run of kind evaluation, not a training run; nothing to resume",
        exit_code=2,
    ),
    BadInput(
        "rsic train --resume a finished run (added a step at learning rate 0)",
        build=_finished_training_run,
        run=lambda run: cli(["train", "--resume", run]),
        expected=r"lora: the run already finished at step 3; nothing to resume \(train it afresh with `rsic train --output-dir .*lora --overwrite`\)",
        exit_code=2,
    ),
    BadInput(
        "rsic train --output-dir a finished run",
        build=_finished_training_run,
        run=lambda run: cli(["train", "--output-dir", run, "--max-steps", "3"]),
        expected=r"already finished at step 3; nothing to resume \(give another --output-dir, or --overwrite",
        exit_code=2,
    ),
    BadInput(
        "rsic train --output-dir a model folder --overwrite",
        build=_model_folder,
        run=lambda model: cli(["train", "--output-dir", model, "--overwrite", "--max-steps", "3"]),
        expected=r"my-model holds a config\.json that no run of this project wrote",
        exit_code=2,
    ),
    BadInput(
        "rsic train --output-dir a file",
        build=_file,
        run=lambda tmp: cli(["train", "--output-dir", tmp / "notes.txt", "--max-steps", "3"]),
        expected=r"notes\.txt is a file, not a folder: give a folder for --output-dir",
        exit_code=2,
    ),
    BadInput(
        "rsic train --output-dir under a file",
        build=_file,
        run=lambda tmp: cli(["train", "--output-dir", tmp / "notes.txt" / "run", "--max-steps", "3"]),
        expected=r"notes\.txt is a file, not a folder: give a folder for --output-dir",
        exit_code=2,
    ),
]


def _config_file(name: str, text: str):
    def build(tmp: Path) -> Path:
        (tmp / name).write_text(text, encoding="utf-8")
        return tmp / name

    return build


def _wandb_missing(tmp: Path) -> Path:
    if importlib.util.find_spec("wandb") is not None:
        import pytest

        pytest.skip("wandb is installed here")
    return tmp


def _train(name: str, *options, expected: str, build=lambda tmp: tmp) -> BadInput:
    """``rsic train OPTIONS``; an option given as a function is made from what ``build`` returned."""
    return BadInput(
        f"rsic train {name}",
        build=build,
        run=lambda built: _leaves_no_run(["train", *[o(built) if callable(o) else o for o in options]]),
        expected=expected,
        exit_code=2,
    )


OPTION_CASES = [
    _train(
        "--report-to wandb without wandb",
        "--report-to",
        "wandb",
        expected=r"^rsic: error: wandb is not installed: pip install wandb, or --report-to none$",
        build=_wandb_missing,
    ),
    _train("--report-to a tracker that does not exist", "--report-to", "wandbb", expected=r"'wandbb' is not a tracker"),
    _train(
        "--config a YAML file with a syntax error",
        "--config",
        str,
        expected=r"run\.yaml: not valid YAML at line 3 \(",
        build=_config_file("run.yaml", "lora_r: 4\nmax_steps: 10\n  learning_rate: [1e-4\n"),
    ),
    _train(
        "--config a JSON file with a syntax error",
        "--config",
        str,
        expected=r"run\.json: not valid JSON at line 2 \(",
        build=_config_file("run.json", '{"lora_r": 4,\n "max_steps": }\n'),
    ),
    _train("--train-limit -1", "--train-limit", "-1", expected=r"train_limit must be 0 or more \(got -1\)"),
    _train("--val-limit -3", "--val-limit", "-3", expected=r"val_limit must be 0 or more \(got -3\)"),
    _train("--predict-limit -2", "--predict-limit", "-2", expected=r"predict_limit must be -1 or more \(got -2\)"),
    _train("--captions-per-image -1", "--captions-per-image", "-1", expected=r"captions_per_image must be 0 or more"),
    _train(
        "--model a folder that does not exist (a failed start leaves no run folder)",
        "--model",
        lambda data: data / "absent-model",
        "--data",
        str,
        "--max-steps",
        "2",
        expected=r"absent-model",
        build=_dataset,
    ),
]


def _link_to(target: str):
    def build(tmp: Path) -> Path:
        (tmp / "run.yaml").symlink_to(target)
        return tmp / "run.yaml"

    return build


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "run.json")
    return tmp / "run.json"


NUMBER_CASES = [  # numbers that cannot train: refused before anything is written (they trained a step, "completed")
    _train(
        "--learning-rate inf", "--learning-rate", "inf", expected=r"learning_rate must be a finite number \(got inf\)"
    ),
    _train("--weight-decay inf", "--weight-decay", "inf", expected=r"weight_decay must be a finite number \(got inf\)"),
    _train("--num-train-epochs inf", "--num-train-epochs", "inf", expected=r"num_train_epochs must be a finite number"),
    _train(
        "--max-steps 0 (trained one step, 'completed: 1 steps')",
        "--max-steps",
        "0",
        expected=r"max_steps must be a number of steps, 1 or more, or -1 to train num_train_epochs \(got 0\)",
    ),
    _train(
        "--config a YAML file with max_steps: true",
        "--config",
        str,
        expected=r"run\.yaml: max_steps must be a whole number \(got true\)$",
        build=_config_file("run.yaml", "max_steps: true\n"),
    ),
    _train(
        "--config a JSON file with lora_r: true (trained rank 1)",
        "--config",
        str,
        expected=r"run\.json: lora_r must be a whole number \(got true\)$",
        build=_config_file("run.json", '{"lora_r": true, "max_steps": 2}'),
    ),
    _train(
        "--config a link to /dev/zero",
        "--config",
        str,
        expected=r"run\.yaml: not a regular file \(a named pipe, socket or device\); not read$",
        build=_link_to("/dev/zero"),
    ),
    _train(
        "--config a FIFO",
        "--config",
        str,
        expected=r"run\.json: not a regular file \(a named pipe, socket or device\); not read$",
        build=_fifo,
    ),
]

_STOPPED_RUN: Path | None = None  # a tiny LoRA run with a checkpoint at step 1 of 2, trained once per session


class _Payload:
    """What an attacker plants: unpickling it runs a shell command (here: it leaves a file behind)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _stopped_run() -> Path:
    """A LoRA run stopped after its checkpoint at step 1 (trained once; each case copies it)."""
    global _STOPPED_RUN
    if _STOPPED_RUN is None:
        from rsic_core.runs.layout import RunLayout
        from rsic_core.training.config import TrainConfig
        from rsic_core.training.jobs import write_status
        from rsic_core.training.trainer import train

        base = Path(tempfile.mkdtemp(prefix="rsic-bad-runs-stopped-"))
        data = _dataset(base)
        config = dict(model=str(tiny_model()), data=str(data), max_steps=2, save_steps=1, predict_limit=-1)
        run = train(TrainConfig(**config, output_dir=str(base / "lora"), use_cpu=True, lora_r=2))
        layout = RunLayout(run)
        import shutil

        shutil.rmtree(layout.checkpoints_dir / "checkpoint-2")
        shutil.rmtree(layout.adapter_dir)
        rows = [r for r in layout.step_log.read_text().splitlines() if json.loads(r)["step"] <= 1]
        layout.step_log.write_text("".join(r + "\n" for r in rows))
        write_status(run, "cancelled", "cancelled at step 1", step=1)
        _STOPPED_RUN = run
    return _STOPPED_RUN


def _planted_pickle(tmp: Path) -> Path:
    import shutil

    import torch

    run = Path(shutil.copytree(_stopped_run(), tmp / "lora"))
    from rsic_core.runs.layout import RunLayout

    RunLayout(run).update_config(output_dir=str(run))  # the copy is the run to resume
    torch.save({"state": _Payload(tmp / "PWNED")}, run / "checkpoints" / "checkpoint-1" / "optimizer.pt")
    return run


def _resume_refused(run: Path) -> Outcome:
    outcome = cli(["train", "--resume", run])
    assert not (run.parent / "PWNED").exists(), "the planted payload ran"
    assert "weights_only" not in outcome.output, "torch's advice to unpickle was shown"
    return outcome


CHECKPOINT_CASES = [
    BadInput(
        "rsic train --resume a run whose checkpoint holds a planted os.system pickle",
        build=_planted_pickle,
        run=_resume_refused,
        expected=r"checkpoint-1: refused: the checkpoint holds pickled objects other than tensors "
        r"\(optimizer\.pt: posix\.system\); unpickling them could run any code",
        exit_code=2,
        writes=("lora/status.json", "lora/error.txt"),
    ),
]

EVALUATE_CASES = [
    BadInput(
        "rsic evaluate --eval-limit -3 (dropped the last 3 images)",
        build=lambda tmp: _dataset(tmp, "none"),
        run=lambda data: _leaves_no_run(["evaluate", "--data", data, "--eval-limit", "-3"]),
        expected=r"eval_limit must be a number of images, 0 or more \(got -3\)",
        exit_code=2,
    ),
    BadInput(
        "rsic evaluate on a captions-only file (a run of zeros)",
        build=lambda tmp: _dataset(tmp, "none"),
        run=lambda data: _leaves_no_run(["evaluate", "--data", data]),
        expected=r"none of the 4 image files of split 'test' is there .*nothing to caption",
        exit_code=2,
    ),
    BadInput(
        "rsic evaluate on a split whose images are all corrupt",
        build=lambda tmp: {"data": _dataset(tmp, "corrupt"), "model": tiny_model()},
        run=lambda b: _leaves_no_run(["evaluate", "--data", b["data"], "--model", b["model"], "--no-eval-efficiency"]),
        expected=r"none of the 4 images of split 'test' could be read .*no run was written",
        exit_code=2,
    ),
    BadInput(
        "Compare page: Evaluate on a captions-only dataset",
        build=_captions_only_under_home,
        run=_compare_page_evaluate,
        expected=r"none of the 4 image files of split 'test' is there",
    ),
]

CASES = SCORE_CASES + IMPORT_CASES + WRITE_CASES + OPTION_CASES + NUMBER_CASES + CHECKPOINT_CASES + EVALUATE_CASES
