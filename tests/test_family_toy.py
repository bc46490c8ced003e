"""A family added from outside the package (GIT, defined in this file) works everywhere a built-in one does.

The toy family is a real transformers architecture (``GitForCausalLM`` with its ``GitProcessor``)
that the project does not ship: it is declared here as one small :class:`Family` subclass,
registered with :func:`register_family`, and taken through loading, captioning, LoRA training,
pruning and the efficiency report without any other change to the code.
"""

from __future__ import annotations

import json

import pytest

from rsic_core.models.base import Family
from rsic_core.models.registry import build_tiny, family_of, load_captioner, register_family, unregister_family
from tests.support.captioning import CAPTIONS, colour_images, teach

pytestmark = pytest.mark.usefixtures("one_thread")

_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)


class ToyGit(Family):
    """GIT: a CLIP vision tower whose projected patches prefix a BERT-style causal decoder."""

    name = "toy-git"
    title = "GIT (toy)"
    example = "microsoft/git-base"
    model_type = "git"
    model_class = "GitForCausalLM"
    processor_class = "GitProcessor"
    lora_targets = ("query", "value")  # the decoder's attention; the CLIP tower names its q_proj/v_proj
    towers = {"vision": "git.image_encoder", "projector": "git.visual_projection", "language": "git.encoder"}
    prunable = {"language": ("git.encoder.layer", ("",))}  # GitConfig itself counts the decoder layers
    tiny_sizes = (dict(_TINY, patch_size=8), dict(_TINY), {})
    tokenizer_template = "<bos> $A <eos>"

    def tiny_processor(self, tokenizer, vision, extra):
        from transformers import CLIPImageProcessorPil, GitProcessor

        size = vision["image_size"]
        image_processor = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        return GitProcessor(image_processor=image_processor, tokenizer=tokenizer)

    def tiny_config(self, processor, vision, text, extra):
        from transformers import GitConfig

        return GitConfig(vision_config=vision, **text, **extra)


@pytest.fixture(scope="module")
def toy():
    family = register_family(ToyGit())
    yield family
    unregister_family(family.name)


@pytest.fixture(scope="module")
def toy_dir(toy, tmp_path_factory):
    captioner = build_tiny(toy.name, captions=list(CAPTIONS.values()) * 4)
    teach(captioner, steps=80)
    return captioner.save(tmp_path_factory.mktemp("toy-git"))


def test_a_saved_toy_model_is_detected_and_captions(toy, toy_dir):
    import transformers

    from rsic_core.models.inference import CaptionConfig, caption_images

    assert family_of(transformers.AutoConfig.from_pretrained(toy_dir)) is toy
    loaded = load_captioner(toy_dir)
    assert loaded.family is toy and type(loaded.model).__name__ == "GitForCausalLM"
    results = caption_images(loaded, colour_images(), CaptionConfig(batch_size=2))
    matched = sum(r.caption == expected for r, expected in zip(results, CAPTIONS.values()))
    assert matched >= 2, [r.caption for r in results]


def test_the_toy_family_trains_with_lora(toy, toy_dir, demo_dir, tmp_path):
    from rsic_core.training.trainer import jobs, train
    from tests.support.training import quick_config

    run_dir = train(quick_config(toy_dir, tmp_path, max_steps=2, save_steps=2, predict_limit=2, train_limit=4))
    assert jobs.read_status(run_dir)["state"] == "completed"
    assert [row["step"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)] == [1, 2]
    lora = json.loads((run_dir / "lora.json").read_text())
    assert lora["wrapped"]["language"] == 4 and lora["wrapped"]["vision"] == 0  # query, value in 2 decoder layers
    tuned = load_captioner(toy_dir, adapter=run_dir / "adapter")
    assert tuned.family is toy


def test_the_toy_family_prunes_and_reports_its_cost(toy, toy_dir, tmp_path):
    from rsic_core.models.inference import generate_captions
    from rsic_core.scoring import efficiency
    from rsic_core.training.pruning import prune_layers

    captioner = load_captioner(toy_dir)
    full = captioner.num_parameters()
    with pytest.raises(ValueError, match=r"no qformer tower.*BLIP-2 \(OPT\)"):
        prune_layers(captioner.model, toy, qformer_layers=1)
    assert prune_layers(captioner.model, toy, lm_layers=1) == {"language": (2, 1)}
    pruned = load_captioner(captioner.save(tmp_path / "pruned"))  # loads back at the pruned size
    assert pruned.model.config.num_hidden_layers == 1 and pruned.num_parameters() < full
    assert all(isinstance(c, str) for c in generate_captions(pruned, colour_images()))

    images = colour_images()
    report = efficiency.measure(
        pruned.model, lambda: generate_captions(pruned, images), n_images=len(images), path=tmp_path / "pruned"
    )
    assert report.params_total == pruned.num_parameters() and report.params_trainable == report.params_total
    assert report.gflops_per_image > 0 and report.latency_s_per_image > 0
    assert report.size_on_disk_kind == "files" and report.size_on_disk_bytes > 4 * report.params_total
