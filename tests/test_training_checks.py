"""Training runs that cannot be trusted say so: numbers that cannot train, weights that diverged, leakage.

The refusals of single options at the command line are cases of the bad-input corpus (tests/bad_inputs/runs.py);
here: the whole range table at the library level, a run whose weights diverge ending "failed" (not "completed"),
and a run scored on the split it trained on, marked on the command line, in its config, the Train page and the
Runs table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.training import quick_config

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "values, sentence",
    [
        ({"learning_rate": float("inf")}, r"learning_rate must be a finite number \(got inf\)"),
        ({"learning_rate": float("nan")}, r"learning_rate must be a finite number \(got nan\)"),
        ({"learning_rate": -1e-4}, r"learning_rate must be positive"),
        ({"learning_rate": 1e39}, r"learning_rate must be at most 1e\+30 \(got 1e\+39\)"),
        ({"learning_rate": 1.0, "weight_decay": 1e31}, r"learning_rate x weight_decay must be at most 1e\+30"),
        ({"max_grad_norm": float("inf")}, r"max_grad_norm must be a finite number"),
        ({"warmup_steps": -5}, r"warmup_steps must be 0 or more"),
        ({"adam_beta1": 1.0}, r"adam_beta1 must be at least 0 and below 1"),
        ({"lora_dropout": 1.5}, r"lora_dropout must be at least 0 and below 1"),
        ({"label_smoothing_factor": float("nan")}, r"label_smoothing_factor must be a finite number"),
        ({"lora_alpha": 0}, r"lora_alpha must be at least 1"),
        ({"gen_num_beams": 0}, r"gen_num_beams must be at least 1"),
        ({"max_steps": 0}, r"max_steps must be a number of steps, 1 or more, or -1"),
        ({"max_steps": -7}, r"max_steps must be a number of steps"),
        ({"max_steps": -1, "num_train_epochs": 0}, r"give max_steps > 0 or num_train_epochs > 0"),
        ({"lora_r": True}, r"lora_r must be a whole number, not true"),
        ({"num_train_epochs": False}, r"num_train_epochs must be a number, not false"),
    ],
)
def test_numbers_that_cannot_train_are_refused_with_the_field_named(values, sentence):
    from rsic_core.training.config import TrainConfig

    with pytest.raises(ValueError, match=sentence):
        TrainConfig(model="demo", use_cpu=True, **values)


def test_the_defaults_and_a_usual_run_pass_the_checks():
    from rsic_core.training.config import TrainConfig

    config = TrainConfig(model="demo", use_cpu=True, max_steps=-1, num_train_epochs=3, warmup_steps=10, seed=0)
    assert config.max_steps == -1 and config.num_train_epochs == 3


def test_a_run_whose_saved_weights_hold_inf_is_failed_with_one_sentence_not_completed(tiny_model_dir, tmp_path):
    """A run stopped after its final checkpoint, whose weights had diverged (inf), is resumed: saving its adapter
    finds the inf, and the run ends failed with the tensor named, never "completed" or scored."""
    from rsic_core.runs.layout import RunLayout
    from rsic_core.training import jobs
    from rsic_core.training.trainer import train
    from tests.bad_inputs.models import poison

    layout = RunLayout(train(quick_config(tiny_model_dir, tmp_path, max_steps=1, save_steps=1, predict_limit=-1)))
    assert layout.read_status()["state"] == "completed"
    poison(layout.checkpoints_dir / "checkpoint-1" / "adapter_model.safetensors", float("inf"))
    jobs.write_status(layout.folder, "cancelled", "cancelled at step 1", step=1)
    with pytest.raises(
        ValueError, match=r"^training diverged: the saved weights hold NaN or infinite values \(\S+lora"
    ):
        train(quick_config(tiny_model_dir, tmp_path, max_steps=1, save_steps=1, predict_limit=4, resume=layout.folder))
    status = layout.read_status()
    assert status["state"] == "failed" and status["message"].startswith("training diverged"), status
    assert not layout.metrics.exists()  # no scores of a model that cannot caption


def test_training_on_the_split_it_is_scored_on_is_said_loudly(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """CLI warning before and after, config.json's leakage field, the Train page's and the Runs page's warnings,
    and the Runs table's split column."""
    from streamlit.testing.v1 import AppTest

    from rsic_core.cli import main
    from rsic_core.runs import tables
    from rsic_core.runs.layout import load_run

    runs = tmp_path / "runs"
    monkeypatch.setenv("RSIC_RUNS", str(runs))
    run = runs / "leaky"
    argv = ["train", "--model", tiny_model_dir, "--output-dir", run, "--train-split", "test", "--eval-split", "test"]
    argv += ["--max-steps", "1", "--predict-limit", "2", "--eval-metrics", "bleu", "--no-eval-efficiency"]
    assert main([str(a) for a in argv]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rsic: warning:")]
    assert (
        len(warnings) == 2
        and "leakage: this run trains on split 'test' and is scored on the same images" in (warnings[0])
    ), warnings
    leak = json.loads((run / "config.json").read_text())["leakage"]
    assert leak and "--eval-split test" in leak

    table = tables.runs_table([load_run(run)])
    assert table.loc[0, "split"] == "test (trained on it: leakage)"

    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.run()
    page.switch_page("views/train.py")
    page.session_state["train_run"] = str(run)
    page.run()
    assert not page.exception, page.exception
    assert any(w.value == leak for w in page.warning), [w.value for w in page.warning]

    page.session_state["runs_root"] = str(runs)
    page.switch_page("views/runs.py")
    page.run()
    assert not page.exception, page.exception
    assert any("leakage" in w.value and "leaky" in w.value for w in page.warning), [w.value for w in page.warning]


def test_a_run_scored_on_another_split_has_no_leakage_warning():
    from rsic_core.training.checks import leakage

    assert leakage({"train_split": "train", "eval_split": "test"}) is None
    assert leakage({"train_split": "train", "eval_split": "train", "predict_limit": -1}) is None  # never scored
    assert "--val-split train" in leakage({"train_split": "train", "val_split": "train", "eval_steps": 5})


def test_checking_a_model_for_nan_adds_little_to_loading_the_shipped_model():
    """The finiteness check reads every tensor once (min and max): on the shipped 16 MB model about 30 ms of a
    350 ms load on 2 busy cores (measured 2026-12); well under a third of the load here."""
    from rsic_core.models.loading import first_nonfinite
    from rsic_core.models.registry import load_captioner
    from rsic_core.paths import UCM_MODEL

    started = time.perf_counter()
    load_captioner(UCM_MODEL, device="cpu")
    load = time.perf_counter() - started
    started = time.perf_counter()
    assert first_nonfinite(sorted(Path(UCM_MODEL).glob("*.safetensors"))) is None
    check = time.perf_counter() - started
    assert check < 0.3 * load, f"check {check:.3f} s, load {load:.3f} s"


def test_caption_and_evaluation_settings_refuse_booleans_and_non_finite_numbers():
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.runs.evaluation import EvalConfig

    with pytest.raises(ValueError, match=r"^gen_num_beams must be a whole number, not true"):
        CaptionConfig(gen_num_beams=True)
    with pytest.raises(ValueError, match=r"^max_image_pixels must be a finite number \(got inf\)"):
        CaptionConfig(max_image_pixels=float("inf"))
    with pytest.raises(ValueError, match=r"^eval_efficiency_repeats must be a whole number, not false"):
        EvalConfig(eval_efficiency_repeats=False)
    assert CaptionConfig(gen_num_beams=3).gen_num_beams == 3
