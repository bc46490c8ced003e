"""Synonym merges on the real UCM-captions references (train + val, 9,450 captions; skipped where absent).

The default mapping once applied dark->black, house->home and weeds->grass there ("lots of black
green trees"): only words WordNet makes the same thing are merged now, and captions keep their number.
"""

from __future__ import annotations

import pytest

from rsic_core.text import synonyms, wordnet
from rsic_core.text.words import letter_words

REFUSED = [("dark", "black"), ("house", "home"), ("weeds", "grass"), ("white", "green"), ("sea", "river")]


@pytest.fixture(scope="module")
def ucm(shared_data):
    """The UCM captions, their default synonym result and the RISC study's (plurals to singular)."""
    from rsic_core.data.datasets import load_dataset

    path = shared_data / "ucm-captions" / "dataset_ucm.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    try:
        wn = wordnet.load_wordnet()
    except wordnet.WordNetUnavailable as e:
        pytest.skip(str(e))
    captions = [c for r in load_dataset(path).records for c in r.captions]
    result = synonyms.cluster_synonyms(captions)  # embeds the ~280-word vocabulary once
    study = synonyms.cluster_synonyms(captions, embeddings=result.embeddings, keep_number=False)
    return captions, result, study, wn


def test_words_that_are_not_the_same_thing_are_never_merged(ucm):
    captions, result, study, wn = ucm
    assert result.notes == [] and len(result.words) > 200
    for applied in (result.applied_map(), study.applied_map()):
        for a, b in REFUSED:
            assert applied.get(a) != b and applied.get(b) != a, (a, b)
    for a, b in REFUSED:
        assert wordnet.word_relation(wn, a, b) not in wordnet.ACCEPTED_RELATIONS, (a, b)
    rows = result.mapping.set_index("variant")
    assert rows.loc["white", "relation"] == "colour" and rows.loc["weeds", "relation"] == "other sense"
    applied = result.mapping[result.mapping["applied"]]
    assert set(applied["relation"]) <= {"synonym", "spelling"}
    rewritten = synonyms.rewrite(captions, result.applied_map())
    assert not any("black green" in c.lower() for c in rewritten)
    changed = [(a, b) for a, b in zip(captions, rewritten) if a != b]
    assert 0 < len(changed) < 50  # a handful of typos and synonyms, not hundreds of captions


def test_typos_of_the_references_are_merged_but_derived_and_compound_words_are_not(ucm):
    _, result, _, _ = ucm
    applied = result.applied_map()
    for typo, word in [("roofss", "roofs"), ("plantss", "plants"), ("cornersd", "corners"), ("smalle", "small")]:
        assert applied.get(typo) == word, typo
    assert applied.get("planes") == "airplanes"  # a synonym in the number of the word it replaces
    assert applied.get("colour") == "color"
    assert {"scatteredly", "triangularly", "parkinglot"}.isdisjoint(applied)  # "scattered", "parking" + "lot"


def test_plural_merges_are_one_word_and_the_captions_keep_their_number(ucm):
    captions, result, study, wn = ucm
    for plural, singular in [("trees", "tree"), ("buildings", "building"), ("cars", "car"), ("airplanes", "airplane")]:
        assert wordnet.word_relation(wn, plural, singular) == "plural"
    forms = result.forms_map()  # the forms of one word, for whoever groups them (error analysis)
    assert forms["tree"] == "trees" and forms["building"] == "buildings" and forms["car"] == "cars"
    assert forms["airplanes"] == "airplane" and forms["sands"] == "sand"
    rewritten = synonyms.rewrite(captions, result.applied_map())

    def count(word, texts):
        return sum(letter_words(c).count(word) for c in texts)

    for word in ("trees", "buildings", "cars", "tree", "building", "car", "airplane"):
        assert count(word, rewritten) == count(word, captions), word
    assert count("airplanes", rewritten) == count("airplanes", captions) + count("planes", captions)
    # The RISC study's way, on request: plurals rewritten to their singular.
    assert study.applied_map().get("airplanes") == "airplane" and study.applied_map().get("sands") == "sand"


def test_the_mapping_table_opens_on_the_applied_merges(ucm):
    _, result, _, _ = ucm
    table = result.mapping
    applied = table["applied"].tolist()
    assert applied[0] and applied == sorted(applied, reverse=True)
    refused = table[~table["applied"]]["variant_count"].tolist()
    assert refused == sorted(refused, reverse=True)  # then the most frequent words
