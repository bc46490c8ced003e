"""bench/bench_families.py: every family through the same `rsic` command lines, one table row each."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_families", ROOT / "bench" / "bench_families.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_families_two_steps_give_a_table_of_measured_rows(tmp_path, demo_dir, one_thread, capsys):
    bench = _bench()
    out = tmp_path / "table.md"
    code = bench.main(
        ["--steps", "2", "--families", "blip,puret", "--data", str(demo_dir)]
        + ["--work", str(tmp_path)]
        + ["--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    for family in ("blip", "puret"):  # the commands a user would type, printed before they ran
        assert f"$ rsic model new {family} --out {tmp_path / family / 'model'}" in printed
        assert f"$ rsic train --model {tmp_path / family / 'model'}" in printed and "--train-mode full" in printed
        assert f"$ rsic evaluate --model {tmp_path / family / 'run' / 'model'}" in printed
        predictions = (tmp_path / family / "eval" / "predictions.jsonl").read_text().splitlines()
        assert len(predictions) == 12  # every test image of the small demo dataset was captioned
    lines = out.read_text().splitlines()
    assert lines[0].startswith("| family | BLEU-4 | CIDEr | trainable |") and len(lines) == 4
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in lines[2:]}
    assert set(rows) == {"blip", "puret"}
    for cells in rows.values():
        assert "n/a" not in cells and "failed" not in cells[-1]
        assert cells[5].endswith(" M") and float(cells[5][:-2].replace(",", "")) > 0  # MACs per image
    blip_trainable, blip_total = (int(rows["blip"][i].replace(",", "")) for i in (3, 4))
    puret_trainable, puret_total = (int(rows["puret"][i].replace(",", "")) for i in (3, 4))
    assert blip_trainable == blip_total  # BLIP freezes no tower
    assert 0 < puret_trainable < puret_total and "frozen: backbone" in rows["puret"][-1]
    report = json.loads((tmp_path / "puret" / "run" / "lora.json").read_text())
    assert report["mode"] == "full" and report["trainable"] == puret_trainable


def test_a_failing_family_is_a_row_saying_why_and_the_exit_status_says_so(tmp_path, demo_dir, one_thread, capsys):
    bench = _bench()
    (tmp_path / "blip" / "model").mkdir(parents=True)
    (tmp_path / "blip" / "model" / "keep.txt").write_text("someone's file")  # `rsic model new` refuses this folder
    code = bench.main(["--steps", "1", "--families", "blip", "--data", str(demo_dir), "--work", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert (
        "already holds files" in captured.err
        and "| blip | n/a |" in captured.out
        and "failed: `rsic model new" in captured.out
    )
    assert (tmp_path / "blip" / "model" / "keep.txt").read_text() == "someone's file"


@pytest.mark.parametrize("family", ["bita-opt", "paligemma2"])
def test_captioner_cost_counts_a_loaded_model_as_its_meta_twin(family, one_thread):
    """MACs of a model with real weights on the CPU equal those of the same configs built on the meta device."""
    from rsic_core.models.registry import build_tiny
    from rsic_core.scoring.costs import captioner_cost

    real = captioner_cost(build_tiny(family, image_size=32, device="cpu"), 32)
    meta = captioner_cost(build_tiny(family, image_size=32, device="meta"), 32)
    assert real.macs_per_image == meta.macs_per_image > 0
    assert real.macs_by_tower == meta.macs_by_tower and real.params_trainable == meta.params_trainable
    assert "as loaded (cpu)" in real.source and "meta device" in meta.source
