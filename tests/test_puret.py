"""PureT: the released architecture's counts and parts, its labels and loss, beam search, attentions, LoRA, pruning."""

from __future__ import annotations

import itertools

import pytest

from rsic_core.models.registry import build_shape, build_tiny
from tests.support.captioning import CAPTIONS, colour_images

pytestmark = pytest.mark.usefixtures("one_thread")


def _counts(model) -> tuple[int, int]:
    return sum(p.numel() for p in model.parameters()), sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_the_released_shape_has_the_reference_parameter_counts():
    """Swin-L 384 + COCO vocabulary: 229,411,484 parameters, 34,161,768 trainable; 1,025 more per word."""
    model = build_shape("puret", device="meta").model
    assert _counts(model) == (229_411_484, 34_161_768)
    assert sum(p.numel() for p in model.backbone.parameters()) == 195_198_516
    assert model.config.vocab_size == 9488 and model.config.grid_size() == 12 and model.config.backbone_width() == 1536
    assert _counts(build_shape("puret", device="meta", vocab_size=10_000).model) == (
        229_411_484 + 1025 * (10_000 - 9487),
        34_161_768 + 1025 * (10_000 - 9487),
    )
    layers = model.encoder.layers
    assert [tuple(layer.encoder_attn.relative_position_bias_table.shape) for layer in layers] == [(121, 8)] * 3
    assert [layer.shift for layer in layers] == [0, 3, 0]
    assert tuple(layers[1].attn_mask.shape) == (4, 36, 36)
    mask = type(layers[1])(model.config, shifted=True).attn_mask  # the buffer on the CPU
    assert set(mask.unique().tolist()) == {0.0, -1e9} and not mask[0].any()  # the first window holds one region


def test_positions_are_a_frozen_sinusoid_from_one_and_the_backbone_is_frozen():
    import torch

    model = build_tiny("puret").model
    table = model.decoder.pos_embed.weight
    assert (
        not table.requires_grad
        and torch.all(table[0] == 0)
        and torch.allclose(table[1, :2], torch.tensor([0.8415, 0.5403]), atol=1e-4)
    )
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(
        p.requires_grad for n, p in model.named_parameters() if not n.startswith("backbone.") and "pos_embed" not in n
    )


def test_windows_are_independent_but_the_global_token_joins_them_all():
    """In an unshifted encoder layer a change in one window changes no other window's tokens, but it changes gx."""
    import torch

    model = build_tiny("puret", extra={"dropout": 0.0}).model.eval()
    layer = model.encoder.layers[0]  # grid 4 x 4, window 2: four windows
    x, gx = torch.randn(1, 16, 32), torch.randn(1, 1, 32)
    changed = x.clone().view(1, 4, 4, 32)
    changed[:, :2, :2] += 1.0  # the top-left window
    with torch.no_grad():
        before, gx_before, _ = layer(x, gx)
        after, gx_after, _ = layer(changed.view(1, 16, 32), gx)
    moved = (before - after).abs().amax(dim=-1).view(4, 4) > 1e-5
    assert moved[:2, :2].all() and not moved[2:].any() and not moved[:2, 2:].any()
    assert not torch.allclose(gx_before, gx_after)
    memory = model.encode_images(torch.randn(2, 3, 32, 32)).last_hidden_state
    assert memory.shape == (2, 17, 32)  # 16 grid tokens and gx


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_a_training_row_is_eos_caption_eos_and_only_the_caption_is_labelled(padding_side):
    captioner = build_tiny("puret", captions=list(CAPTIONS.values()))
    tokenizer = captioner.processor.tokenizer
    assert tokenizer.eos_token_id == tokenizer.pad_token_id == 0 and tokenizer.bos_token_id is None
    assert captioner.model.config.bos_token_id == 0
    captions = ["A red roof, of a large building.", "a blue lake"]
    batch = captioner.family.encode(captioner.processor, colour_images()[:2], captions, padding_side=padding_side)
    for ids, mask, labels, caption in zip(batch["input_ids"], batch["attention_mask"], batch["labels"], captions):
        real = ids[mask == 1].tolist()
        words = tokenizer(caption, add_special_tokens=False)["input_ids"]
        assert real == [0, *words, 0]
        assert labels[labels != -100].tolist() == [*words, 0]
        assert tokenizer.decode(words) == caption.lower().replace(",", "").replace(".", "")


def test_the_loss_is_label_smoothed_in_training_and_plain_in_evaluation():
    import torch
    import torch.nn.functional as F

    captioner = build_tiny("puret", captions=list(CAPTIONS.values()), extra={"dropout": 0.0})
    model = captioner.model
    batch = captioner.family.encode(captioner.processor, colour_images(), list(CAPTIONS.values()))
    with torch.no_grad():
        logits = model.eval()(**batch).logits
        plain = model(**batch).loss
        smoothed = model.train()(**batch).loss
    shifted, targets = logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten()
    assert torch.allclose(plain, F.cross_entropy(shifted, targets, ignore_index=-100), atol=1e-5)
    assert torch.allclose(
        smoothed, F.cross_entropy(shifted, targets, ignore_index=-100, label_smoothing=0.1), atol=1e-5
    )


