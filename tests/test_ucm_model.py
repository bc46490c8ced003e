"""The shipped real-photo model (assets/ucm_model): small bf16 weights, a card, and captions that name real scenes."""

from __future__ import annotations

import json

from rsic_core.data.formats import UCM_CLASSES
from rsic_core.paths import UCM_MODEL


def test_the_ucm_model_is_a_small_bf16_folder_with_a_card_of_the_21_uc_merced_classes():
    import torch
    from safetensors import safe_open

    from rsic_core.models.cards import model_card
    from rsic_core.models.registry import load_captioner

    assert sum(f.stat().st_size for f in UCM_MODEL.iterdir()) < 40 * 2**20  # the repo stays light
    with safe_open(str(UCM_MODEL / "model.safetensors"), "pt") as weights:
        dtypes = {weights.get_tensor(k).dtype for k in weights.keys()}
    assert dtypes == {torch.bfloat16, torch.int64}  # int64: BatchNorm's num_batches_tracked counters
    card = model_card("ucm")
    assert card.classes == UCM_CLASSES and "UC Merced" in card.knows and not card.synthetic
    data = json.loads((UCM_MODEL / "training.json").read_text())
    assert data["dataset"]["train_split"] == "train" and data["training_options"]["augment"] == "dihedral,crop"
    assert "Qu et al" in json.dumps(data) and "public domain" in json.dumps(data)  # provenance said

    captioner = load_captioner("ucm", device="cpu")
    assert captioner.family.name == "puret" and type(captioner.model.backbone).__name__ == "ResNetModel"


def test_the_ucm_model_names_the_scene_of_real_val_photos_it_never_trained_on(shared_data):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.inference import CaptionConfig, caption_images
    from rsic_core.models.registry import load_captioner
    from rsic_core.scoring.confusion import SceneNames
    from rsic_core.text.words import words

    dataset = load_dataset(shared_data / "ucm-captions")
    train = dataset.select(split="train")
    val = dataset.select(split="val")
    one_per_class = [next(r for r in val if r.label == c) for c in UCM_CLASSES]  # 21 photos, one of each class
    results = caption_images(load_captioner("ucm", device="cpu"), [r.path for r in one_per_class], CaptionConfig())
    names = SceneNames(UCM_CLASSES, [(r.label, r.captions) for r in train])  # as Compare's confusion tab reads them
    right = [r.label for r, res in zip(one_per_class, results) if names.scene(words(res.caption)) == r.label]
    assert len(right) >= 6, [res.caption for res in results]  # chance is 1 of 21
    assert len({res.caption for res in results}) >= 8  # not one caption for every scene


def test_rsic_caption_gives_a_real_photo_to_the_ucm_model_and_says_what_it_knows(shared_data, capsys):
    from rsic_core.cli import main

    photo = next((shared_data / "ucm-captions" / "images").glob("*.jpg"))
    assert main(["caption", str(photo)]) == 0
    out = capsys.readouterr()
    assert "assets/ucm_model" in out.err and "rsic: note: The ucm model knows the 21 land-use classes" in out.err
    assert json.loads(out.out.splitlines()[0])["caption"]
