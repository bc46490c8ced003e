"""Scores match coco-caption (pycocoevalcap called directly) and hand-computed published values."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from rsic_core.scoring import coco, metrics
from rsic_core.scoring.metrics import BLEU, CIDER, GEO_SIM_MAX, GEO_SIM_MEAN, METEOR, ROUGE_L, ScoreConfig, score
from tests.support.scoring import PREDICTIONS, REFERENCES


@pytest.fixture(scope="session")
def coco_direct():
    """pycocoevalcap as its README shows it, on the same inputs."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": c} for c in refs] for i, refs in REFERENCES.items()})
    res = tok.tokenize({i: [{"caption": PREDICTIONS[i]}] for i in REFERENCES})
    out = {}
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    for name, corpus, each in zip(BLEU, bleu, bleu_each):
        out[name] = (corpus, each)
    meteor = Meteor()
    out[METEOR] = meteor.compute_score(gts, res)
    out[ROUGE_L] = Rouge().compute_score(gts, res)
    out[CIDER] = Cider().compute_score(gts, res)
    ids = list(gts)
    return ids, out


def test_corpus_and_per_image_scores_equal_pycocoevalcap(corpus_scores, coco_direct):
    ids, direct = coco_direct
    for name, (corpus, each) in direct.items():
        assert corpus_scores.corpus[name] == pytest.approx(corpus, abs=1e-9), name
        ours = [corpus_scores.per_image[i][name] for i in ids]
        assert ours == pytest.approx(list(each), abs=1e-9), name
    assert corpus_scores.corpus[CIDER] > 0.5  # a real signal, not all zeros
    assert corpus_scores.n_images == len(REFERENCES)


def test_bleu_paper_examples_hand_computed():
    """Papineni et al. 2002: candidate 1 has unigram precision 17/18 and bigram 10/17; the
    'the the the ...' candidate has modified unigram precision 2/7 (lengths match a reference,
    so no brevity penalty)."""
    refs = [
        "It is a guide to action that ensures that the military will forever heed Party commands.",
        "It is the guiding principle which guarantees the military forces always being under the command of the Party.",
        "It is the practical guide for the army always to heed the directions of the party.",
    ]
    cand = "It is a guide to action which ensures that the military always obeys the commands of the party."
    cat_refs = ["The cat is on the mat.", "There is a cat on the mat."]
    s = score(
        {"c1": cand, "the": "the the the the the the the"},
        {"c1": refs, "the": cat_refs},
        ScoreConfig(score_metrics=("bleu",)),
    )
    assert s.per_image["c1"]["BLEU-1"] == pytest.approx(17 / 18, abs=1e-6)
    assert s.per_image["c1"]["BLEU-2"] == pytest.approx(math.sqrt(17 / 18 * 10 / 17), abs=1e-6)
    assert s.per_image["the"]["BLEU-1"] == pytest.approx(2 / 7, abs=1e-6)
    assert set(s.corpus) == set(BLEU) and not s.embedder


def test_geo_sim_is_cosine_of_embeddings_mean_and_max(corpus_scores):
    from sentence_transformers import util

    from rsic_core.text.embeddings import load_embedder

    model = load_embedder(None)
    image = "airport_1.jpg"
    emb = model.encode([PREDICTIONS[image], *REFERENCES[image]], convert_to_tensor=True)
    sims = util.cos_sim(emb[0:1], emb[1:])[0].tolist()
    assert corpus_scores.per_image[image][GEO_SIM_MEAN] == pytest.approx(sum(sims) / len(sims), abs=1e-5)
    assert corpus_scores.per_image[image][GEO_SIM_MAX] == pytest.approx(max(sims), abs=1e-5)
    assert corpus_scores.embedder == "all-MiniLM-L6-v2 (packaged)"
    assert 0 < corpus_scores.corpus[GEO_SIM_MEAN] < corpus_scores.corpus[GEO_SIM_MAX] < 1


def test_awkward_inputs_are_scored_and_explained(corpus_scores):
    # the empty prediction scores 0 everywhere; the non-ASCII image and the 2-reference image score
    assert all(v == 0 for v in corpus_scores.per_image["beach_7.jpg"].values())
    assert corpus_scores.per_image["café_10.jpg"][METEOR] > 0.2
    assert corpus_scores.per_image["parking_9.jpg"][CIDER] > 1
    assert any("empty prediction" in n for n in corpus_scores.notes)
    assert any("fewer than 5 references" in n for n in corpus_scores.notes)
    assert metrics.SPICE not in corpus_scores.corpus


def test_images_without_references_are_left_out_with_a_note():
    s = score(
        {"a": "a red roof", "b": "two ships"},
        {"a": ["a house with a red roof"], "b": []},
        ScoreConfig(score_metrics=("bleu", "rouge")),
    )
    assert s.n_images == 1
    assert math.isnan(s.per_image["b"]["ROUGE-L"]) and s.per_image["a"]["ROUGE-L"] > 0.5
    assert any("without any reference" in n for n in s.notes)
    with pytest.raises(ValueError, match="nothing to score"):
        score({"b": "two ships"}, {"b": []})


