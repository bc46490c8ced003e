"""BITA (OPT): the architecture of the release, its counts, training rows, freezing, LoRA, pruning, attentions,
and the converter of the authors' checkpoint (tested with state dicts built from ../shared/reference)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rsic_core.models.inference import CaptionConfig, caption_images
from rsic_core.models.registry import build_shape, build_tiny, get_family, load_captioner
from tests.support.captioning import CAPTIONS, colour_images, teach
from tests.support.shared import shared_path

pytestmark = pytest.mark.usefixtures("one_thread")

FROZEN = dict(freeze_vision=True, freeze_language=True)


def _reference() -> dict:
    return json.loads(shared_path("reference", "bita_checkpoint.json").read_text())


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
    for dtype in (torch.bfloat16, torch.float16):  # the FFT itself runs in float32 (cuFFT: half only for 2^n)
        half = mixing.to(dtype)(x.to(dtype))
        assert half.dtype == dtype and torch.allclose(half.float(), expected, atol=0.1)


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
        ("default", {"ift", "language"}),
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
    """Keep 1 OPT layer and 1 IFT layer (``prune_qformer_layers`` cuts BITA's bridge, the IFT), then teach."""
    from rsic_core.training.pruning import prune_layers

    captioner = build_tiny("bita-opt", captions=list(CAPTIONS.values()) * 4)
    model, family = captioner.model, captioner.family
    first = model.language_model.model.decoder.layers[0]
    assert prune_layers(model, family, qformer_layers=1, lm_layers=1) == {"ift": (2, 1), "language": (2, 1)}
    assert model.language_model.model.decoder.layers[0] is first and model.config.text_config.num_hidden_layers == 1
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


# --- the authors' checkpoint -----------------------------------------------------------------------------------

TINY_IFT = dict(hidden_size=64, num_attention_heads=1, num_hidden_layers=2, intermediate_size=96)  # BERT heads of 64


def _released_file(path: Path, model_state: dict) -> Path:
    """``torch.save`` of the authors' container around ``model_state`` (as reference/bita how_saved_struct says)."""
    import torch

    container = {
        "model": model_state,
        "optimizer": {"state": {}, "param_groups": [{"lr": 1e-5, "weight_decay": 0.05, "params": [0, 1]}]},
        "config": {"model": {"arch": "bita_opt", "num_query_token": 32, "prompt": "a photo of"}},
        "scaler": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000},
        "epoch": 7,
    }
    torch.save(container, path)
    return path


def _reference_state() -> dict:
    """Every saved key of the release with its shape and dtype; 1-element storages expanded (a tiny file)."""
    import torch

    ref = _reference()
    shapes, dtypes = ref["state_dict"], ref["state_dict_dtype"]
    return {k: torch.zeros(1, dtype=getattr(torch, dtypes[k])).expand(shapes[k]) for k in ref["saved_keys"]}


