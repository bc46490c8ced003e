"""The study's cost table: `rsic efficiency --shape` counts real-shape models on the meta device, in seconds.

The counts must equal what the authors' code and transformers count (../shared/reference/), and
the MACs what a person counts by hand from the layer sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rsic_core.cli import main
from rsic_core.scoring import costs, fake_pass
from tests.support.shared import shared_path

# Runs the command in a fresh process and reports that process's own peak resident set. Not
# getrusage's ru_maxrss: Linux carries the parent's high-water mark across fork/vfork + exec, so under
# a pytest process that had grown past 2 GB the child "peaked" at 2 GB without allocating anything.
# VmHWM belongs to the process's own address space, which exec makes fresh.
MEASURED_CLI = (
    "import sys; from rsic_core.cli import main; rc = main(sys.argv[1:]); "
    "print(*[line for line in open('/proc/self/status') if line.startswith('VmHWM')], file=sys.stderr); "
    "sys.exit(rc)"
)


def _needs(shape: str) -> None:
    if shape not in costs.shape_names():
        pytest.skip(f"no family declares the shape {shape!r} yet")


def _counts(shape: str, vocab_size: int | None = None) -> tuple[int, int]:
    from rsic_core.models.registry import build_shape

    captioner = build_shape(shape, device="meta", vocab_size=vocab_size)
    return costs.trainable_parameters(captioner.model, captioner.family)


def _vit_macs(layers: int, tokens: int, hidden: int, ffn: int, patch: int) -> int:
    """A ViT's multiply-accumulates by hand: patch convolution, then per layer qkv/out/FFN and the two attention products."""
    per_layer = tokens * (4 * hidden * hidden + 2 * hidden * ffn) + 2 * tokens * tokens * hidden
    return layers * per_layer + (tokens - 1) * 3 * patch * patch * hidden


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak from Linux's /proc")
def test_blip2_cost_from_the_command_line_without_allocating_weights():
    result = subprocess.run(
        [sys.executable, "-c", MEASURED_CLI, "efficiency", "--shape", "blip2-opt-2.7b", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    cost = json.loads(result.stdout)
    assert cost["params_total"] == 3_744_679_936  # transformers' BLIP-2 OPT-2.7B (reference meta count)
    assert cost["params_trainable"] == cost["params_total"] and "every parameter" in cost["trainable_means"]
    assert cost["flops_per_image"] == 2 * cost["macs_per_image"]
    # ViT-g/14 at 224 px: 257 tokens, 39 layers of width 1408 and FFN 6144, as counted by hand
    assert cost["macs_by_tower"]["vision"] == _vit_macs(39, 257, 1408, 6144, 14)
    assert 350e9 < cost["macs_per_image"] < 450e9 and cost["caption_tokens"] == 20
    assert "20-token caption" in cost["covers"] and "caption positions only" in cost["covers"]
    assert "FFT" in cost["not_counted"] and "GFLOPs" in cost["conventions"]
    peak = int(result.stderr.split("VmHWM:")[-1].split()[0]) * 1024
    assert peak < 2e9, f"peak RSS {peak / 1e9:.1f} GB: weights were allocated (fp32 would be 15 GB)"


def test_shapes_are_listed_and_an_unknown_one_is_one_sentence(capsys):
    assert main(["efficiency", "--shape", "list"]) == 0
    listed = capsys.readouterr().out.split()
    assert "blip2-opt-2.7b" in listed and listed == costs.shape_names()
    assert main(["efficiency", "--shape", "blip2-opt-9b"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "unknown shape 'blip2-opt-9b'" in error and "blip2-opt-2.7b" in error


def test_a_vocabulary_override_changes_only_the_vocabulary_rows():
    total, _ = _counts("blip2-opt-2.7b")
    smaller, _ = _counts("blip2-opt-2.7b", vocab_size=50_000)
    assert total - smaller == 272 * 2560  # OPT ties its output to the input embedding: one row of 2560 per word


def test_paligemma2_counts_its_published_size():
    assert _counts("paligemma2-3b-224") == (3_047_480_768, 3_047_480_768)  # PaliGemma2-3B-224: "3B", nothing frozen


@pytest.mark.parametrize("tokens", [5, 17])
def test_the_counted_caption_has_the_asked_length(tokens):
    from rsic_core.models.registry import build_tiny

    captioner = build_tiny("blip2-opt", device="meta")
    batch = costs.caption_batch(captioner, 32, tokens)
    assert int((batch["labels"] != -100).sum()) == tokens  # label positions, EOS included


def test_a_model_that_reads_its_inputs_gets_their_real_values():
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    class CountsImageTokens(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.head = torch.nn.Embedding(10, 8), torch.nn.Linear(8, 4)

        def forward(self, input_ids):
            found = int((input_ids == 3).sum())  # as BITA checks its image placeholders
            if found != 2:
                raise ValueError(f"expected 2 image tokens, found {found}")
            return self.head(self.embed(input_ids))

    with torch.device("meta"):
        model = CountsImageTokens()
    counts, _ = fake_pass.count_macs(model, {"input_ids": torch.tensor([[1, 3, 3, 4, 5]])})
    assert counts[""] == 5 * 8 * 4  # the head on 5 positions; the embedding look-up is not counted
    with pytest.raises(ValueError, match="found 1"):
        fake_pass._fake_forward(model, {"input_ids": torch.tensor([[1, 3, 4]])}, FlopCounterMode(display=False))


def test_puret_counts_match_the_release():
    _needs("puret")
    assert _counts("puret") == (229_411_484, 34_161_768)  # COCO vocabulary, backbone frozen
    from rsic_core.models.registry import shapes

    total, trainable = _counts("puret", vocab_size=shapes()["puret"].shapes["puret"]["vocab_size"] + 1)
    assert (total, trainable) == (229_411_484 + 1025, 34_161_768 + 1025)  # embedding row + generator row and bias


def test_puret_macs_land_near_the_study():
    _needs("puret")
    cost = costs.shape_cost("puret")
    assert cost.caption_tokens == 17
    assert 104.5e9 < cost.macs_per_image < 107e9, cost.to_text()  # the study: 105.48 G; Swin-L 384 + encoder 105.3 G


def test_bita_cost_matches_the_release_and_a_hand_count():
    _needs("bita-opt-2.7b")
    cost = costs.shape_cost("bita-opt-2.7b")
    assert (cost.params_total, cost.params_trainable) == (3_008_774_144, 91_788_288)  # vision and OPT frozen
    assert cost.macs_by_tower["vision"] == _vit_macs(21, 257, 1024, 4096, 14)  # CLIP ViT-L/14, 21 of 24 blocks
    assert cost.macs_per_image < 0.7 * 400e9  # well below BLIP-2's ViT-g: the study's 761.17 is not BITA's


def test_the_comparison_puts_the_study_beside_the_measured():
    measured = costs.ShapeCost(
        shape="blip2-opt-2.7b",
        family="BLIP-2 (OPT)",
        params_total=3_744_679_936,
        params_trainable=3_744_679_936,
        trainable_means="all",
        macs_per_image=400_680_000_000,
        flops_per_image=801_360_000_000,
        image_size=224,
        caption_tokens=20,
        text_positions=52,
        vocab_size=50272,
    )
    rows = {r["shape"]: r for r in costs.comparison_rows([measured, None])}
    assert list(rows) == ["puret", "blip2-opt-2.7b", "bita-opt-2.7b", "paligemma2-3b-224"]
    blip2 = rows["blip2-opt-2.7b"]
    assert blip2["study: total"] == "3.7 B" and blip2["study: GFLOPs (MACs)"] == 761.17
    assert blip2["measured: total"] == 3_744_679_936 and blip2["measured: GMACs"] == 400.68
    assert rows["puret"]["measured: total"] is None and rows["puret"]["study: trainable"] == "34.16 M"
    assert "BLIP-2 proper" in rows["bita-opt-2.7b"]["note"]


def test_the_published_figures_are_the_reference_ones():
    puret = json.loads(shared_path("reference", "puret_checkpoint.json").read_text())["comparison_with_study"]["study"]
    bita = json.loads(shared_path("reference", "bita_checkpoint.json").read_text())["comparison_with_study"]["study"]
    ours = costs.STUDY_FIGURES
    assert (
        ours["puret"]["total"] == f"{puret['total_M']} M" and ours["puret"]["trainable"] == f"{puret['trainable_M']} M"
    )
    assert ours["puret"]["gflops"] == puret["GFLOPs"]
    assert ours["blip2-opt-2.7b"]["total"] == bita["BLIP-2 OPT-2.7B total"].replace("B", " B")
    assert ours["blip2-opt-2.7b"]["gflops"] == bita["GFLOPs"]
