"""The one word splitter module: each splitter keeps what its job needs, one stopword set, one number list."""

from __future__ import annotations

import json

import pytest

from rsic_core.text import words

# Captions as datasets write them: capitals, a final " .", hyphens (UCM-captions has "blue-green"
# and "T-junction"), apostrophes, digits, non-ASCII letters and stray punctuation.
CAPTION = "Two tennis-courts, 3 cars and it's café-green."


def test_the_four_splitters_differ_only_where_their_jobs_do():
    assert words.tokens(CAPTION) == ["two", "tennis-courts", "3", "cars", "and", "it's", "café-green"]
    assert words.words(CAPTION) == ["two", "tennis", "courts", "3", "cars", "and", "it", "s", "café", "green"]
    assert words.letter_words(CAPTION) == ["two", "tennis", "courts", "cars", "and", "it", "s", "café", "green"]
    assert words.pieces(CAPTION) == ["two", "tennis-courts,", "3", "cars", "and", "it's", "café-green."]


@pytest.mark.parametrize(
    "caption, tokens",
    [
        ("There is a piece of farmland .", ["there", "is", "a", "piece", "of", "farmland"]),
        (
            "The water is blue-green near a T-junction .",
            ["the", "water", "is", "blue-green", "near", "a", "t-junction"],
        ),
        ("it’s a well- kept lawn", ["it’s", "a", "well", "kept", "lawn"]),  # a dangling hyphen splits
        ("12 planes (white) at gate B7!", ["12", "planes", "white", "at", "gate", "b7"]),
        ("Ein Flugzeug über München", ["ein", "flugzeug", "über", "münchen"]),
        ("-- ... ,", []),
    ],
)
def test_karpathy_tokens_of_real_looking_captions(caption, tokens):
    assert words.tokens(caption) == tokens


def test_error_analysis_words_find_the_objects_inside_hyphenated_words():
    assert words.words("two tennis-courts beside 3 baseball-fields") == [
        "two",
        "tennis",
        "courts",
        "beside",
        "3",
        "baseball",
        "fields",
    ]


def test_the_vocabulary_has_no_numbers_and_counts_case_folded_words():
    counts = words.word_counts(["Two planes, 2 runways.", "a plane near runways", "CAFÉ café"])
    assert counts == {"two": 1, "planes": 1, "runways": 2, "a": 1, "plane": 1, "near": 1, "café": 2}


def test_pieces_keep_ids_as_written_and_drop_bare_punctuation():
    assert words.pieces("c17 -1 <unk> twenty-two ... — 109") == ["c17", "-1", "<unk>", "twenty-two", "109"]


@pytest.mark.parametrize(
    "caption, n",
    [
        ("Many buildings are near a park .", 6),
        ("a café — near the lake", 5),
        ("blue-green water", 2),
        ("東京 の 空港", 3),
        ("", 0),
    ],
)
def test_count_words_counts_pieces_not_punctuation(caption, n):
    assert words.count_words(caption) == n


def test_replace_words_keeps_case_punctuation_and_parts_of_other_words():
    mapping = {"buildings": "building", "bulding": "building", "café": "cafe"}
    assert words.replace_words("Two Buildings near a bulding, and a Café.", mapping) == (
        "Two building near a building, and a cafe."
    )
    assert words.replace_words("rebuildings stay", mapping) == "rebuildings stay"  # whole words only


def test_stopwords_are_function_words_and_content_words_stay():
    # Frequent in UCM-captions and carrying no content: articles, prepositions, pronouns, quantity phrases.
    for w in ("a", "the", "with", "some", "of", "is", "beside", "through", "across", "them", "both", "lots", "piece"):
        assert w in words.STOPWORDS, w
    # Content words of the same captions, "lot" included (almost always "parking lot").
    for w in ("parking", "lot", "runway", "river", "green", "plants", "two", "residential", "arranged"):
        assert w not in words.STOPWORDS, w
    assert words.is_content_word("runway") and words.is_content_word("3")
    assert not words.is_content_word("the") and not words.is_content_word("s")  # the "s" of "it's"


def test_the_top_words_of_real_captions_are_content_words(shared_data):
    from rsic_core.text.stats import top_tokens

    annotation = json.loads((shared_data / "ucm-captions" / "dataset_ucm.json").read_text())
    captions = [s["raw"] for im in annotation["images"] for s in im["sentences"]]
    top = top_tokens(captions, n=15)["token"].tolist()
    assert {"area", "plants", "houses", "roads", "cars", "residential"} <= set(top)
    assert not set(top) & {"with", "some", "there", "beside", "through", "lots", "piece"}


def test_one_number_list_serves_the_guard_and_the_demo():
    from rsic_core.data.demo.captions import NUMBER_WORDS as DEMO_NUMBER_WORDS
    from rsic_core.text.guard import check_natural_language

    assert words.NUMBER_WORDS[:7] == DEMO_NUMBER_WORDS == ("zero", "one", "two", "three", "four", "five", "six")
    assert all(words.NUMBER_VALUES[w] == n for n, w in enumerate(words.NUMBER_WORDS[:20]))
    assert (words.NUMBER_VALUES["twenty"], words.NUMBER_VALUES["ninety"], words.NUMBER_VALUES["hundred"]) == (
        20,
        90,
        100,
    )
    # Cluster ids written as words go far beyond six: the guard knows them all.
    assert not check_natural_language(["seventy-one forty-six", "twenty-two", "minus one"]).ok