def test_beam_search_finds_the_best_caption_that_brute_force_finds():
    """Beams >= every live prefix, no length normalisation (length_penalty=0): generate's best = exhaustive best."""
    import torch

    captioner = build_tiny("puret", captions=["a b", "b a"], vocab_size=4, seed=3)  # <eos>, <unk>, a, b
    model, vocab, steps = captioner.model.eval(), len(captioner.processor.tokenizer), 3
    with torch.no_grad():
        for weight in (model.decoder.generator.weight, model.decoder.word_embed.weight):
            weight.mul_(20)  # peaked distributions: the ranking is not a near tie
    pixels = captioner.processor(images=colour_images()[:1])["pixel_values"]
    memory = model.encode_images(pixels).last_hidden_state
    candidates = []
    for length in range(1, steps + 1):
        for words in itertools.product(range(vocab), repeat=length):
            if 0 in words[:-1] or (length < steps and words[-1] != 0):
                continue  # a caption ends at its first EOS, or runs to the step limit
            candidates.append([0, *words])
    scores = []
    with torch.no_grad():
        for ids in candidates:
            log_probs = model(input_ids=torch.tensor([ids]), encoder_hidden_states=memory).logits.log_softmax(-1)
            scores.append(sum(float(log_probs[0, t, ids[t + 1]]) for t in range(len(ids) - 1)))
    best = candidates[max(range(len(scores)), key=scores.__getitem__)]
    out = model.generate(
        pixel_values=pixels,
        num_beams=vocab ** (steps - 1) * 2,
        max_new_tokens=steps,
        length_penalty=0.0,
        early_stopping=True,
        return_dict_in_generate=True,
        output_scores=True,
    )
    found = out.sequences[0].tolist()
    assert found[: len(best)] == best and all(t == 0 for t in found[len(best) :])
    assert float(out.sequences_scores[0]) == pytest.approx(max(scores), abs=1e-3)


def test_generate_returns_the_cross_attention_over_the_grid_and_gx_for_every_word():
    import torch

    captioner = build_tiny("puret")
    pixels = captioner.processor(images=colour_images()[:2])["pixel_values"]
    out = captioner.model.generate(
        pixel_values=pixels, num_beams=3, max_new_tokens=4, output_attentions=True, return_dict_in_generate=True
    )
    steps = out.sequences.shape[1] - 1  # the first id is the BOS every caption starts with
    assert len(out.cross_attentions) == steps and len(out.cross_attentions[0]) == 2  # per token, per layer
    weights = out.cross_attentions[-1][1]
    assert weights.shape == (2, 2, 1, 17)  # sequences, heads, the token's query, 16 grid tokens + gx
    assert torch.allclose(weights.sum(-1), torch.ones(2, 2, 1), atol=1e-5)
    forward = captioner.model(pixel_values=pixels, input_ids=out.sequences, output_attentions=True)
    assert torch.allclose(forward.cross_attentions[1][:, :, -2:-1], weights, atol=1e-5)


def test_lora_reaches_encoder_and_decoder_and_the_language_preset_only_the_decoder():
    from rsic_core.training.lora import apply_lora

    captioner = build_tiny("puret")
    _, report = apply_lora(captioner.model, captioner.family, r=4)
    assert report["wrapped"]["language"] == 2 * 2 * 2 and report["wrapped"]["encoder"] == 2 * 2
    assert report["wrapped"]["backbone"] == 0
    _, report = apply_lora(build_tiny("puret").model, captioner.family, r=4, targets="language-only")
    assert report["wrapped"]["language"] == 2 * 2 * 4 and report["wrapped"]["encoder"] == 0


def test_pruned_decoder_saves_and_loads_at_its_new_size(tmp_path):
    from rsic_core.models.registry import load_captioner
    from rsic_core.training.pruning import prune_layers

    captioner = build_tiny("puret")
    assert prune_layers(captioner.model, captioner.family, lm_layers=1) == {"language": (2, 1)}
    loaded = load_captioner(captioner.save(tmp_path / "pruned"))
    assert len(loaded.model.decoder.layers) == 1 and loaded.model.config.num_hidden_layers == 1


def test_training_every_unfrozen_parameter_leaves_backbone_and_positions_as_they_were():
    import torch

    captioner = build_tiny("puret")
    model = captioner.model.train()
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith("backbone."))  # as a full fine-tune would, the sinusoid table included
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = captioner.family.encode(captioner.processor, colour_images(), list(CAPTIONS.values()))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    after = dict(model.named_parameters())
    assert torch.equal(after["decoder.pos_embed.weight"], before["decoder.pos_embed.weight"])
    assert all(torch.equal(after[n], before[n]) for n in before if n.startswith("backbone."))
    assert not torch.equal(after["decoder.generator.weight"], before["decoder.generator.weight"])


def test_the_processor_resizes_to_384_bicubic_with_imagenet_statistics_and_round_trips(tmp_path):
    from transformers import AutoProcessor

    from rsic_core.models.registry import get_family

    family = get_family("puret")
    family.register()
    processor = family.tiny_processor(family.tiny_tokenizer(list(CAPTIONS.values()), 100), {"image_size": 384}, {})
    images = processor.image_processor
    assert images.size == {"height": 384, "width": 384} and int(images.resample) == 3  # PIL bicubic
    assert list(images.image_mean) == [0.485, 0.456, 0.406] and list(images.image_std) == [0.229, 0.224, 0.225]
    assert processor(images=colour_images()[:1])["pixel_values"].shape == (1, 3, 384, 384)
    processor.save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    text = "a green forest with many trees"
    assert loaded.tokenizer(text)["input_ids"] == processor.tokenizer(text)["input_ids"]
    assert loaded.tokenizer.eos_token_id == 0 and loaded.tokenizer.convert_ids_to_tokens(1) == "<unk>"
    assert loaded.image_processor.size == {"height": 384, "width": 384}
