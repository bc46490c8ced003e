"""The paired bootstrap of ``rsic compare``: corpus BLEU and CIDEr-D recomputed from cached statistics equal
pycocoevalcap's, a system against itself differs by 0, a clearly better one wins every resample."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rsic_core.cli import main
from rsic_core.scoring import coco
from rsic_core.scoring.bootstrap import compare_systems, resample_counts
from rsic_core.scoring.corpus_stats import CiderStats, bleu_stats, corpus_bleu, corpus_cider, per_image_cider
from tests.support.comparing import CONSTANT


@pytest.fixture(scope="module")
def tokenized(ucm_val_sides):
    """PTB-tokenized UCM val references and a mixed system: second references, a constant caption, an empty one."""
    records = ucm_val_sides["records"]
    refs = {r.image_id: r.captions for r in records}
    preds = {r.image_id: (CONSTANT if k % 3 == 0 else r.captions[1]) for k, r in enumerate(records)}
    preds[records[4].image_id] = ""
    gts, res = coco.ptb_tokenize(refs, preds)
    return gts, res


def test_corpus_bleu_and_cider_from_cached_statistics_equal_pycocoevalcap(tokenized):
    gts, res = tokenized
    ids = list(gts)
    refs, preds = [gts[i] for i in ids], [res[i][0] for i in ids]
    bleu, cider = bleu_stats(refs, preds), CiderStats.of(refs, preds)
    ones = np.ones((1, len(ids)))
    expected_bleu, expected_cider = coco.bleu(gts, res), coco.cider(gts, res)
    for k, name in enumerate(coco.BLEU):
        assert corpus_bleu(bleu, ones)[0, k] == pytest.approx(expected_bleu[name][0], abs=1e-9)
    assert corpus_cider(cider, ones)[0] == pytest.approx(expected_cider["CIDEr"][0], abs=1e-9)
    assert np.allclose(per_image_cider(cider), expected_cider["CIDEr"][1], rtol=0, atol=1e-9)

    # a resample draws images more than once: pycocoevalcap on that corpus (each draw its own id) agrees,
    # document frequencies over the drawn references included
    counts = resample_counts(len(ids), resamples=2, seed=3)
    for row in counts:
        drawn = [k for k, c in enumerate(row) for _ in range(int(c))]
        gts_r = {f"{n}-{ids[k]}": gts[ids[k]] for n, k in enumerate(drawn)}
        res_r = {f"{n}-{ids[k]}": res[ids[k]] for n, k in enumerate(drawn)}
        assert row.max() > 1 and corpus_cider(cider, row[None])[0] == pytest.approx(
            coco.cider(gts_r, res_r)["CIDEr"][0], abs=1e-9
        )
        got = corpus_bleu(bleu, row[None])[0]
        assert got == pytest.approx([coco.bleu(gts_r, res_r)[n][0] for n in coco.BLEU], abs=1e-9)


def compare_json(capsys, *args) -> dict:
    assert main(["compare", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_system_against_itself_differs_by_zero(ucm_val_sides, capsys):
    out = compare_json(capsys, ucm_val_sides["first"], ucm_val_sides["first"], "--metrics", "bleu,rouge,cider")
    assert list(out) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr"]
    for metric, d in out.items():
        assert set(d) == {"delta", "low", "high", "a_wins"}
        assert d["low"] <= 0 <= d["high"] and d["delta"] == 0 and d["a_wins"] == 0, metric


def test_a_clearly_better_system_wins_every_metric(ucm_val_sides, capsys):
    first, constant = ucm_val_sides["first"], ucm_val_sides["constant"]
    out = compare_json(capsys, first, constant, "--resamples", "200")  # every metric: METEOR and Geo-Sim too
    assert {"BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "Geo-Sim (mean)"} <= set(out)
    for metric, d in out.items():
        assert 0 < d["low"] <= d["delta"] <= d["high"] and d["a_wins"] > 0.99, metric
    assert out["BLEU-4"]["delta"] > 0.9  # the first reference scores BLEU-4 1 against references holding it

    backwards = compare_json(capsys, constant, first, "--metrics", "cider", "--resamples", "200")
    assert backwards["CIDEr"]["high"] < 0 and backwards["CIDEr"]["a_wins"] == 0
    assert backwards["CIDEr"]["delta"] == pytest.approx(-out["CIDEr"]["delta"])


def test_the_text_table_is_x100_with_intervals_and_classes(ucm_val_sides, capsys):
    first, constant = ucm_val_sides["first"], ucm_val_sides["constant"]
    assert main(["compare", str(first), str(constant), "--metrics", "bleu,cider", "--resamples", "100"]) == 0
    text = capsys.readouterr().out
    assert "210 images, 100 paired resamples (seed 0)" in text
    bleu4 = next(line for line in text.splitlines() if line.startswith("BLEU-4"))
    assert bleu4.split()[1] == "100.00" and "[" in bleu4 and bleu4.endswith("100.0%")
    assert "airplane" in text and "tenniscourt" in text  # UCM's 21 classes, each compared on its own images


def test_the_same_seed_gives_the_same_interval_and_classes_are_their_own_images(ucm_val_sides):
    records = ucm_val_sides["records"][:40]
    ids, refs = [r.image_id for r in records], [r.captions for r in records]
    first, constant = [r.captions[0] for r in records], [CONSTANT] * len(records)
    kwargs = {"resamples": 300, "seed": 5}
    from rsic_core.scoring.metrics import ScoreConfig

    config = ScoreConfig(score_metrics=("bleu", "cider"))
    one = compare_systems(ids, first, constant, refs, [r.label for r in records], config, **kwargs)
    two = compare_systems(ids, first, constant, refs, [r.label for r in records], config, **kwargs)
    assert one.to_json() == two.to_json() and one.n_images == 40
    assert sum(one.class_sizes.values()) == 40 and set(one.per_class) == {r.label for r in records}


def test_sides_on_other_images_are_refused_in_one_sentence(ucm_val_sides, tmp_path, capsys):
    lines = ucm_val_sides["constant"].read_text().splitlines(keepends=True)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("".join(lines[1:]))
    assert main(["compare", str(ucm_val_sides["first"]), str(fewer), "--metrics", "bleu"]) == 2
    err = capsys.readouterr().err
    first_id = json.loads(lines[0])["image_id"]
    assert err.startswith("rsic: error: ") and "not on the same images (210 and 209" in err
    assert f"1 only in {ucm_val_sides['first']}, e.g. {first_id!r}" in err and err.count("\n") == 1


def test_a_thousand_resamples_of_an_rsicd_size_set_take_seconds(ucm_val_sides):
    import time

    records = ucm_val_sides["records"]
    refs = [[c.lower() for c in records[k % len(records)].captions] for k in range(1093)]  # RSICD's test size
    preds = [r[k % 5] if k % 4 else "there are some buildings and green trees" for k, r in enumerate(refs)]
    bleu, cider = bleu_stats(refs, preds), CiderStats.of(refs, preds)
    start = time.perf_counter()
    counts = resample_counts(len(refs), 1000, seed=0)
    corpus_bleu(bleu, counts), corpus_cider(cider, counts)
    assert time.perf_counter() - start < 30  # vectorised: about 2 s here on busy cores; a loop per resample, minutes
