"""Synonym clustering: WordNet decides which merges apply (only words that are the same thing),
rewriting keeps words (never ids) and their number, and the step says plainly when WordNet or the
embedder is missing. Real UCM captions: tests/test_synonyms_ucm.py."""

from __future__ import annotations

import numpy as np
import pytest

from rsic_core.text import synonyms, wordnet
from rsic_core.text.guard import check_natural_language
from tests.bad_inputs.text import planted_object_arrays

# Real-looking captions with plurals, a synonym pair and the typos human references have.
CAPTIONS = (
    ["many buildings are near a green park"] * 6
    + ["a building is beside the road"] * 9
    + ["two airplanes are parked near the terminal"] * 4
    + ["an airplane is parked at the airport"] * 8
    + ["a bulding stands next to some trees"] * 2
    + ["some trees are around the lake"] * 7
    + ["a plane is parked beside the runway"] * 3
    + ["a river runs through the forest"] * 5
)


@pytest.fixture(scope="module")
def wn():
    try:
        return wordnet.load_wordnet()
    except wordnet.WordNetUnavailable as e:
        pytest.skip(str(e))


@pytest.mark.parametrize(
    "variant, canonical, relation",
    [
        ("buildings", "building", "plural"),
        ("plane", "airplane", "synonym"),
        ("bulding", "building", "spelling"),
        ("road", "roads", "singular"),
        ("parked", "park", "inflection"),
        ("passes", "pass", "inflection"),
        ("trees", "tree", "plural"),
        ("trees", "building", "unrelated"),
        ("park", "parked", "inflection"),  # an inflected form is never a spelling of its base
        ("colours", "colors", "spelling"),  # was "synonym": one WordNet entry spelt two ways
        ("grey", "gray", "spelling"),
        ("aeroplane", "airplane", "spelling"),
        ("industrail", "industrial", "spelling"),  # a typo: unknown to WordNet, one letter swapped
        ("scatteredly", "scattered", "unrelated"),  # a derived word, not a typo
        ("parkinglot", "parking", "unrelated"),  # a compound ("parking" + "lot"), not a typo
        ("circular", "round", "synonym"),  # round.a.01 is the dominant adjective sense of both
        ("bushes", "shrubs", "synonym"),
        ("house", "home", "other sense"),  # one synset only as "household"
        ("weeds", "grass", "other sense"),  # one synset only as marijuana
        ("dark", "black", "other sense"),
        ("sea", "ocean", "other sense"),  # ocean.n.02 is the second sense of both
        ("below", "under", "other sense"),
        ("land", "ground", "other sense"),
        ("white", "green", "colour"),
        ("big", "small", "antonym"),
        ("freeways", "roads", "hypernym"),
        ("buildings", "houses", "hyponym"),
        ("boats", "ships", "co-hyponym"),
    ],
)
def test_wordnet_names_the_relation_of_a_merge(wn, variant, canonical, relation):
    assert wordnet.word_relation(wn, variant, canonical) == relation


def test_merges_follow_wordnet_not_just_the_clusters(wn):
    words = ["building", "trees", "buildings", "bulding", "tree"]
    counts = [50, 40, 30, 3, 2]
    base = np.random.default_rng(0).normal(size=(2, 16))
    vectors = np.stack([base[0], base[1], base[0] + 0.05, base[0] + 0.1, base[0] + 0.12])  # "tree" sits by building
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.zeros(5, dtype=int)  # one cluster: DBSCAN chaining, as with real vocabularies
    vectors = vectors.astype(np.float32)
    table = synonyms.build_mapping(words, counts, vectors, labels, wn)
    rows = {r.variant: r for r in table.itertuples()}
    # The number is kept by default: the plural is the same word (listed), not rewritten to the singular.
    assert (rows["buildings"].canonical, rows["buildings"].relation, rows["buildings"].applied) == (
        "building",
        "plural",
        False,
    )
    assert (rows["bulding"].canonical, rows["bulding"].applied) == ("building", True)
    assert not rows["tree"].applied and rows["tree"].relation in {"unrelated", "singular"}
    assert "trees" not in rows or not rows["trees"].applied
    assert table["applied"].tolist() == sorted(table["applied"], reverse=True)  # the table opens on applied merges
    study = synonyms.build_mapping(words, counts, vectors, labels, wn, keep_number=False)
    rows = {r.variant: r for r in study.itertuples()}
    assert (rows["buildings"].canonical, rows["buildings"].applied) == ("building", True)  # the RISC way


