"""Experiments: an ablation grid and layer-pruning variants, tabulated against the zero-shot row."""

from __future__ import annotations

import pytest

from rsic_core.models.registry import load_captioner
from rsic_core.training.experiments import GridConfig, PruneConfig, run_grid, run_prune
from tests.support.training import quick_config

FAST = dict(max_steps=2, save_steps=2, predict_limit=2, eval_metrics="bleu,cider", output_dir="", gen_max_new_tokens=8)


def test_grid_tabulates_every_cell_against_zero_shot(tiny_model_dir, tmp_path):
    base = quick_config(tiny_model_dir, tmp_path, name="g", **FAST)
    result = run_grid(base, GridConfig(grid_r="2,4", grid_alpha="8", grid_dropout="0.1"))

    table = result.table
    assert list(table["run"]) == ["zero-shot", "g-r2-a8-d0.1", "g-r4-a8-d0.1"]
    share = table.set_index("run")["trainable %"]
    assert share["zero-shot"] == 0 and share["g-r4-a8-d0.1"] == pytest.approx(2 * share["g-r2-a8-d0.1"], rel=0.01)
    for column in ("BLEU-4", "CIDEr", "Δ BLEU-4", "Δ CIDEr"):
        assert table[column].notna().all(), column
    assert (table.set_index("run").loc["zero-shot", ["Δ BLEU-4", "Δ CIDEr"]] == 0).all()
    assert (result.folder / "table.md").read_text().startswith("| run |")
    assert len(result.runs) == 3 and all((p / "metrics.json").is_file() for p in result.runs)


def test_pruned_variants_are_smaller_and_load_back(tmp_path, demo_dir):
    from rsic_core.models.registry import build_tiny

    model_dir = build_tiny(
        "blip2-opt",
        text={"num_hidden_layers": 4},
        extra={
            "qformer": {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64}
        },
    ).save(tmp_path / "b2")
    base = quick_config(model_dir, tmp_path, name="p", lora_require_towers="language,qformer", **FAST)
    result = run_prune(base, PruneConfig(prune_qformer_sweep="1", prune_lm_sweep="0,2"))

    table = result.table.set_index("run")
    assert list(table.index) == ["zero-shot", "p-q1-lmall", "p-q1-lm2"]
    assert table["Q-Former layers"]["p-q1-lm2"] == 1 and table["LM layers"]["p-q1-lm2"] == 2
    for column in ("params (M)", "size (MB)"):  # cut layers: fewer parameters and bytes
        assert table[column]["p-q1-lm2"] < table[column]["p-q1-lmall"] < table[column]["zero-shot"], column
    assert table["GFLOPs/image"]["p-q1-lm2"] < table["GFLOPs/image"]["p-q1-lmall"]  # and fewer FLOPs
    assert table["BLEU-4"].notna().all()

    pruned = load_captioner(result.runs[-1] / "model")  # the merged pruned model opens like any model
    assert pruned.model.config.text_config.num_hidden_layers == 2
    assert pruned.model.config.qformer_config.num_hidden_layers == 1


def test_bad_grid_values_are_refused(tiny_model_dir, tmp_path):
    base = quick_config(tiny_model_dir, tmp_path, **FAST)
    with pytest.raises(ValueError, match="grid_r"):
        run_grid(base, GridConfig(grid_r="two"))
    with pytest.raises(ValueError, match="qformer"):
        run_prune(
            quick_config(tiny_model_dir, tmp_path, **{**FAST, "max_steps": 1}), PruneConfig(prune_qformer_sweep="1")
        )
