"""The GPU speed switches give the captions and losses of the plain paths (checked on CPU with tiny models).

A static KV cache, transformers' compiled decoding step, prompt grouping, the prefetch thread and the
caption-window loss must change speed only, never a caption or a loss; on CPU the defaults change nothing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from rsic_core.models import generation_speed
from rsic_core.models.inference import CaptionConfig, batch_plan, caption_images, iter_captions
from rsic_core.models.registry import build_tiny

pytestmark = pytest.mark.usefixtures("one_thread")
FAMILIES = ("paligemma", "paligemma2", "blip2-opt", "blip", "bita-opt", "puret")
STATIC = ("blip2-opt", "bita-opt")  # the families whose generating model transformers marks compilable


def _images(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny():
    """One tiny model per family, weights drawn wide enough that captions differ between images."""
    wide = {"initializer_range": 0.2}
    return {name: build_tiny(name, text=None if name == "puret" else wide) for name in FAMILIES}


def _captions(captioner, images, **options) -> list[str]:
    config = CaptionConfig(gen_max_new_tokens=10, batch_size=3, **options)
    return [r.caption for r in caption_images(captioner, images, config)]


@pytest.mark.parametrize("family", STATIC)
@pytest.mark.parametrize("beams", [1, 3])
def test_static_cache_gives_the_captions_of_the_dynamic_cache(tiny, family, beams):
    images = _images(5)
    dynamic = _captions(tiny[family], images, gen_num_beams=beams, gen_cache="dynamic")
    static = _captions(tiny[family], images, gen_num_beams=beams, gen_cache="static", gen_compile="off")
    assert static == dynamic and all(dynamic)  # real captions, not empty strings


@pytest.mark.parametrize("family", FAMILIES)
def test_defaults_change_nothing_on_cpu_and_take_the_static_cache_on_cuda_only_where_supported(tiny, family):
    captioner = tiny[family]
    assert generation_speed.speed_kwargs(captioner, CaptionConfig()) == {}  # CPU: the plain generate()
    assert not generation_speed.prefetching(captioner, CaptionConfig())
    on_cuda = dataclasses.replace(captioner, device="cuda")  # what the switches choose there (nothing runs)
    expected = {"cache_implementation": "static"} if family in STATIC else {}
    assert generation_speed.speed_kwargs(on_cuda, CaptionConfig()) == expected
    assert generation_speed.compiling(on_cuda, CaptionConfig()) == (family in STATIC)
    assert generation_speed.prefetching(on_cuda, CaptionConfig())
    assert generation_speed.speed_kwargs(on_cuda, CaptionConfig(gen_compile="off")).get("disable_compile") == (
        True if family in STATIC else None
    )


@pytest.mark.parametrize("family", ["paligemma", "blip", "puret"])
def test_a_static_cache_is_refused_in_one_sentence_where_the_model_cannot_take_it(tiny, family):
    with pytest.raises(ValueError, match=r"gen_cache static: .* cannot generate with a static KV cache here"):
        _captions(tiny[family], _images(1), gen_cache="static")
    with pytest.raises(ValueError, match="gen_compile on needs a static cache"):
        _captions(tiny[family], _images(1), gen_compile="on")
    with pytest.raises(ValueError, match="gen_cache must be one of auto, static, dynamic"):
        CaptionConfig(gen_cache="fast")


def test_compiled_decoding_gives_the_same_captions_and_fills_the_last_batch(tiny, monkeypatch):
    """transformers' compile path for static caches, traced by dynamo (aot_eager: inductor's C++ build is too slow
    for a CPU test; the CUDA test below runs inductor)."""
    from transformers import CompileConfig

    def traced(all_devices=False):
        config = CompileConfig(backend="aot_eager", mode="default")
        config._compile_all_devices = all_devices
        return config

    monkeypatch.setattr(generation_speed, "compile_config", traced)
    captioner, images = tiny["blip2-opt"], _images(5)  # batches of 3: the last one (2 images) is filled to 3
    dynamic = _captions(captioner, images, gen_cache="dynamic")
    compiled = _captions(captioner, images, gen_cache="static", gen_compile="on")
    assert compiled == dynamic
    assert hasattr(captioner.model.language_model, "_compiled_call")  # generate really took the compiled step
    batches = list(iter_captions(captioner, images, CaptionConfig(batch_size=3, gen_cache="static", gen_compile="on")))
    assert [len(b) for b in batches] == [3, 2]  # the repeats that filled the batch are not reported


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="CUDA only: inductor on CPU takes minutes")
@pytest.mark.parametrize("beams", [1, 3])
def test_the_default_cuda_path_gives_the_plain_captions(beams):
    captioner = build_tiny("blip2-opt", text={"initializer_range": 0.2}, device="cuda", dtype="fp32")
    images = _images(5)
    plain = _captions(captioner, images, gen_num_beams=beams, gen_cache="dynamic", prefetch="off")
    assert _captions(captioner, images, gen_num_beams=beams) == plain  # static cache, compiled, prefetched


@pytest.mark.parametrize("family", ["paligemma", "blip2-opt"])
def test_prefetch_thread_keeps_input_order_and_captions(tiny, family, tmp_path):
    images = _images(7, seed=1)
    files = []
    for i, image in enumerate(images):
        files.append(tmp_path / f"{i}.png")
        image.save(files[-1])
    files.insert(3, tmp_path / "missing.png")  # an unreadable one in the middle keeps its place
    paths = [str(f) for f in files]
    plain = caption_images(tiny[family], paths, CaptionConfig(batch_size=2, prefetch="off"))
    ahead = caption_images(tiny[family], paths, CaptionConfig(batch_size=2, prefetch="on"))
    assert [r.name for r in ahead] == [r.name for r in plain] == paths
    assert [r.caption for r in ahead] == [r.caption for r in plain]
    assert not ahead[3].ok and "missing.png" in ahead[3].error


def test_per_image_prompts_run_grouped_shortest_first_and_come_back_in_input_order(tiny):
    captioner, images = tiny["blip2-opt"], _images(6, seed=2)
    prompts = ["a photo of", None, "a", "a photo of", None, "a"]
    config = CaptionConfig(gen_max_new_tokens=8, batch_size=4)
    plan = batch_plan(captioner, len(images), config, prompts)
    assert plan == [(None, [1, 4]), ("a", [2, 5]), ("a photo of", [0, 3])]  # no batch mixes two prompts
    results = caption_images(captioner, images, config, prompts=prompts)
    for prompt in (None, "a", "a photo of"):
        rows = [i for i, p in enumerate(prompts) if p == prompt]
        alone = caption_images(captioner, [images[i] for i in rows], dataclasses.replace(config, gen_prompt=prompt))
        assert [results[i].caption for i in rows] == [r.caption for r in alone]
    assert batch_plan(captioner, 5, CaptionConfig(batch_size=2)) == [(None, [0, 1]), (None, [2, 3]), (None, [4])]
    with pytest.raises(ValueError, match="2 prompts for 6 images"):
        caption_images(captioner, images, config, prompts=["a", "b"])


@pytest.mark.parametrize("family", FAMILIES)
def test_the_caption_window_is_chosen_only_where_it_gives_the_plain_loss(tiny, family):
    """On CUDA the window is the default where it fits; wherever it is chosen, the loss equals the plain one."""
    import torch

    from rsic_core.training.collators import CaptionCollator
    from rsic_core.training.losses import caption_window, label_window_fits

    captioner = tiny[family]
    images = _images(3, seed=3)
    captions = ["a red roof", "a green forest with many trees beside a road", "a lake"]
    plain = CaptionCollator(captioner.family, captioner.processor, padding_side="right").encode(images, captions)
    left = CaptionCollator(captioner.family, captioner.processor, padding_side="left").encode(images, captions)
    assert label_window_fits(captioner.model) == family.startswith("paligemma")
    if label_window_fits(captioner.model):
        with torch.no_grad():
            expected, window = captioner.model(**plain), captioner.model(**caption_window(left))
        assert torch.allclose(expected.loss, window.loss, atol=1e-5), (float(expected.loss), float(window.loss))
        assert window.logits.shape[1] < expected.logits.shape[1] / 2


def test_training_defaults_on_cpu_stay_plain(tmp_path):
    from rsic_core.training.config import TrainConfig
    from rsic_core.training.losses import use_label_window

    config = TrainConfig(output_dir=str(tmp_path), max_steps=1)
    assert config.optim == "adamw_torch" and config.logits_only_labels is None
    assert not use_label_window(config, build_tiny("paligemma").model)  # CPU: full logits, as before
    config.use_cpu = False  # as a CUDA run is (the Trainer's device is not touched here)
    assert use_label_window(config, build_tiny("paligemma").model)
    assert not use_label_window(config, build_tiny("blip").model)
    assert TrainConfig(output_dir=str(tmp_path), max_steps=1, optim="adamw_torch_fused").optim == "adamw_torch_fused"


def test_paligemma_prompts_attend_both_ways_whatever_the_attention_kernel(tiny):
    """Generation keeps token_type_ids: eager attention gives the sdpa captions (the prompt is a prefix, as in training).

    (Gemma 2 has no sdpa kernel: PaliGemma 2 always runs eager.)
    """
    captioner, images = tiny["paligemma"], _images(5)
    sdpa = _captions(captioner, images, gen_num_beams=1)
    captioner.model.set_attn_implementation("eager")
    try:
        eager = _captions(captioner, images, gen_num_beams=1)
    finally:
        captioner.model.set_attn_implementation("sdpa")
    assert eager == sdpa and all(sdpa)
