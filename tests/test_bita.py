"""BITA (OPT): the architecture of the release, its counts, training rows, freezing, LoRA, pruning, attentions,
and the converter of the authors' checkpoint (tested with state dicts built from ../shared/reference)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rsic_core.models.inference import CaptionConfig, caption_images
from rsic_core.models.registry import build_shape, build_tiny, get_family, load_captioner
from tests.support.captioning import CAPTIONS, colour_images, teach

pytestmark = pytest.mark.usefixtures("one_thread")

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "bita_checkpoint.json"
FROZEN = dict(freeze_vision=True, freeze_language=True)


def _reference() -> dict:
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} is absent (the reference facts of the released checkpoints are optional)")
    return json.loads(REFERENCE.read_text())


def _params(model, prefix: str = "", trainable: bool = False) -> int:
    return sum(
        p.numel() for n, p in model.named_parameters() if n.startswith(prefix) and (p.requires_grad or not trainable)
    )


def test_real_shape_counts_equal_the_release():
    """Built on the meta device, every part counts exactly what the authors' model counts (reference/bita)."""
    model = build_shape("bita-opt-2.7b", device="meta").model
    assert _params(model) == 3_008_774_144
    assert _params(model, trainable=True) == 91_788_288  # vision tower and OPT frozen by default
    assert _params(model, "vision_model") == 265_389_056  # 21 CLIP-L blocks, no post-LayerNorm
    assert _params(model, "ift") == 89_793_024 and model.query_tokens.numel() == 24_576
    assert _params(model, "language_projection") == 1_968_640
    assert _params(model, "language_model") == 2_651_596_800
    assert _params(model, "ln_vision") == 2048
    assert len(model.vision_model.encoder.layers) == 21
    assert not any("post_layernorm" in name for name, _ in model.named_parameters())


def test_counts_match_the_reference_file():
    counts = _reference()["param_counts"]
    model = build_shape("bita-opt-2.7b", device="meta").model
    assert (_params(model), _params(model, trainable=True)) == (counts["total"], counts["trainable"])
    assert _params(model, "ift") == counts["IFT"] and _params(model, "language_model") == counts["LLM"]


def test_each_ift_layer_mixes_by_fft_attends_to_the_image_and_keeps_only_the_query_ffn():
    import torch

    captioner = build_tiny("bita-opt")
    layer = captioner.model.ift.encoder.layer[0]
    names = {n.rsplit(".", 1)[0] for n, _ in layer.named_parameters()}
    assert names == {
        "fourier.output.LayerNorm",
        "crossattention.self.query",
        "crossattention.self.key",
        "crossattention.self.value",
        "crossattention.output.dense",
        "crossattention.output.LayerNorm",
        "intermediate_query.dense",
        "output_query.dense",
        "output_query.LayerNorm",
    }
    x = torch.randn(2, 4, 32)
    mixing = layer.fourier
    expected = torch.nn.functional.layer_norm(x + torch.fft.fftn(x, dim=(1, 2)).real, (32,), eps=1e-12)
    assert torch.allclose(mixing(x), expected, atol=1e-5)
    half = mixing.to(torch.bfloat16)(x.to(torch.bfloat16))  # the FFT itself runs in float32
    assert half.dtype == torch.bfloat16 and torch.allclose(half.float(), expected, atol=0.1)


def test_training_rows_are_prompt_space_caption_newline_and_only_the_caption_is_labelled():
    captioner = build_tiny("bita-opt")
    tokenizer = captioner.processor.tokenizer
    assert tokenizer.decode([tokenizer.eos_token_id]) == "\n"  # the caption ends where the release stops: "\n"
    assert tokenizer("a lake\n", add_special_tokens=False)["input_ids"][-1] == tokenizer.eos_token_id
    batch = captioner.family.encode(captioner.processor, colour_images()[:2], ["a lake", "two planes"])
    ids = batch["input_ids"][0]
    image_id = captioner.model.config.image_token_index
    assert (ids[:4] == image_id).all() and int((ids == image_id).sum()) == 4  # the queries' places come first
    text = tokenizer.decode(ids[4:], skip_special_tokens=False)
    assert text.replace("<pad>", "").endswith("a photo of a lake\n")  # a space after the prompt
    kept = batch["labels"][0][batch["labels"][0] != -100]
    assert tokenizer.decode(kept) == " a lake\n"