def test_a_synonym_takes_the_number_of_the_word_it_replaces(wn):
    words = ["airplane", "airplanes", "runway", "planes", "plane"]
    counts = [40, 30, 20, 3, 2]
    base = np.random.default_rng(3).normal(size=(2, 16))
    vectors = np.stack([base[0], base[0] + 0.02, base[1], base[0] + 0.05, base[0] + 0.06])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    table = synonyms.build_mapping(words, counts, vectors, np.zeros(5, dtype=int), wn)
    applied = dict(zip(table.loc[table["applied"], "variant"], table.loc[table["applied"], "canonical"]))
    assert applied == {"planes": "airplanes", "plane": "airplane"}  # never "two airplane"
    assert synonyms.rewrite(["two planes near a plane"], applied) == [
        "two airplanes near an airplane"
    ]  # the article follows


def test_rewrite_replaces_words_with_words():
    out = synonyms.rewrite(
        ["Two Buildings near a bulding.", "a lake"], {"buildings": "building", "bulding": "building"}
    )
    assert out == ["Two building near a building.", "a lake"]


def test_real_embedder_clusters_and_rewrites_into_natural_captions(wn):
    result = synonyms.cluster_synonyms(CAPTIONS, eps=0.5, min_samples=2)
    assert result.notes == [] and result.n_clusters >= 1
    assert list(result.mapping.columns) == synonyms.MAPPING_COLUMNS
    applied = result.applied_map()
    assert applied.get("bulding") == "building" and applied.get("plane") == "airplane"
    assert "buildings" not in applied and result.forms_map().get("buildings") == "building"  # number kept
    assert all(v.isalpha() for v in applied.values())  # words, never ids
    rewritten = synonyms.rewrite(CAPTIONS, applied)
    assert "a building stands next to some trees" in rewritten
    assert (
        "many buildings are near a green park" in rewritten and "an airplane is parked beside the runway" in rewritten
    )
    assert check_natural_language(rewritten, sources=CAPTIONS).ok
    study = synonyms.cluster_synonyms(CAPTIONS, eps=0.5, min_samples=2, embeddings=result.embeddings, keep_number=False)
    assert study.applied_map().get("buildings") == "building"
    # Re-clustering with the same vectors (the page's eps control) needs no embedder.
    strict = synonyms.cluster_synonyms(CAPTIONS, eps=0.05, min_samples=2, embeddings=result.embeddings)
    assert strict.n_clusters < result.n_clusters or len(strict.applied_map()) < len(applied)


def test_without_wordnet_the_step_says_so_and_applies_nothing(monkeypatch):
    def unavailable():
        raise wordnet.WordNetUnavailable("WordNet is not installed (test)")

    monkeypatch.setattr(wordnet, "load_wordnet", unavailable)
    result = synonyms.cluster_synonyms(CAPTIONS, min_samples=2)
    assert any("WordNet unavailable" in n for n in result.notes)
    assert len(result.mapping) and set(result.mapping["relation"]) == {"unchecked"}
    assert result.applied_map() == {}
    loose = synonyms.cluster_synonyms(CAPTIONS, min_samples=2, require_wordnet=False)
    assert loose.applied_map()  # the user may choose to apply unchecked merges


def test_umap_projection_is_cached_on_disk():
    from rsic_core.paths import rsic_home

    vectors = np.random.default_rng(1).normal(size=(40, 8)).astype(np.float32)
    xy = synonyms.project_2d(vectors)
    assert xy.shape == (40, 2) and np.isfinite(xy).all()
    assert list((rsic_home() / "cache" / "umap").glob("*.npy"))
    np.testing.assert_array_equal(synonyms.project_2d(vectors), xy)


def test_a_planted_word_vector_cache_never_runs_and_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_HOME", str(tmp_path / "home"))
    marker, words = tmp_path / "code-ran", ["plane", "runway", "harbor"]
    expected = synonyms.embed_words(words)
    (cached,) = (tmp_path / "home" / "cache" / "word_vectors").glob("*.npz")
    planted_object_arrays(cached, marker, ("words", "vectors"))
    np.testing.assert_allclose(synonyms.embed_words(words), expected, atol=1e-5)
    assert not marker.exists()
    with np.load(cached, allow_pickle=False) as stored:  # rewritten as plain arrays
        assert stored["words"].tolist() == words and stored["vectors"].shape == (3, 384)
    cached.write_bytes(b"PK\x03\x04 truncated")
    np.testing.assert_allclose(synonyms.embed_words(words), expected, atol=1e-5)
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary file left behind


def test_a_planted_umap_cache_never_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_HOME", str(tmp_path / "home"))
    marker = tmp_path / "code-ran"
    vectors = np.random.default_rng(2).normal(size=(30, 8)).astype(np.float32)
    xy = synonyms.project_2d(vectors)
    (cached,) = (tmp_path / "home" / "cache" / "umap").glob("*.npy")
    planted_object_arrays(cached, marker, ("xy",))
    np.testing.assert_array_equal(synonyms.project_2d(vectors), xy)
    assert not marker.exists()
    np.save(cached, np.zeros((3, 2), dtype=np.float32))  # an array of the wrong shape is recomputed too
    np.testing.assert_array_equal(synonyms.project_2d(vectors), xy)
