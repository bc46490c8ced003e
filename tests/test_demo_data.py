"""The offline demo dataset: deterministic Karpathy files whose captions match what is drawn."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rsic_core.data.demo.dataset import (
    DEMO_CLASSES,
    NUMBER_WORDS,
    class_of_filename,
    generate_demo_dataset,
    render_scene,
    sample_scene,
)

N_IMAGES = 60  # five per class: 48 train / 6 val / 6 test


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return generate_demo_dataset(tmp_path_factory.mktemp("demo"), n_images=N_IMAGES, seed=0, workers=1)


@pytest.fixture(scope="module")
def images(demo) -> list[dict]:
    return json.loads(demo.read_text())["images"]


def _image_bytes(annotation: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((annotation.parent / "images").iterdir())}


def test_same_seed_gives_identical_files_whatever_the_workers(demo, tmp_path):
    again = generate_demo_dataset(tmp_path, n_images=N_IMAGES, seed=0, workers=2)
    assert again.read_bytes() == demo.read_bytes()
    assert _image_bytes(again) == _image_bytes(demo)


def test_another_seed_gives_other_scenes_and_captions(demo, tmp_path):
    other = generate_demo_dataset(tmp_path, n_images=N_IMAGES, seed=1, workers=1)
    first, second = _image_bytes(demo), _image_bytes(other)
    assert first.keys() == second.keys()
    assert sum(first[name] != second[name] for name in first) == N_IMAGES
    raws = lambda path: [s["raw"] for im in json.loads(path.read_text())["images"] for s in im["sentences"]]  # noqa: E731
    assert raws(demo) != raws(other)


def test_karpathy_layout_with_every_class(demo, images):
    data = json.loads(demo.read_text())
    assert demo.name == "dataset_demo.json" and data["dataset"] == "rsic-demo"
    assert [im["imgid"] for im in images] == list(range(N_IMAGES))
    assert Counter(class_of_filename(im["filename"]) for im in images) == {c: 5 for c in DEMO_CLASSES}
    for im in images:
        cls = class_of_filename(im["filename"])
        assert im["scene"]["class"] == cls and "_" not in cls
        assert im["scene"]["caption"].startswith("an aerial image of ")
        number = int(Path(im["filename"]).stem.rpartition("_")[2])
        assert 1 <= number <= 5
        with Image.open(demo.parent / "images" / im["filename"]) as img:
            assert img.format == "JPEG" and img.mode == "RGB" and img.size == (224, 224)
    sentids = [sid for im in images for sid in im["sentids"]]
    assert sentids == list(range(5 * N_IMAGES))


def test_splits_follow_the_fractions_within_each_class(images):
    assert Counter(im["split"] for im in images) == {"train": 48, "val": 6, "test": 6}
    for cls in DEMO_CLASSES:
        splits = Counter(im["split"] for im in images if im["scene"]["class"] == cls)
        assert splits["train"] >= 3 and splits["val"] <= 1 and splits["test"] <= 1


def test_five_captions_with_lowercased_tokens(images):
    for im in images:
        assert len(im["sentences"]) == 5
        for sent, sid in zip(im["sentences"], im["sentids"]):
            assert sent["imgid"] == im["imgid"] and sent["sentid"] == sid
            words = sent["raw"].lower().replace(" .", "").split()
            assert sent["tokens"] == words and all(t.isalnum() for t in sent["tokens"])


def test_stated_counts_match_the_scene(images):
    stated = 0
    for im in images:
        counts = list(im["scene"]["counts"].values())
        for sent in im["sentences"]:
            for token in sent["tokens"]:
                if token in NUMBER_WORDS:
                    stated += 1
                    assert counts == [NUMBER_WORDS.index(token)], (im["filename"], sent["raw"], counts)
    assert stated >= N_IMAGES  # the check is not vacuous: most object scenes state their count


def test_stated_colours_and_sides_match_the_scene(images):
    for im in images:
        scene = im["scene"]
        for sent in im["sentences"]:
            text = " ".join(sent["tokens"]).replace("white lines", "lines")  # court markings
            for thing, colour in scene["colors"].items():
                for other in {"red", "white", "blue", "yellow"} - set(colour.split(" and ")):
                    if thing in ("plane", "boat", "car", "storage tank", "roof", "tennis court"):
                        assert other not in text.split(), (sent["raw"], scene["colors"])
            for thing, side in scene["positions"].items():
                if f"the {thing} is " in text and side in ("left", "right", "top", "bottom"):
                    assert f"the {thing} is {'on the' if side in ('left', 'right') else 'at the'} {side}" in text


@pytest.mark.parametrize("cls", ["airport", "storagetanks"])
def test_more_objects_are_really_drawn(cls):
    def white_pixels(count: int, seed: int) -> int:
        rng = np.random.default_rng([seed, 0])
        pixels = np.asarray(render_scene(sample_scene(cls, rng, count=count), rng))
        return int((pixels.min(axis=-1) > 215).sum())

    for seed in range(3):  # each extra plane or tank adds hundreds of white pixels
        assert white_pixels(5, seed) > white_pixels(1, seed) + 4 * 300


def test_other_sizes_and_bad_arguments(tmp_path):
    small = generate_demo_dataset(tmp_path, n_images=12, size=112, workers=1)
    with Image.open(next((small.parent / "images").iterdir())) as img:
        assert img.size == (112, 112)
    with pytest.raises(ValueError, match="split_fractions"):
        generate_demo_dataset(tmp_path, n_images=12, split_fractions=(0.8, 0.1, 0.2))
    with pytest.raises(ValueError, match="n_images"):
        generate_demo_dataset(tmp_path, n_images=0)
    with pytest.raises(ValueError, match="unknown demo class"):
        sample_scene("volcano", np.random.default_rng(0))


# The 120 images of seed 0 as generated before scenes recorded their objects: sha256 of the sorted (file name,
# sha256 of its decoded RGB pixels) pairs (pixels, not JPEG bytes: another Pillow may pack the same pixels
# otherwise; requirements.txt pins Pillow too), and their captions (sha256 of the JSON list of raw captions).
IMAGES_SHA256 = "64510adeeabe02533418979a782877338652a4b80c704e4a72ab0ee035c89216"
CAPTIONS_SHA256 = "47d80189431856d2de160ff8a12e6f5658c876d52f3c7f4daa5a21151f36c064"


def test_recording_objects_left_images_and_captions_as_they_were(tmp_path):
    import hashlib

    def pixels(path: Path) -> str:
        with Image.open(path) as img:
            return hashlib.sha256(np.asarray(img.convert("RGB")).tobytes()).hexdigest()

    annotation = generate_demo_dataset(tmp_path, n_images=120, seed=0)
    data = json.loads(annotation.read_text())["images"]
    digests = sorted((p.name, pixels(p)) for p in (annotation.parent / "images").iterdir())
    raws = [[s["raw"] for s in im["sentences"]] for im in data]
    assert hashlib.sha256(json.dumps(digests).encode()).hexdigest() == IMAGES_SHA256
    assert hashlib.sha256(json.dumps(raws).encode()).hexdigest() == CAPTIONS_SHA256


def test_every_counted_object_has_its_box(images):
    for im in images:
        scene = im["scene"]
        found = Counter(o["name"] for o in scene["objects"])
        assert found == Counter(scene["counts"]), (im["filename"], scene["objects"])
        for obj in scene["objects"]:
            x0, y0, x1, y1 = obj["box"]
            assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224, (im["filename"], obj)


@pytest.mark.parametrize("cls, paint", [("airport", 235), ("storagetanks", 225), ("harbor", 235)])
def test_boxes_hold_the_objects_drawn_in_every_orientation(cls, paint):
    """Nearly all the white paint of planes, tanks and white boats lies inside their boxes, whatever the turn."""
    sides = set()
    for seed in range(8):
        rng = np.random.default_rng([seed, 3])
        scene = sample_scene(cls, rng, count=3)
        if cls == "harbor":
            scene["colors"]["boat"] = "white"
        pixels = np.asarray(render_scene(scene, rng)).astype(int)
        white = (pixels.min(axis=-1) > paint) & (np.ptp(pixels, axis=-1) < 20)  # brighter than runway marks
        inside = np.zeros_like(white)
        for obj in scene["objects"]:
            x0, y0, x1, y1 = (int(round(v)) for v in obj["box"])
            inside[y0:y1, x0:x1] = True
        assert white[inside].sum() > 0.9 * white.sum() > 0, (cls, seed, scene["objects"])
        assert inside.mean() < 0.5  # the boxes are the objects, not the image
        sides.add(next(iter(scene["positions"].values())))
    assert len(sides) >= 3  # turned drawings were checked, not only the canonical one


def test_boxes_follow_the_image_size(tmp_path):
    small = json.loads(generate_demo_dataset(tmp_path, n_images=12, size=112, workers=1).read_text())["images"]
    big = json.loads(generate_demo_dataset(tmp_path / "big", n_images=12, workers=1).read_text())["images"]
    for a, b in zip(small, big):
        for o, p in zip(a["scene"]["objects"], b["scene"]["objects"]):
            assert o["box"] == pytest.approx([v / 2 for v in p["box"]], abs=0.11)


def test_one_split_alone_is_that_split_of_the_whole_dataset(demo, images, tmp_path):
    alone = generate_demo_dataset(tmp_path, n_images=N_IMAGES, seed=0, workers=1, splits=("test",))
    entries = json.loads(alone.read_text())["images"]
    assert entries == [im for im in images if im["split"] == "test"] and len(entries) == 6
    whole = _image_bytes(demo)
    assert _image_bytes(alone) == {im["filename"]: whole[im["filename"]] for im in entries}
