"""Model families: tiny random models of each architecture, saved and loaded back like a real one."""

from __future__ import annotations

import time

import pytest

from rsic_core.models.base import choose_dtype
from rsic_core.models.inference import CaptionConfig, caption_images
from rsic_core.models.registry import FAMILIES, build_shape, build_tiny, load_captioner
from rsic_core.paths import DEMO_MODEL
from tests.support.captioning import CAPTIONS, colour_images, teach

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_saved_model_of_each_family_captions_after_loading(family, tmp_path):
    """Taught three captions, saved with save_pretrained, loaded by folder: the captions come back."""
    captioner = build_tiny(family, captions=list(CAPTIONS.values()) * 4)
    losses = teach(captioner, steps=80 if family != "paligemma2" else 120)
    assert losses[-1] < losses[0] / 4
    loaded = load_captioner(captioner.save(tmp_path / family))
    assert loaded.family.name == family and loaded.device == "cpu"
    results = caption_images(loaded, colour_images(), CaptionConfig(batch_size=2))
    matched = sum(r.caption == expected for r, expected in zip(results, CAPTIONS.values()))
    assert matched >= 2, [r.caption for r in results]


@pytest.mark.parametrize(
    "family, prompt",
    [
        ("paligemma", None),
        ("paligemma2", "describe en"),
        ("blip2-opt", None),
        ("blip2-opt", "a picture of"),
        ("blip", "a picture of"),
    ],
)
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_labels_cover_only_the_caption(family, prompt, padding_side):
    """The loss is computed on caption tokens (and the closing eos) only: never on image or prompt tokens."""
    captioner = build_tiny(family)
    captions = ["a lake", "two planes beside a runway"]
    batch = captioner.family.encode(
        captioner.processor, colour_images()[:2], captions, prompt=prompt, padding_side=padding_side
    )
    tokenizer = captioner.processor.tokenizer
    for row, caption in zip(batch["labels"], captions):
        kept = row[row != -100]
        assert tokenizer.decode(kept, skip_special_tokens=True).strip() == caption
        assert kept[-1] == tokenizer.eos_token_id  # the model learns to stop


@pytest.mark.parametrize(
    "family, towers",
    [
        ("paligemma", {"vision_tower", "language_model"}),
        ("paligemma2", {"vision_tower", "language_model"}),
        ("blip2-opt", {"qformer", "language_model"}),
        ("blip", {"text_decoder"}),
    ],
)
def test_lora_presets_reach_the_towers_the_family_declares(family, towers):
    from peft import LoraConfig, get_peft_model

    captioner = build_tiny(family)
    model = get_peft_model(captioner.model, LoraConfig(r=4, target_modules=list(captioner.lora_targets)))
    wrapped = [name for name, module in model.named_modules() if hasattr(module, "lora_A")]
    reached = {part for name in wrapped for part in name.split(".") if part in towers | {"vision_model"}}
    assert towers <= reached, wrapped
    if family == "blip":
        assert not any("vision_model" in name for name in wrapped)


def test_an_adapter_folder_is_applied_when_loading(tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model

    captioner = build_tiny("paligemma")
    base_dir = captioner.save(tmp_path / "base")
    peft_model = get_peft_model(
        captioner.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    inputs = captioner.family.encode(captioner.processor, colour_images()[:1])
    with torch.no_grad():
        expected = peft_model(**inputs).logits
        base = load_captioner(base_dir).model(**inputs).logits
        adapted = load_captioner(base_dir, adapter=tmp_path / "adapter").model(**inputs).logits
    assert torch.allclose(adapted, expected, atol=1e-4)
    assert not torch.allclose(base, expected, atol=1e-3)


def test_a_hub_id_offline_fails_at_once_with_one_sentence(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(FileNotFoundError) as error:
        load_captioner("Salesforce/blip2-opt-2.7b-not-cached")
    assert time.perf_counter() - started < 10
    message = str(error.value)
    assert "Salesforce/blip2-opt-2.7b-not-cached" in message and "local folder" in message and "\n" not in message


def test_missing_folders_and_adapters_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        load_captioner(str(tmp_path / "nowhere" / "model.bin"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_captioner(tmp_path / "empty")
    model_dir = build_tiny("blip").save(tmp_path / "blip")
    with pytest.raises(FileNotFoundError, match="not a LoRA adapter folder"):
        load_captioner(model_dir, adapter=tmp_path / "empty")


def test_precision_follows_the_device_unless_asked():
    import torch

    assert choose_dtype("cpu") == torch.float32
    assert choose_dtype("cpu", "bf16") == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        choose_dtype("cpu", "int3")


@pytest.mark.parametrize("shape, billions", [("blip2-opt-2.7b", 3.74), ("paligemma2-3b-224", 3.05)])
def test_real_shapes_have_the_published_size(shape, billions):
    captioner = build_shape(shape, device="meta")
    assert captioner.num_parameters() / 1e9 == pytest.approx(billions, rel=0.01)


def test_the_demo_model_is_small_and_loads_offline():
    files = [p for p in DEMO_MODEL.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 20 * 2**20
    captioner = load_captioner()
    assert captioner.family.name == "paligemma" and captioner.name == str(DEMO_MODEL)
