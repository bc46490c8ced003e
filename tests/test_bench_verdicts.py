"""The words the benchmarks print for the README ("same speed", "within noise") follow from the spread, not the means."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_caption_speed_is_the_same_unless_the_interquartile_ranges_part():
    bench = _bench("bench_caption")
    plain = bench.quartiles([10.0, 11.0, 12.0, 13.0, 14.0])
    assert (plain["median"], plain["q1"], plain["q3"]) == (12.0, 11.0, 13.0)
    overlapping = bench.quartiles([9.0, 10.0, 11.5, 12.0, 13.0])  # median 1.04x lower, IQR 10-12 overlaps 11-13
    assert bench.verdict(plain, overlapping) == "same speed"
    faster = bench.quartiles([5.0, 5.5, 6.0, 6.5, 7.0])
    assert bench.verdict(plain, faster) == "project 2.00x faster"
    assert bench.verdict(faster, plain) == "plain 2.00x faster"


def test_scst_gain_is_within_noise_unless_it_exceeds_the_seed_range():
    bench = _bench("bench_scst")
    diff, noise, words = bench.verdict([110.0, 114.0, 118.0], [109.0, 111.0, 113.0])
    assert (diff, noise, words) == (pytest.approx(3.0), 8.0, "within noise")
    diff, noise, words = bench.verdict([120.0, 121.0, 122.0], [109.0, 111.0, 113.0])
    assert diff == pytest.approx(10.0) and noise == 4.0 and words.startswith("SCST above XE continued")
    assert bench.spread([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(2**0.5), "min": 1.0, "max": 3.0}


def test_caption_bench_alternates_and_times_every_batch_of_both_paths(capsys, one_thread):
    bench = _bench("bench_caption")
    assert bench.main(["--threads", "1", "--batches", "3", "--batch-sizes", "2", "--beams", "1"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(next(line for line in out.splitlines() if line.startswith("BENCH_CAPTION "))[14:])
    (row,) = summary["rows"]
    assert len(row["plain"]["ms_per_image"]) == len(row["project"]["ms_per_image"]) == 3
    assert row["images"] == 6 and row["same"] == 6  # on CPU the project path writes the plain captions
    assert "load average" in out and "| 1 | 2 |" in out


def test_pointing_hit_rates_carry_their_wilson_interval():
    bench = _bench("bench_pointing")
    low, high = bench.wilson(0, 41)
    assert low == 0 and high == pytest.approx(1.96**2 / (41 + 1.96**2))  # the closed form for no hit
    low, high = bench.wilson(22, 41)
    assert low < 22 / 41 < high and high - low == pytest.approx(0.29, abs=0.01)  # about +-0.15 on 41 words