def test_vision_and_language_are_frozen_by_default_and_stay_frozen_after_loading(tmp_path):
    from rsic_core.models.families.bita.configuration import BitaConfig

    assert BitaConfig().freeze_vision and BitaConfig().freeze_language
    captioner = build_tiny("bita-opt", extra=FROZEN)
    loaded = load_captioner(captioner.save(tmp_path / "bita"))
    for model in (captioner.model, loaded.model):
        grads = {n: p.requires_grad for n, p in model.named_parameters()}
        assert not any(v for n, v in grads.items() if n.startswith(("vision_model.", "language_model.")))
        assert all(
            v for n, v in grads.items() if n.startswith(("ift.", "ln_vision.", "query_tokens", "language_projection."))
        )
        assert _params(model, trainable=True) == sum(
            _params(model, p) for p in ("ift", "ln_vision", "query_tokens", "language_projection")
        )


@pytest.mark.parametrize(
    "preset, towers",
    [
        ("default", {"vision", "ift", "language"}),
        ("ift-language", {"ift", "language"}),
        ("language-only", {"language"}),
    ],
)
def test_lora_presets_reach_the_ift_and_opt(preset, towers):
    from rsic_core.training.lora import apply_lora

    captioner = build_tiny("bita-opt", extra=FROZEN)
    _, report = apply_lora(captioner.model, captioner.family, r=4, targets=preset)
    reached = {tower for tower, count in report["wrapped"].items() if count}
    assert reached == towers, report["wrapped"]
    layers = {"ift": 2 * 2, "language": 2 * 2, "vision": 2 * 2}  # 2 layers x (query, key) or (q_proj, k_proj)
    assert all(report["wrapped"][t] == layers[t] for t in towers)


def test_attentions_for_grounding_queries_over_the_image_and_opt_over_the_queries():
    import torch

    captioner = build_tiny("bita-opt")
    batch = captioner.family.encode(captioner.processor, colour_images()[:2], ["a lake", "two planes"])
    with pytest.raises(ValueError, match="set_attn_implementation"):
        captioner.model(**batch, output_attentions=True)
    captioner.model.set_attn_implementation("eager")
    with torch.no_grad():
        out = captioner.model(**batch, output_attentions=True)
    cross = out.ift_outputs.cross_attentions
    assert len(cross) == 2 and cross[0].shape == (2, 2, 4, 17)  # layers; batch, heads, queries, CLS + 4x4 patches
    assert torch.allclose(cross[0].sum(-1), torch.ones(2, 2, 4))
    language = out.language_model_outputs.attentions
    positions = batch["input_ids"].shape[1]
    assert len(language) == 2 and language[0].shape == (2, 2, positions, positions)


def test_pruned_opt_and_ift_keep_their_first_layers_save_load_and_caption(tmp_path):
    """Keep 1 OPT layer (pruning.prune_layers) and 1 IFT layer (the family's ``prunable`` entry), then teach."""
    from rsic_core.training.pruning import prune_layers

    captioner = build_tiny("bita-opt", captions=list(CAPTIONS.values()) * 4)
    model, family = captioner.model, captioner.family
    first = model.language_model.model.decoder.layers[0]
    assert prune_layers(model, family, lm_layers=1) == {"language": (2, 1)}
    assert model.language_model.model.decoder.layers[0] is first and model.config.text_config.num_hidden_layers == 1
    path, configs = family.prunable["ift"]
    del model.get_submodule(path)[1:]
    for name in configs:
        getattr(model.config, name).num_hidden_layers = 1
    assert teach(captioner, steps=80)[-1] < 0.5
    loaded = load_captioner(captioner.save(tmp_path / "pruned"))
    assert len(loaded.model.ift.encoder.layer) == 1 and loaded.model.config.ift_config.num_hidden_layers == 1
    assert len(loaded.model.language_model.model.decoder.layers) == 1
    for beams in (1, 3):
        results = caption_images(loaded, colour_images(), CaptionConfig(gen_num_beams=beams, batch_size=3))
        assert [r.caption for r in results] == list(CAPTIONS.values())


def test_generate_uses_the_models_generation_config_unless_told():
    import torch

    captioner = build_tiny("bita-opt")
    model = captioner.model
    model.generation_config.update(**get_family("bita-opt").generation_defaults)
    inputs = captioner.family.encode(captioner.processor, colour_images()[:1])
    with torch.no_grad():
        defaults = model.generate(**inputs)
        short = model.generate(**inputs, max_new_tokens=2, min_new_tokens=0, num_beams=1)
    prompt = inputs["input_ids"].shape[1]
    assert 5 <= defaults.shape[1] - prompt <= 22 and short.shape[1] - prompt <= 2
