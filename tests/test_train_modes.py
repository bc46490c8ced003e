"""Full-parameter training (every weight outside the family's frozen towers) and label smoothing for all six families."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from rsic_core.models.registry import FAMILIES
from rsic_core.training import jobs
from rsic_core.training.config import TrainConfig
from rsic_core.training.trainer import train
from tests.support.training import quick_config


def _losses(run_dir: Path) -> list[float]:
    return [row["loss"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)]


def test_full_run_trains_every_weight_saves_the_model_folder_and_evaluates_from_it(
    tiny_model_dir, tmp_path, demo_dir, one_thread
):
    from rsic_core.cli import main
    from rsic_core.models.registry import load_captioner
    from rsic_core.runs.layout import load_run
    from rsic_core.runs.tables import adapter_label

    run_dir = train(quick_config(tiny_model_dir, tmp_path, train_mode="full", max_steps=8, learning_rate=3e-3))

    assert jobs.read_status(run_dir)["state"] == "completed"
    losses = _losses(run_dir)
    assert losses[-1] < 0.85 * losses[0], losses
    report = json.loads((run_dir / "lora.json").read_text())
    assert report["mode"] == "full" and report["share"] == 1.0 and report["trainable"] == report["total"]
    run = load_run(run_dir)
    model_dir = Path(run.config["merged_model"])
    assert model_dir == run_dir / "model" and run.config["adapter"] is None and run.config["train_mode"] == "full"
    assert not (run_dir / "adapter").exists()
    assert len(run.predictions) == 4 and "CIDEr" in run.corpus
    assert "model" in adapter_label(run.config)  # the Runs page names the whole model, not "(none yet)"
    trained, base = load_captioner(model_dir), load_captioner(tiny_model_dir)
    changed = [n for n, p in trained.model.state_dict().items() if not p.equal(base.model.state_dict()[n])]
    assert any("vision" in n for n in changed) and any("language" in n for n in changed)

    out = tmp_path / "evaluated"
    assert main(["evaluate", "--model", str(model_dir), "--data", str(demo_dir), "--eval-split", "test",
                 "--eval-limit", "2", "--metrics", "bleu", "--no-eval-efficiency", "--out", str(out)]) == 0  # fmt: skip
    assert len(load_run(out).predictions) == 2


def test_frozen_towers_stay_frozen_and_the_trainable_count_says_so(one_thread):
    from rsic_core.models.families.paligemma import PaliGemma
    from rsic_core.models.registry import build_tiny
    from rsic_core.training.modes import freeze_towers

    tiny = build_tiny("paligemma")
    family = type("FrozenVision", (PaliGemma,), {"frozen_towers": ("vision",)})()
    report = freeze_towers(tiny.model, family)
    vision = sum(p.numel() for n, p in tiny.model.named_parameters() if family.tower_of(n) == "vision")
    assert report["trainable"] == report["total"] - vision and "vision" not in report["trainable_per_tower"]
    assert all(not p.requires_grad for n, p in tiny.model.named_parameters() if family.tower_of(n) == "vision")
    assert all(p.requires_grad for n, p in tiny.model.named_parameters() if family.tower_of(n) == "language")
    everything = type("AllFrozen", (PaliGemma,), {"frozen_towers": tuple(PaliGemma.towers)})()
    with pytest.raises(ValueError, match="train nothing"):
        freeze_towers(build_tiny("paligemma").model, everything)


def test_a_cancelled_full_run_resumes_with_the_losses_of_an_uninterrupted_one(tiny_model_dir, tmp_path, one_thread):
    options = dict(train_mode="full", max_steps=6, save_steps=3, predict_limit=-1, learning_rate=3e-3)
    reference = train(quick_config(tiny_model_dir, tmp_path / "reference", **options))

    def cancel_at_three(step, total):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # what the Train page's Cancel sends

    run_dir = train(quick_config(tiny_model_dir, tmp_path / "run", **options), progress=cancel_at_three)
    assert jobs.read_status(run_dir)["state"] == "cancelled"
    assert (run_dir / "model" / "model.safetensors").is_file()  # what it learnt so far is kept
    train(TrainConfig(resume=str(run_dir)))
    assert [row["step"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)] == list(range(1, 7))
    assert _losses(run_dir) == pytest.approx(_losses(reference), rel=1e-3, abs=1e-4)
    assert jobs.read_status(run_dir)["state"] == "completed"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_label_smoothing_factor_is_the_one_knob_of_every_familys_training_loss(family, tmp_path, one_thread):
    """The Trainer's loss in training mode is (1 - eps) * NLL + eps * mean -log p over the vocabulary, eps the run's
    label_smoothing_factor, 0 included: never the smoothing a model's own loss applies (PureT's 0.1 as released,
    BLIP's text_config.label_smoothing)."""
    import torch
    from PIL import Image

    from rsic_core.models.registry import build_tiny
    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.losses import caption_trainer

    tiny = build_tiny(family, text={"label_smoothing": 0.1} if family == "blip" else None)
    images = [Image.new("RGB", (32, 32), c) for c in ("red", "green")]
    batch = CaptionCollator(tiny.family, tiny.processor).encode(images, ["a red roof beside a road", "a green park"])
    model = tiny.model.train()  # dropout on, as in a run; each forward pass draws the same masks (same seed)
    torch.manual_seed(0)
    with torch.no_grad():
        outputs = model(**batch)
    logits, labels = outputs.logits[:, :-1], batch["labels"][:, 1:]  # the decoders predict the next token
    mask = labels != -100
    log_probs = torch.log_softmax(logits.float(), dim=-1)[mask]
    nll = -log_probs.gather(1, labels[mask].unsqueeze(1)).mean()
    uniform = -log_probs.mean()
    own = 0.1 if family in ("puret", "blip") else 0.0  # what the model's own loss smooths by (BLIP's set above)
    assert float(outputs.loss) == pytest.approx(float((1 - own) * nll + own * uniform), abs=1e-5)  # same alignment
    if own:
        assert float(outputs.loss) != pytest.approx(float(nll), abs=1e-4)  # so a run that took it would be seen

    def trainer_loss(epsilon: float) -> float:
        args = TrainConfig(output_dir=str(tmp_path / "t"), label_smoothing_factor=epsilon, train_device="cpu")
        trainer_class, extra = caption_trainer(args, model)
        trainer = trainer_class(model=model, args=args, **extra)
        model.train()
        torch.manual_seed(0)
        with torch.no_grad():
            return float(trainer.compute_loss(model, dict(batch)))

    assert trainer_loss(0.0) == pytest.approx(float(nll), abs=1e-5)
    assert trainer_loss(0.2) == pytest.approx(float(0.8 * nll + 0.2 * uniform), abs=1e-4)
    assert trainer_loss(0.2) != pytest.approx(trainer_loss(0.0), abs=1e-4)  # it changes the value