def test_spice_offline_is_skipped_with_the_reason():
    s = score(["a red roof"], [["a house with a red roof"]], ScoreConfig(score_metrics=("bleu",), score_spice=True))
    assert metrics.SPICE not in s.corpus
    assert "CoreNLP" in s.skipped[metrics.SPICE]


def test_meteor_works_from_a_path_with_spaces(tmp_path, monkeypatch):
    real = coco.package_dir("meteor")
    spaced = tmp_path / "site packages" / "meteor"
    (spaced / "data").mkdir(parents=True)
    os.symlink(real / "meteor-1.5.jar", spaced / "meteor-1.5.jar")
    os.symlink(real / "data" / "paraphrase-en.gz", spaced / "data" / "paraphrase-en.gz")
    monkeypatch.setattr(coco, "package_dir", lambda sub: spaced if sub == "meteor" else real.parent / sub)
    gts, res = {"x": ["a river goes through the forest"]}, {"x": ["a river in the forest"]}
    proc = coco.MeteorProcess()
    try:
        corpus, each = proc.compute_score(gts, res)
    finally:
        proc.proc.kill()
    monkeypatch.undo()
    assert (corpus, each) == coco.meteor_process().compute_score(gts, res)
    assert corpus > 0.2


def test_missing_java_is_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ValueError) as err:
        coco.ptb_tokenize({"x": ["a b"]}, {"x": "a"})
    assert "Java" in str(err.value) and "\n" not in str(err.value)


def test_unknown_metric_group_is_refused():
    with pytest.raises(ValueError, match="unknown metric"):
        score(["a"], [["a"]], ScoreConfig(score_metrics=("bleu", "bertscore")))


def test_geo_sim_again_uses_cached_vectors_and_bfloat16_stays_close(corpus_scores):
    from tests.support.scoring import PREDICTIONS as P
    from tests.support.scoring import REFERENCES as R

    ids = list(R)
    means, maxes = metrics.geo_sim([P[i] for i in ids], [R[i] for i in ids])  # all vectors cached: no model call
    assert means == pytest.approx([corpus_scores.per_image[i][GEO_SIM_MEAN] for i in ids], abs=1e-6)
    s = score(P, R, ScoreConfig(score_metrics=("geo_sim",), geo_sim_dtype="bfloat16"))
    assert s.embedder == "all-MiniLM-L6-v2 (packaged), bfloat16"
    assert s.corpus[GEO_SIM_MEAN] == pytest.approx(corpus_scores.corpus[GEO_SIM_MEAN], abs=0.01)


def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it_and_is_recorded(corpus_scores):

    from tests.support.scoring import PREDICTIONS as P
    from tests.support.scoring import REFERENCES as R

    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    expected = "bfloat16" if {"avx512_bf16", "amx_bf16"} & flags else "float32"
    assert metrics.resolve_geo_sim_dtype("auto") == expected
    assert metrics.resolve_geo_sim_dtype("float32") == "float32"
    s = score(P, R, ScoreConfig(score_metrics=("geo_sim",)))  # the default: auto
    assert s.embedder == "all-MiniLM-L6-v2 (packaged)" + ("" if expected == "float32" else ", bfloat16")
    assert s.corpus[GEO_SIM_MEAN] == pytest.approx(corpus_scores.corpus[GEO_SIM_MEAN], abs=0.01)


def test_the_studys_mpnet_is_used_when_it_is_in_the_local_cache(tmp_path):
    from rsic_core.text.embeddings import default_embedder_path, embedder_name, geo_sim_default

    assert geo_sim_default(cache_dir=str(tmp_path)) is None  # not cached: the packaged MiniLM is used
    # A local Hugging Face cache holding the study's model (here the packaged MiniLM files stand in for it).
    repo = tmp_path / "models--sentence-transformers--all-mpnet-base-v2"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots").mkdir()
    (repo / "snapshots" / ("0" * 40)).symlink_to(default_embedder_path(), target_is_directory=True)
    found = geo_sim_default(cache_dir=str(tmp_path))
    assert found and found.endswith("0" * 40)
    assert embedder_name(found) == "sentence-transformers/all-mpnet-base-v2"
    s = score(
        {"a": "two planes at an airport"},
        {"a": ["planes parked at the airport"]},
        ScoreConfig(score_metrics=("geo_sim",), geo_sim_embedder=found),
    )
    assert s.embedder.startswith("sentence-transformers/all-mpnet-base-v2") and s.corpus[GEO_SIM_MEAN] > 0.5


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_caption_against_itself_has_geo_sim_one_in_every_precision(dtype):
    sentences = ["many buildings and green trees are around a parking lot", "there is a piece of farmland"]
    means, maxes = metrics.geo_sim(sentences, [[s] for s in sentences], dtype=dtype)
    assert means == pytest.approx([1.0, 1.0], abs=1e-6) and max(maxes) <= 1.0 + 1e-6
