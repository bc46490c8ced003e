"""Training batches: only caption tokens carry the loss, for every family; bad images are skipped."""

from __future__ import annotations

import pytest
from PIL import Image

from rsic_core.models.registry import FAMILIES, build_tiny
from rsic_core.training.collators import CaptionCollator, caption_pairs

CAPTIONS = ["a red roof of a large building", "two planes are parked at the airport beside a runway"]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def tiny(request):
    return build_tiny(request.param)


def _caption_positions(input_ids, caption_ids: list[int]) -> list[int]:
    """Where the caption's own token ids sit in a row (found by search, not from the labels)."""
    row = input_ids.tolist()
    n = len(caption_ids)
    starts = [i for i in range(len(row) - n + 1) if row[i : i + n] == caption_ids]
    assert len(starts) == 1, "the caption should appear exactly once in the input"
    return list(range(starts[0], starts[0] + n))


def _images(tmp_path) -> list:
    paths = []
    for i, colour in enumerate(["red", "blue"]):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (40, 36), colour).save(paths[-1])
    return paths


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_only_caption_tokens_carry_the_loss(tiny, padding_side, tmp_path):
    import torch

    paths = _images(tmp_path)
    collate = CaptionCollator(tiny.family, tiny.processor, padding_side=padding_side)
    batch = collate([{"path": str(p), "caption": c} for p, c in zip(paths, CAPTIONS)])
    tokenizer = tiny.processor.tokenizer
    labels, input_ids = batch["labels"], batch["input_ids"]

    expected_positions = []
    for row, caption in enumerate(CAPTIONS):
        caption_ids = tokenizer(caption, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        positions = _caption_positions(input_ids[row], caption_ids)
        expected_positions.append(positions)
        # The labelled positions are exactly the caption's tokens (and the closing EOS), nothing else.
        assert torch.nonzero(labels[row] != -100).flatten().tolist() == positions
        assert tokenizer.decode(labels[row][labels[row] != -100], skip_special_tokens=True).strip() == caption

    # The model's loss equals cross-entropy computed by hand over those caption positions only.
    model = tiny.model.eval()
    with torch.no_grad():
        out = model(**batch)
    logits = out.logits[:, -input_ids.shape[1] :]  # BLIP-2 puts its query tokens in front
    losses = [
        torch.nn.functional.cross_entropy(logits[row, pos - 1].float(), input_ids[row, pos], reduction="sum")
        for row, positions in enumerate(expected_positions)
        for pos in positions
    ]
    by_hand = torch.stack(losses).sum() / sum(len(p) for p in expected_positions)
    assert torch.allclose(out.loss, by_hand, atol=1e-5), (float(out.loss), float(by_hand))


def test_left_padding_puts_every_caption_at_the_end_of_its_row(tiny, tmp_path):
    """padding_side="left": each row ends with its caption and EOS, pads before it (what the caption window needs)."""
    examples = [{"path": str(p), "caption": c} for p, c in zip(_images(tmp_path), CAPTIONS)]
    tokenizer = tiny.processor.tokenizer
    batches = {}
    for side in ("left", "right"):
        batches[side] = batch = CaptionCollator(tiny.family, tiny.processor, padding_side=side)(examples)
        assert tokenizer.padding_side == "left"  # the processor's own side is left as it was
    left, right = batches["left"], batches["right"]
    assert (left["input_ids"][:, -1] == tokenizer.eos_token_id).all()
    assert (left["labels"][:, -1] == tokenizer.eos_token_id).all()
    short = int(left["attention_mask"].sum(dim=1).argmin())  # the row with pads
    for batch, pads_first in ((left, True), (right, False)):
        pads = (batch["attention_mask"][short] == 0).nonzero().flatten()
        labelled = (batch["labels"][short] != -100).nonzero().flatten()
        assert len(pads) > 0
        assert (pads.max() < labelled.min()) if pads_first else (pads.min() > labelled.max())


def test_corrupt_image_is_skipped_and_reported(tmp_path):
    tiny = build_tiny("paligemma")
    good = tmp_path / "good.png"
    Image.new("RGB", (40, 36), "green").save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    collate = CaptionCollator(tiny.family, tiny.processor)
    batch = collate([{"path": str(bad), "caption": CAPTIONS[0]}, {"path": str(good), "caption": CAPTIONS[1]}])
    assert batch["input_ids"].shape[0] == 1
    assert len(collate.skipped) == 1 and "bad.jpg" in collate.skipped[0]
    # A batch of only unreadable images reuses the last readable example instead of crashing.
    again = collate([{"path": str(bad), "caption": CAPTIONS[0]}])
    assert again["input_ids"].shape[0] == 1 and len(collate.skipped) == 2


def test_caption_pairs_expand_every_reference(demo_dir):
    from rsic_core.data.datasets import load_dataset

    records = load_dataset(demo_dir).select(split="train")[:3]
    pairs = caption_pairs(records)
    assert len(pairs) == sum(len(r.captions) for r in records)
    assert len(caption_pairs(records, captions_per_image=1)) == 3


def _quadrants(size: int = 40) -> Image.Image:
    """An image whose four quadrants have four colours, so every dihedral view looks different."""
    image = Image.new("RGB", (size, size))
    for (x, y), colour in zip([(0, 0), (1, 0), (0, 1), (1, 1)], ["red", "green", "blue", "white"]):
        image.paste(colour, (x * size // 2, y * size // 2, (x + 1) * size // 2, (y + 1) * size // 2))
    return image


def test_dihedral_augmentation_shows_all_eight_views_of_the_same_pixels():
    import numpy as np

    from rsic_core.training.augment import Augmenter

    image = _quadrants()
    augment = Augmenter(["dihedral"], seed=0)
    views = [np.asarray(augment(image)) for _ in range(200)]
    assert len({v.tobytes() for v in views}) == 8  # 4 rotations x mirrored or not
    for view in views:  # a view moves pixels, it never changes them
        assert sorted(map(tuple, view.reshape(-1, 3))) == sorted(map(tuple, np.asarray(image).reshape(-1, 3)))
    again = Augmenter(["dihedral"], seed=0)
    assert all((np.asarray(again(image)) == v).all() for v in views[:20])  # the same seed, the same views


def test_crop_augmentation_keeps_60_to_100_percent_of_the_area_and_the_collator_uses_it(tmp_path):
    from rsic_core.training.augment import Augmenter

    augment = Augmenter(["crop"], seed=1)
    areas = [augment(_quadrants(100)).size for _ in range(100)]
    assert all(w == h and 0.6 * 100 * 100 - 200 <= w * h <= 100 * 100 for w, h in areas)
    assert len(set(areas)) > 10

    tiny = build_tiny("paligemma")
    path = tmp_path / "q.png"
    _quadrants().save(path)
    examples = [{"path": str(path), "caption": CAPTIONS[0]}] * 8
    plain = CaptionCollator(tiny.family, tiny.processor)(examples)["pixel_values"]
    dihedral = CaptionCollator(tiny.family, tiny.processor, augment=Augmenter(["dihedral"]))(examples)
    assert all((p == plain[0]).all() for p in plain)  # no augmentation: the same pixels every time
    assert len({tuple(p.flatten()[:50].tolist()) for p in dihedral["pixel_values"]}) > 1


def test_an_unknown_augmentation_is_refused_in_one_sentence():
    from rsic_core.training.config import TrainConfig

    with pytest.raises(ValueError, match="augment: unknown augmentation 'mixup' \\(choose from dihedral, crop\\)"):
        TrainConfig(augment="dihedral,mixup", use_cpu=True)
