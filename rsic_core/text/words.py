"""Words of captions: the one place that splits text into words, and the shared word lists.

Four splitters, each for one job (all lowercase; letters and digits are those of any script,
so ``café`` stays one word)::

    text = "Two tennis-courts, 3 cars and it's café-green."
    tokens(text)        # ['two', 'tennis-courts', '3', 'cars', 'and', "it's", 'café-green']
    words(text)         # ['two', 'tennis', 'courts', '3', 'cars', 'and', 'it', 's', 'café', 'green']
    letter_words(text)  # ['two', 'tennis', 'courts', 'cars', 'and', 'it', 's', 'café', 'green']
    pieces(text)        # ['two', 'tennis-courts,', '3', 'cars', 'and', "it's", 'café-green.']

- :func:`tokens`: the ``tokens`` field of the Karpathy layout (demo dataset): inner hyphens and
  apostrophes keep a word whole.
- :func:`words`: words and numbers for error analysis: a hyphen splits, so the objects of
  "tennis-court" are found, and numbers stay, so "3 planes" is a count.
- :func:`letter_words`: the vocabulary (Caption statistics, synonym clustering and rewriting,
  the guard's source check): numbers are not vocabulary words.
- :func:`pieces`: what is written between spaces, for caption length (:func:`count_words`, the
  length filter) and the guard's id check, which must see ``-1``, ``c17`` and ``<unk>`` as written.

:data:`STOPWORDS` are the function words left out of content-word counts (error analysis, top
words, synonym clustering); :data:`NUMBER_WORDS` and :data:`NUMBER_VALUES` name numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")  # letters/digits, joined by inner ' ’ -
_WORD = re.compile(r"[^\W_]+")  # letters and digits
_LETTERS = re.compile(r"[^\W\d_]+")  # letters only
_ALNUM = re.compile(r"[^\W_]")

# Function words: articles, determiners and quantifiers, pronouns, prepositions (spatial ones
# too: captions state relations with them), conjunctions, auxiliaries, and the nouns of
# quantity phrases that real captions are full of ("lots of", "a piece of", "a part of",
# "different kinds of", "on both sides of"). "one" is here: in real captions it is mostly a
# pronoun ("another one", "on one side"); counts are read from the words before this list is
# applied. "lot" is not: in UCM-captions it is almost always "parking lot".
STOPWORDS = frozenset(
    """
    a an the this that these those some any each every both either neither another other such no
    many much few several lots piece pieces part kind kinds side sides one
    it its they them their there here which who what
    of in on at to into onto from by with for as near next beside through across along around
    between over under above below behind
    and or nor but while where when than then
    is are was were be been being has have having do does can
    also very not
    """.split()
)

NUMBER_WORDS = tuple(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million".split()
)  # NUMBER_WORDS[n] is the word for n below twenty
NUMBER_VALUES: dict[str, int] = {
    **{w: n for n, w in enumerate(NUMBER_WORDS[:20])},
    **{w: 10 * n for n, w in enumerate(NUMBER_WORDS[20:28], 2)},
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
}


def tokens(text: str) -> list[str]:
    """Karpathy ``tokens``: words and numbers, punctuation dropped; "tennis-court" and "it's" stay whole."""
    return _TOKEN.findall(text.lower())


def words(text: str) -> list[str]:
    """Words and numbers, split at anything else: "tennis-court" gives "tennis", "court"."""
    return _WORD.findall(text.lower())


def letter_words(text: str) -> list[str]:
    """Words of letters only, split at anything else (digits too): the vocabulary of a caption."""
    return _LETTERS.findall(text.lower())


def pieces(text: str) -> list[str]:
    """The space-separated pieces that hold a letter or digit, as written ("-1", "c17", "blue-green.")."""
    return [p for p in text.lower().split() if _ALNUM.search(p)]


def reference_key(caption: str) -> str:
    """A caption as two references are compared for being the same: lower-cased, spaces collapsed."""
    return " ".join(caption.lower().split())


def repeated_references(captions: Iterable[str]) -> int:
    """How many of an image's references repeat an earlier one (by :func:`reference_key`)."""
    counts = Counter(reference_key(c) for c in captions)
    return sum(n - 1 for n in counts.values())


def count_words(caption: str) -> int:
    """Words in a caption as the length filter counts them: pieces, so a final ``.`` does not count."""
    return len(pieces(caption))


def word_counts(captions: Iterable[str]) -> Counter:
    """Each letter word of the captions and how often it occurs (the vocabulary with counts)."""
    counts: Counter = Counter()
    for caption in captions:
        counts.update(letter_words(caption))
    return counts


def is_content_word(word: str) -> bool:
    """Not a function word, and not a lone letter (the "s" of "it's"); a lone digit is content."""
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


# Nouns that frame a scene or a position in it rather than name a thing in it.
FRAME_WORDS = frozenset(
    "image picture photo photograph view scene area region place part middle center centre corner edge side "
    "top bottom left right position direction spot space ground".split()
)
TEMPLATE_WORDS = frozenset({"aerial", "remote", "sensing"})  # "an aerial image of", "a remote sensing image of"


def is_scene_word(word: str) -> bool:
    """A content word that says something about the scene: not its frame ("image", "area", "middle", in the
    singular or plural) nor the template of remote-sensing captions ("aerial", "remote sensing").

    The words worth a heatmap (``rsic explain``'s overlays, the pages' word pills)."""
    word = word.lower().strip(".,;:!?")
    frame = FRAME_WORDS | TEMPLATE_WORDS
    return is_content_word(word) and word not in frame and word.removesuffix("s") not in frame


def replace_words(text: str, mapping: dict[str, str]) -> str:
    """``text`` with every letter word whose lowercase form is in ``mapping`` replaced by its value.

    Args:
        text: a caption, in any case; everything but the replaced words is kept as written.
        mapping: lowercase word -> replacement.
    """
    return _LETTERS.sub(lambda m: mapping.get(m.group(0).lower(), m.group(0)), text) if mapping else text