def _release_of(model) -> dict:
    """A tiny model's trained tensors under the release's names, plus its position-id buffer and tied lm_head."""
    import torch

    names = (("ift.", "Fformer.bert."), ("language_projection.", "opt_proj."))
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith(("query_tokens", "ln_vision.", "ift.", "language_projection.")):
            for new, old in names:
                key = old + key[len(new) :] if key.startswith(new) else key
            state[key] = value.clone()
    state["Fformer.bert.embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
    state["opt_model.lm_head.weight"] = model.language_model.lm_head.weight.detach().clone().half()
    return state


def test_check_only_maps_every_key_of_the_real_release(tmp_path):
    family = get_family("bita-opt")
    path = _released_file(tmp_path / "checkpoint_best.pth", _reference_state())
    assert path.stat().st_size < 2**20  # expanded one-element storages: the shapes without the gigabytes
    assert family.convert(path, None, check_only=True) == "225 of 225 keys mapped"
    from rsic_core.cli import main

    assert main(["convert", "bita", str(path), "--check-only"]) == 0  # the spelling of bita-opt


@pytest.mark.parametrize(
    "change, words",
    [
        ("drop:Fformer.bert.encoder.layer.7.crossattention.self.key.bias", "1 missing (ift.encoder.layer.7."),
        ("shape:opt_proj.weight", "1 mis-shaped (language_projection.weight: [2560, 700] in the file, [2560, 768]"),
        ("add:Fformer.bert.encoder.layer.3.attention.self.query.weight", "1 unexpected (Fformer.bert.encoder.layer.3"),
    ],
)
def test_a_checkpoint_that_does_not_fit_is_named_in_one_sentence_and_nothing_is_written(tmp_path, change, words):
    import torch

    state = _reference_state()
    kind, key = change.split(":")
    if kind == "drop":
        del state[key]
    elif kind == "shape":
        state[key] = torch.zeros(1).expand(2560, 700)
    else:
        state[key] = torch.zeros(1).expand(768, 768)
    path = _released_file(tmp_path / "checkpoint_best.pth", state)
    family = get_family("bita-opt")
    towers = _real_tower_configs(family, tmp_path)  # configs only: the file is refused before any weight is read
    for check_only in (True, False):
        with pytest.raises(ValueError) as error:
            family.convert(path, tmp_path / "out", check_only=check_only, **towers)
        assert words in str(error.value) and "\n" not in str(error.value)
        assert not (tmp_path / "out").exists()


def _real_tower_configs(family, folder: Path) -> dict:
    """Folders holding only config.json of CLIP ViT-L/14 (24 blocks) and OPT-2.7B."""
    from transformers import CLIPVisionConfig, OPTConfig

    spec = family.shapes["bita-opt-2.7b"]
    CLIPVisionConfig(**{**spec["vision"], "num_hidden_layers": 24}, image_size=224).save_pretrained(folder / "clip")
    OPTConfig(**spec["text"], vocab_size=spec["vocab_size"]).save_pretrained(folder / "opt")
    return dict(vision=str(folder / "clip"), language=str(folder / "opt"))


def _tower_sources(source, folder: Path):
    """A CLIP ViT folder (one block more than BITA keeps, and its post-LayerNorm) and an OPT folder with tokenizer."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    vision = source.model.config.vision_config.to_dict()
    clip = CLIPVisionModel(CLIPVisionConfig(**{**vision, "num_hidden_layers": 22}))
    missing, unexpected = clip.load_state_dict(source.model.vision_model.state_dict(), strict=False)
    assert unexpected == [] and all(k.startswith(("encoder.layers.21.", "post_layernorm.")) for k in missing)
    with torch.no_grad():
        clip.post_layernorm.weight.mul_(3.0)  # BITA must not apply it
    clip.save_pretrained(folder / "clip")
    source.model.language_model.save_pretrained(folder / "opt")
    tokenizer = get_family("bita-opt").tiny_tokenizer(list(CAPTIONS.values()) * 4, 300)  # OPT's own: no <image>
    tokenizer.eos_token = "<eos>"  # as OPT ships its own (</s>); the converter makes the newline EOS
    tokenizer.save_pretrained(folder / "opt")
    return folder / "clip", folder / "opt"


def test_a_converted_tiny_release_loads_strictly_and_equals_the_model_it_came_from(tmp_path):
    import torch

    source = build_tiny(
        "bita-opt", captions=list(CAPTIONS.values()) * 4, vision=dict(num_hidden_layers=21), extra=dict(ift=TINY_IFT)
    )
    teach(source, steps=60)
    released = _release_of(source.model)
    pattern = {re.sub(r"\.\d+\.", ".N.", k) for k in released}
    reference = {re.sub(r"\.\d+\.", ".N.", k) for k in _reference()["saved_keys"]}
    assert pattern == reference  # the tiny file has the release's key names
    path = _released_file(tmp_path / "checkpoint_best.pth", released)
    clip, opt = _tower_sources(source, tmp_path)

    message = get_family("bita-opt").convert(path, tmp_path / "bita", vision=str(clip), language=str(opt))
    assert message.startswith(f"{len(released)} of {len(released)} keys mapped")
    converted = load_captioner(tmp_path / "bita")
    assert converted.family.name == "bita-opt" and len(converted.model.vision_model.encoder.layers) == 21
    assert converted.model.generation_config.num_beams == 5 and converted.model.generation_config.max_new_tokens == 22
    assert converted.processor.tokenizer.eos_token_id == source.processor.tokenizer.eos_token_id
    batch = source.family.encode(source.processor, colour_images(), list(CAPTIONS.values()))
    with torch.no_grad():
        expected, got = source.model(**batch).logits, converted.model(**batch).logits
    assert torch.allclose(got, expected, atol=1e-4)
    results = caption_images(converted, colour_images(), CaptionConfig(gen_num_beams=3))
    assert [r.caption for r in results] == list(CAPTIONS.values())


def test_a_checkpoint_trained_on_another_opt_is_refused(tmp_path):
    source = build_tiny("bita-opt", vision=dict(num_hidden_layers=21), extra=dict(ift=TINY_IFT))
    released = _release_of(source.model)
    released["opt_model.lm_head.weight"] = released["opt_model.lm_head.weight"] + 1
    path = _released_file(tmp_path / "checkpoint_best.pth", released)
    clip, opt = _tower_sources(source, tmp_path)
    with pytest.raises(ValueError, match="differs from the input embedding of --language"):
        get_family("bita-opt").convert(path, tmp_path / "bita", vision=str(clip), language=str(opt))
    assert not (tmp_path / "bita").exists()


def test_full_training_freezes_what_the_model_config_says():
    """The release's towers stay frozen; a tiny BITA built from scratch (towers unfrozen) trains them all."""
    from rsic_core.training.modes import freeze_towers

    scratch = build_tiny("bita-opt")
    report = freeze_towers(scratch.model, scratch.family)
    assert report["frozen"] == [] and report["trainable"] == report["total"]
    recipe = build_tiny("bita-opt", extra=FROZEN)
    report = freeze_towers(recipe.model, recipe.family)
    assert report["frozen"] == ["vision", "language"]
    assert set(report["trainable_per_tower"]) == {"ift", "projector", "other"}
