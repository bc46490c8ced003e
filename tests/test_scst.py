"""SCST: coco-caption's CIDEr-D with training statistics, the self-critical baseline, and short runs on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rsic_core.models.registry import FAMILIES
from rsic_core.training import jobs
from rsic_core.training.scst import CiderD, self_critical_advantages, words
from rsic_core.training.trainer import train
from tests.support.training import quick_config

REFERENCES = [
    ["a red roof beside a road", "a house with a red roof", "a red house near the road"],
    ["a green park with many trees", "many trees in a park", "a park with green trees and a pond"],
    ["two white planes at an airport", "an airport with two planes", "planes parked beside a terminal"],
]
CANDIDATES = ["a red roof near a road", "a park with trees", "a plane at an airport"]


def test_cider_d_is_coco_captions_when_its_statistics_come_from_the_scored_references():
    from pycocoevalcap.cider.cider import Cider

    gts = {str(i): [words(r) for r in refs] for i, refs in enumerate(REFERENCES)}
    res = {str(i): [words(c)] for i, c in enumerate(CANDIDATES)}
    _, expected = Cider().compute_score(gts, res)
    ours = CiderD(REFERENCES).scores(CANDIDATES, REFERENCES)
    assert ours == pytest.approx(list(expected), abs=1e-9)
    assert CiderD(REFERENCES).score("", REFERENCES[0]) == 0.0
    assert words("A Red-roofed house, near the road.") == "a red-roofed house near the road"


def test_training_statistics_change_the_reward_of_rare_words():
    """Document frequencies come from the training corpus, not from the batch being scored."""
    corpus = REFERENCES + [["a red car on a road"]] * 20  # "road" and "red" become common in training
    batch_only, training = CiderD(REFERENCES[:1]), CiderD(corpus)
    assert training.score(CANDIDATES[0], REFERENCES[0]) != pytest.approx(batch_only.score(CANDIDATES[0], REFERENCES[0]))


def test_the_baseline_of_each_sample_is_the_mean_reward_of_the_others():
    import torch

    rewards = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
    advantages, baseline = self_critical_advantages(rewards)
    assert baseline.tolist() == [[2.5, 2.0, 1.5], [0.5, 0.5, 0.5]]
    assert advantages.tolist() == [[-1.5, 0.0, 1.5], [0.0, 0.0, 0.0]]  # equal samples teach nothing
    with pytest.raises(ValueError, match="at least 2"):
        self_critical_advantages(rewards[:, :1])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_scst_loss_rewards_the_better_sample_for_every_family(family, one_thread, monkeypatch):
    """One SCST step raises the log-probability of the sample with the higher reward (a fixed reward)."""
    import torch
    from PIL import Image

    from rsic_core.models.registry import build_tiny
    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.losses import labels_shifted, sequence_log_probs
    from rsic_core.training.scst import Samples, ScstSetup, scst_loss

    tiny = build_tiny(family, text={"initializer_range": 0.2} if family == "paligemma" else None)
    collator = CaptionCollator(tiny.family, tiny.processor)
    image = Image.new("RGB", (32, 32), "red")
    good, bad = "a red roof beside a road", "a green park"

    class Reward:  # the first sample is "good", the second "bad", whatever was sampled
        def scores(self, candidates, references):
            return [1.0, 0.0]

    setup = ScstSetup(tiny.family, tiny.processor, collator, Reward(), samples=2, max_new_tokens=6)
    model = tiny.model.train()

    def log_probs():
        batch = collator.encode([image, image], [good, bad])
        labels = batch.pop("labels")
        torch.manual_seed(0)  # the same dropout masks before and after the step
        with torch.no_grad():
            return sequence_log_probs(model(**batch).logits, labels, labels_shifted(model))

    before = log_probs()
    # The samples are replaced by fixed ones (their training rows stand for generate's output), so the
    # test does not depend on what was drawn.
    drawn = Samples([good, bad], collator.encode([image, image], [good, bad])["input_ids"])
    monkeypatch.setattr("rsic_core.training.scst.sample_captions", lambda *args, **kwargs: drawn)
    loss, stats = scst_loss(model, model, {"images": [image], "references": [[good]]}, setup, lambda b: b)
    assert torch.isfinite(loss) and stats["reward"] == 0.5 and stats["baseline"] == 0.5
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= 0.05 * p.grad
    after = log_probs()
    assert after[0] - before[0] > after[1] - before[1], (before, after)


def test_sampling_draws_k_captions_per_image_with_the_models_generate(one_thread):
    from PIL import Image

    from rsic_core.models.registry import build_tiny
    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.scst import ScstSetup, sample_captions

    tiny = build_tiny("blip2-opt")
    setup = ScstSetup(tiny.family, tiny.processor, CaptionCollator(tiny.family, tiny.processor), None, 3, 5)
    images = [Image.new("RGB", (32, 32), c) for c in ("red", "blue")]
    samples = sample_captions(tiny.model.train(), setup, images, "cpu")
    captions = samples.captions
    assert len(captions) == 6 and all(isinstance(c, str) for c in captions) and samples.sequences.shape[0] == 6
    assert tiny.model.training  # back in training mode after sampling with dropout off
    assert len(set(captions)) > 1  # sampled, not greedy: a random model draws different captions


def test_sampling_never_draws_the_image_placeholder(one_thread):
    """A drawn <image> token would be read as an image slot when the sample is teacher-forced (PaliGemma:
    "Image features and image tokens do not match"); here the model is made to prefer it above all."""
    import torch
    from PIL import Image

    from rsic_core.models.base import image_token_id
    from rsic_core.models.registry import build_tiny
    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.scst import ScstSetup, sample_captions

    tiny = build_tiny("paligemma")
    image_id = image_token_id(tiny.processor)
    with torch.no_grad():  # the output row of <image> (tied to its embedding, which image features replace)
        tiny.model.get_output_embeddings().weight[image_id] *= 1000
    setup = ScstSetup(tiny.family, tiny.processor, CaptionCollator(tiny.family, tiny.processor), None, 4, 6)
    samples = sample_captions(tiny.model, setup, [Image.new("RGB", (32, 32), "red")], "cpu")
    prompt = tiny.family.encode(tiny.processor, [Image.new("RGB", (32, 32), "red")])["input_ids"].shape[1]
    assert not bool((samples.sequences[:, prompt:] == image_id).any())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_scst_teacher_forces_exactly_the_sampled_tokens(family, one_thread):
    """The log-probability SCST weighs is the one ``generate`` drew each sample with, token for token.

    A random model samples byte fragments and location tokens whose decoded text encodes to other
    tokens (and captions cut at the limit have no EOS): re-encoding the text scored other sequences.
    """
    import torch
    from PIL import Image

    from rsic_core.models.registry import build_tiny
    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.losses import labels_shifted, sequence_log_probs
    from rsic_core.training.scst import Samples, ScstSetup, sampled_batch

    torch.manual_seed(0)
    tiny = build_tiny(family)
    model, processor = tiny.model.eval(), tiny.processor
    images = [Image.new("RGB", (32, 32), c) for c in ("red", "blue")]
    inputs = tiny.family.encode(processor, images)
    with torch.no_grad():
        out = model.generate(
            **inputs, do_sample=True, top_k=0, num_return_sequences=3, max_new_tokens=6,
            output_logits=True, return_dict_in_generate=True,
        )  # fmt: skip
    drawn = out.sequences[:, -len(out.logits) :]
    eos = model.generation_config.eos_token_id  # BITA ends at "\n", not at the tokenizer's EOS
    ended = drawn == eos
    counted = (ended.int().cumsum(1) - ended.int()) == 0  # every token through the first EOS
    token_lp = torch.log_softmax(torch.stack(out.logits, 1).float(), -1).gather(-1, drawn[..., None])[..., 0]
    expected = (token_lp * counted).sum(1)

    prefix = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    samples = Samples(tiny.family.decode(processor, out.sequences, prefix), out.sequences)
    setup = ScstSetup(tiny.family, processor, CaptionCollator(tiny.family, processor), None, 3)
    batch = sampled_batch(setup, [im for im in images for _ in range(3)], samples, [eos])
    labels = batch.pop("labels")
    with torch.no_grad():
        got = sequence_log_probs(model(**batch).logits, labels, labels_shifted(model))
    assert got.tolist() == pytest.approx(expected.tolist(), abs=1e-4)
    with pytest.raises(ValueError, match="do not begin with the training row"):
        sampled_batch(setup, images[:1], Samples(samples.captions[:1], out.sequences[:1, 1:]), [eos])


def test_two_step_scst_run_after_a_cross_entropy_run(tiny_model_dir, tmp_path, one_thread):
    """XE LoRA run, then SCST started from that run (--model RUN): reward logged, merged model saved, evaluated."""
    from rsic_core.models.registry import load_captioner
    from rsic_core.runs.layout import load_run
    from rsic_core.training.modes import start_model

    xe = train(quick_config(tiny_model_dir, tmp_path / "xe", max_steps=2, save_steps=2, predict_limit=-1))
    assert start_model(str(xe)) == (str(tiny_model_dir), str(xe / "adapter"))
    config = quick_config(
        xe, tmp_path / "scst", objective="scst", scst_samples=3, train_limit=4, per_device_train_batch_size=2,
        max_steps=2, save_steps=1, predict_limit=2, gen_max_new_tokens=8, learning_rate=1e-3, eval_steps=2,
        val_limit=2, val_metrics="cider",
    )  # fmt: skip
    run_dir = train(config)

    assert jobs.read_status(run_dir)["state"] == "completed"
    log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    assert [row["step"] for row in log] == [1, 2]
    assert all(row["reward"] is not None and row["baseline"] is not None for row in log)
    assert all(0.0 <= row["reward"] <= row["reward_max"] for row in log)
    assert "CIDEr" in jobs.read_jsonl(run_dir / jobs.VAL_LOG)[0]
    run = load_run(run_dir)
    assert run.config["objective"] == "scst" and run.config["adapter"].endswith("adapter")
    assert len(run.predictions) == 2 and "CIDEr" in run.corpus
    merged = Path(run.config["merged_model"])  # its adapter fits the XE run's merged weights: saved merged
    assert load_captioner(merged).family.name == "paligemma"
    assert start_model(str(run_dir)) == (str(merged), None)  # a further run starts from it
    assert json.loads((run_dir / "lora.json").read_text())["mode"] == "lora"


def test_scst_from_a_run_without_weights_says_so(tiny_model_dir, tmp_path):
    from rsic_core.training.modes import start_model

    folder = tmp_path / "unfinished"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"kind": "training", "model": str(tiny_model_dir)}))
    with pytest.raises(ValueError, match="no adapter or model yet"):
        start_model(str(folder))
