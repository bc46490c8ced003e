"""The natural-language guard refuses the failures of the published attempt and accepts real captions."""

from __future__ import annotations

import pytest

from rsic_core.text.guard import check_natural_language

# The targets the published PaliGemma attempt trained on: synonym-cluster ids written as words.
CLUSTER_ID_TARGETS = ["one", "twenty-two", "-1", "seventy-one", "-1", "forty-six", "109"]
SPACED = [
    "m a n y   b u i l d i n g s   a r e   a r o u n d   a   p a r k",
    "a p l a n e i s p a r k e d n e a r a t e r m i n a l",
]
GOOD = [
    "many buildings are around a green park",
    "a plane is parked near the terminal of an airport",
    "two tennis courts are next to a road",
    "a river runs through a dense forest",
]


def test_refuses_cluster_ids_written_as_words_with_examples():
    report = check_natural_language(CLUSTER_ID_TARGETS)
    assert not report.ok
    assert [f.check for f in report.failures] == ["id_like"]
    with pytest.raises(ValueError) as e:
        report.raise_if_failed()
    message = str(e.value)
    assert "not natural language" in message and "'twenty-two'" in message and "'-1'" in message


def test_refuses_space_separated_characters():
    report = check_natural_language(SPACED + GOOD * 10)
    assert "spaced_characters" in [f.check for f in report.failures]
    assert SPACED[0] in report.failures[0].examples


def test_refuses_ids_mixed_into_real_captions():
    ids = ["c17 c4 c-1 c9", "12 7 -1 44 3", "<unk> <unk> 5"]
    report = check_natural_language(GOOD * 20 + ids)
    assert [f.check for f in report.failures] == ["id_like"]
    assert report.failures[0].count == 3


def test_refuses_a_collapsed_vocabulary():
    report = check_natural_language(["a plane", "a road", "a plane a road"] * 30)
    assert "collapsed_vocabulary" in [f.check for f in report.failures]
    report = check_natural_language([f"{'the ' * 12}{w}" for w in GOOD] * 60)
    assert "collapsed_vocabulary" in [f.check for f in report.failures]


def test_refuses_captions_that_lost_their_source_words():
    rewritten = ["tree tree river", "dog cat bird", "one two -1"]
    report = check_natural_language(rewritten, sources=GOOD[:3])
    checks = [f.check for f in report.failures]
    assert "unrelated_to_source" in checks
    # Synonym rewriting keeps most words: accepted.
    rewritten = [c.replace("buildings", "building").replace("plane", "airplane") for c in GOOD]
    assert check_natural_language(rewritten, sources=GOOD).ok


def test_a_few_odd_captions_in_a_large_set_are_warnings_not_failures():
    report = check_natural_language(GOOD * 500 + ["109"])
    assert report.ok and [w.check for w in report.warnings] == ["id_like"]
    report.raise_if_failed()  # does not raise


def test_accepts_numbers_inside_sentences():
    assert check_natural_language(["2 planes are parked", "twenty-two cars are in a parking lot"] + GOOD).ok


@pytest.mark.parametrize("sample", ["sydney-captions", "ucm-sample"])
def test_accepts_real_captions(shared_data, sample):
    from rsic_core.data.datasets import load_dataset

    dataset = load_dataset(shared_data / sample)
    captions = [c for r in dataset.records for c in r.captions]
    assert len(captions) > 200
    report = check_natural_language(captions, sources=captions)
    assert report.ok, report.summary()
    # ...and refuses the same captions once their characters are joined by spaces.
    assert not check_natural_language([" ".join(c) for c in captions]).ok
