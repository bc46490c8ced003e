"""Where the model looked: heatmaps per caption word on the model's image grid, and the pointing game."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rsic_core.models.grounding import Explanation, WordHeatmap, explain_image, explain_images, upsample
from rsic_core.models.inference import CaptionConfig, generate_captions
from rsic_core.scoring.pointing import (
    Pointing,
    centre_point,
    layout_prior,
    object_words,
    point_words,
    prior_points,
    score_baseline,
)

DESCRIBE = CaptionConfig(gen_prompt="describe en")  # the demo model's detailed captions name the objects


@pytest.fixture(scope="module")
def demo_model():
    from rsic_core.models.registry import load_captioner

    return load_captioner(device="cpu")


@pytest.fixture(scope="module")
def demo_test(tmp_path_factory):
    """The demo model's own demo dataset (1,200 images, seed 0), its test split (scored) and train split (the layout
    prior's boxes) only: the session's demo dataset is smaller, and the model was trained on this one."""
    from rsic_core.data.demo.dataset import DEMO_IMAGES, DEMO_SEED, generate_demo_dataset

    folder = tmp_path_factory.mktemp("demo-train-test")
    generate_demo_dataset(folder, n_images=DEMO_IMAGES, seed=DEMO_SEED, splits=("train", "test"))
    return folder


def _bench_pointing():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "bench_pointing.py"
    spec = importlib.util.spec_from_file_location("bench_pointing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("beams", [1, 3])
def test_words_and_heatmaps_of_the_caption_generated(demo_model, demo_test, one_thread, beams):
    image = Image.open(demo_test / "images" / "airport_2.jpg").convert("RGB")
    config = CaptionConfig(gen_prompt="describe en", gen_num_beams=beams)
    explanation = explain_image(demo_model, image, config)
    assert explanation.caption == generate_captions(demo_model, [image], config)[0]  # the very caption
    assert [w.word for w in explanation.words] == explanation.caption.split()
    side = demo_model.model.config.vision_config.image_size // demo_model.model.config.vision_config.patch_size
    assert explanation.grid == (side, side) == (5, 5)  # one value per image patch the model sees
    for word in explanation.words:
        assert word.heatmap.shape == (5, 5) and word.heatmap.min() >= 0 and word.heatmap.max() == pytest.approx(1)
        assert upsample(word.heatmap, explanation.image_size).shape == (224, 224)
    assert demo_model.model.config._attn_implementation == "sdpa"  # eager only for the explain call


@pytest.mark.parametrize("family", ["blip", "blip2-opt", "paligemma2", "puret", "bita-opt"])
def test_every_family_explains_its_caption_with_each_method(family, one_thread):
    from rsic_core.models.registry import build_tiny

    captioner = build_tiny(family, image_size=32)
    image = Image.new("RGB", (48, 40), (90, 140, 60))
    config = CaptionConfig(gen_max_new_tokens=6, gen_min_new_tokens=6)
    before = captioner.model.config._attn_implementation
    for method in captioner.family.grounding_methods():
        explanation = explain_image(captioner, image, config, method)
        assert explanation.caption == generate_captions(captioner, [image], config)[0]
        assert [w.word for w in explanation.words] == explanation.caption.split()
        assert explanation.grid == (4, 4) and explanation.image_size == (48, 40)  # 32 px / patch 8
        assert all(np.isfinite(w.heatmap).all() for w in explanation.words)
    assert captioner.model.config._attn_implementation == before


def test_unreadable_image_bad_method_and_word_index_get_one_sentence(demo_model, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    (result,) = explain_images(demo_model, [str(broken)], DESCRIBE)
    assert not result.ok and "broken.jpg" in result.error
    with pytest.raises(ValueError, match="unknown grounding method 'saliency'.*lens, attention, grad_x_act"):
        explain_images(demo_model, [str(broken)], DESCRIBE, method="saliency")
    explanation = Explanation("x.jpg", "two planes", "lens", (8, 8), [WordHeatmap("two", [1], np.zeros((2, 2)))] * 2)
    with pytest.raises(ValueError, match="word index 5 is out of range.*2 words"):
        explanation.word(5)


def test_a_peak_inside_the_box_is_a_hit_and_chance_is_the_box_share():
    heat = np.zeros((4, 4), np.float32)
    heat[0, 3] = 1  # top-right patch
    words = [
        WordHeatmap(w, [i], heat if w == "tanks" else np.zeros((4, 4)))
        for i, w in enumerate("two storage tanks".split())
    ]
    scene = {"objects": [{"name": "storage tank", "box": [56, 0, 64, 16]}, {"name": "plane", "box": [0, 0, 8, 8]}]}
    scored, unboxed = point_words(Explanation("t.jpg", "two storage tanks", "lens", (64, 64), words), scene)
    assert [(p.word, p.object, p.hit) for p in scored] == [("storage tanks", "storage tank", True)]
    assert scored[0].chance == pytest.approx(8 * 16 / 64**2) and unboxed == 0
    assert object_words("a white plane and three boats near a car .".split()) == [
        ("plane", "plane", [2]),
        ("boats", "boat", [5]),
        ("car", "car", [8]),
    ]


def test_pointing_game_beats_chance_on_the_demo_test_split(demo_model, demo_test, one_thread):
    bench = _bench_pointing()
    score, scored, unboxed = bench.demo_pointing(demo_model, demo_test, "lens", DESCRIBE)
    assert score.words >= 30  # planes, boats, cars, tanks, houses, diamonds named over the split
    assert score.hit_rate >= 1.5 * score.chance, score
    found = bench.baselines(demo_test, scored, unboxed)
    assert {b.words for b in found.values()} == {score.words}  # the baselines are scored on the model's words
    assert found["layout prior"].hit_rate > score.chance, found  # the training boxes say where objects tend to be


def _pointing(image: str, key: str, box_share: float) -> Pointing:
    return Pointing(image, key, key, (0, 0), False, box_share)


def test_centre_and_layout_prior_baselines_on_known_boxes():
    size = (224, 224)
    assert centre_point(size) == (112, 112)
    scenes = {
        "middle.jpg": {"objects": [{"name": "plane", "box": [100, 100, 130, 130]}]},
        "corner.jpg": {"objects": [{"name": "plane", "box": [0, 0, 20, 20]}, {"name": "car", "box": [0, 0, 9, 9]}]},
    }
    words = [_pointing("middle.jpg", "plane", 0.02), _pointing("corner.jpg", "plane", 0.01)]
    centre = score_baseline(words, scenes, lambda p: centre_point(size), size)
    assert (centre.hits, centre.words, centre.hit_rate) == (1, 2, 0.5)  # the centre lies only in the middle box
    # Training boxes: planes always in the top-left corner, so the prior's peak is there and finds the corner plane.
    train = [
        {"objects": [{"name": "plane", "box": [0, 0, 30, 30]}]},
        {"objects": [{"name": "plane", "box": [5, 5, 40, 40]}]},
    ]
    prior = layout_prior(train, size)
    assert prior["plane"][10, 10] == 1.0 and prior["plane"][35, 35] == 0.5 and prior["plane"][100, 100] == 0
    peaks = prior_points(prior)
    assert peaks["plane"] == (5, 5)  # the first pixel both boxes cover
    assert score_baseline(words, scenes, lambda p: peaks[p.object], size).hits == 1
    assert score_baseline(words[1:], scenes, lambda p: peaks[p.object], size).hits == 1  # the corner plane


def test_gradcam_is_a_deprecated_name_of_grad_x_act(demo_model, demo_test, one_thread):
    from rsic_core.models.grounding import METHODS, choose_method

    assert "grad_x_act" in METHODS and "gradcam" not in METHODS
    with pytest.warns(DeprecationWarning, match="gradient x activation.*'grad_x_act'"):
        assert choose_method(demo_model, "gradcam") == "grad_x_act"
    image = Image.open(demo_test / "images" / "airport_2.jpg").convert("RGB")
    with pytest.warns(DeprecationWarning):
        old = explain_image(demo_model, image, DESCRIBE, "gradcam")
    new = explain_image(demo_model, image, DESCRIBE, "grad_x_act")
    assert old.method == new.method == "grad_x_act"
    assert all(np.array_equal(a.heatmap, b.heatmap) for a, b in zip(old.words, new.words)) and new.words
