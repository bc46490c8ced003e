"""Efficiency reports count what a person would count by hand on a small model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from rsic_core.scoring import efficiency


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))


def test_report_of_a_small_model(tmp_path):
    model = _mlp()
    for p in model[0].parameters():
        p.requires_grad_(False)
    batch = torch.randn(4, 64)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    report = efficiency.measure(model, lambda: model(batch), n_images=4, path=tmp_path, warmup=2, repeats=3)
    assert report.params_total == 64 * 32 + 32 + 32 * 8 + 8
    assert report.params_trainable == 32 * 8 + 8
    assert report.gflops_per_image == pytest.approx(2 * (64 * 32 + 32 * 8) / 1e9)  # 2 FLOPs per multiply-add
    assert 0 < report.latency_s_per_image < 0.1 and report.latency_warmup == 2
    assert report.size_on_disk_bytes == (tmp_path / "weights.pt").stat().st_size and report.size_on_disk_kind == "files"
    assert report.dtype == "float32" and report.device == "cpu"
    weights = report.params_total * 4
    assert report.peak_memory_bytes >= weights and report.peak_memory_kind.startswith("cpu: weights")
    assert set(report.to_dict()) >= {"params_total", "gflops_per_image", "latency_s_per_image", "peak_memory_bytes"}


def test_cpu_peak_memory_sees_a_large_temporary():
    model = _mlp()

    def call():
        big = torch.ones(50_000_000)  # 200 MB, freed on return
        return model(big[:64].view(1, 64))

    used, kind = efficiency.peak_memory(call)
    assert kind == "cpu rss growth"
    assert used > 150e6


def test_size_without_files_is_the_parameter_bytes():
    model = _mlp().to(torch.bfloat16)
    size, kind = efficiency.size_on_disk(model)
    assert size == efficiency.count_parameters(model)[0] * 2 and "estimate" in kind
    with pytest.raises(ValueError, match="n_images"):
        efficiency.measure(model, lambda: None, n_images=0)


def test_the_efficiency_page_compares_the_study_with_our_count():
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=300)
    at.run()
    at.switch_page("views/efficiency.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.label for t in at.tabs] == ["Runs", "Model comparison"]
    table = next(d.value for d in at.dataframe if "study: total" in d.value.columns).set_index("shape")
    assert table.loc["puret", "study: trainable"] == "34.16 M" and table.loc["puret", "study: GFLOPs (MACs)"] == 105.48
    assert table.loc["blip2-opt-2.7b", "study: total"] == "3.7 B" and pd.isna(
        table.loc["blip2-opt-2.7b", "measured: total"]
    )
    assert "MACs = multiply-accumulates" in " ".join(c.value for c in at.caption)

    at.multiselect(key="efficiency_shapes").set_value(["blip2-opt-2.7b"]).run()
    next(b for b in at.button if b.key == "efficiency_count").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "study: total" in d.value.columns).set_index("shape")
    blip2 = table.loc["blip2-opt-2.7b"]
    assert blip2["measured: total"] == 3_744_679_936 and blip2["study: GFLOPs (MACs)"] == 761.17
    assert 350 < blip2["measured: GMACs"] < 450 and blip2["measured: GFLOPs (2/MAC)"] == pytest.approx(
        2 * blip2["measured: GMACs"], abs=0.02
    )
    assert "BLIP-2 proper" in table.loc["bita-opt-2.7b", "note"]