def test_the_command_line_offers_the_mode_and_objective(capsys):
    from rsic_core.cli.train import parse_config

    with pytest.raises(SystemExit):
        parse_config(["--help"])
    text = capsys.readouterr().out
    assert "--train-mode" in text and "--objective" in text and "--scst-samples" in text
    (config,) = parse_config(["--train-mode", "full", "--objective", "scst", "--scst-samples", "4"])
    assert (config.train_mode, config.objective, config.scst_samples, config.weights_dtype) == (
        "full",
        "scst",
        4,
        "fp32",
    )
    with pytest.raises(ValueError, match="scst_samples"):
        TrainConfig(scst_samples=1)
    with pytest.raises((ValueError, SystemExit)):
        parse_config(["--train-mode", "half"])


def test_a_full_run_ships_as_a_bf16_model_folder_with_its_card(tiny_model_dir, tmp_path, demo_dir, one_thread):
    import torch
    from safetensors import safe_open

    from rsic_core.cli import main
    from rsic_core.models.cards import model_card
    from rsic_core.models.registry import load_captioner

    run_dir = train(quick_config(tiny_model_dir, tmp_path, train_mode="full", max_steps=2, eval_steps=1))
    out = tmp_path / "shipped"
    assert main(["model", "ship", str(run_dir), "--out", str(out), "--knows", "the demo scenes",
                 "--notes", '{"provenance": "synthetic"}']) == 0  # fmt: skip
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        assert {weights.get_tensor(k).dtype for k in weights.keys()} == {torch.bfloat16}
    card = json.loads((out / "training.json").read_text())
    assert card["provenance"] == "synthetic" and card["training_options"]["max_steps"] == 2
    assert [v["step"] for v in card["validation_curve"]] == [1, 2] and "CIDEr" in json.dumps(card["final_scores"])
    assert set(card["classes"]) == {r["scene"]["class"] for r in json.loads(
        (demo_dir / "dataset_demo.json").read_text())["images"] if r["split"] == "train"}  # fmt: skip
    assert model_card(str(out)).knows == "the demo scenes" and model_card(str(out)).classes == tuple(card["classes"])
    assert load_captioner(out).model.dtype == torch.float32  # bf16 on disk, fp32 on the CPU as any model

    with pytest.raises(ValueError, match="exists and is not an empty folder; nothing was written"):
        from rsic_core.training.ship import ship_run

        ship_run(run_dir, out, "again")
    with pytest.raises(ValueError, match="no training run here \\(no config.json\\)"):
        ship_run(tmp_path / "nowhere", tmp_path / "other", "the demo scenes")


def test_the_scene_loss_adds_a_class_cross_entropy_and_leaves_no_head_in_the_saved_model(
    tiny_model_dir, tmp_path, one_thread
):
    import math

    from safetensors import safe_open

    options = dict(train_mode="full", max_steps=2, predict_limit=-1, train_limit=24, learning_rate=1e-4)
    plain = train(quick_config(tiny_model_dir, tmp_path / "plain", **options))
    scene = train(quick_config(tiny_model_dir, tmp_path / "scene", scene_loss_weight=2.0, **options))
    # The same batch, the same caption loss; a fresh head adds about weight * ln(classes) (its logits start near 0).
    added = _losses(scene)[0] - _losses(plain)[0]
    n_classes = len(json.loads((scene / "config.json").read_text())["scene_classes"])  # those of the 24 images
    assert n_classes >= 2
    assert abs(added - 2.0 * math.log(n_classes)) < 0.6, added
    with (
        safe_open(str(scene / "model" / "model.safetensors"), "pt") as saved,
        safe_open(str(plain / "model" / "model.safetensors"), "pt") as reference,
    ):
        assert set(saved.keys()) == set(reference.keys())  # the head was the Trainer's, never the model's

    with pytest.raises(ValueError, match="scene_loss_weight applies to the cross-entropy objective"):
        TrainConfig(objective="scst", scene_loss_weight=1.0, use_cpu=True)
