"""Why a caption scored low: matching and missing words, typical error kinds, breakdowns.

The objects of a caption are the nouns that WordNet knows as things, with their plurals, synonyms
and two-word names (:mod:`rsic_core.scoring.objects`): no fixed list, so "airport", "storage
tanks" and "farmland" are objects in any dataset. A reference names an object of the prediction
when it says it in any form: the same word or its plural, a synonym (plane, airplane), a more
general or a more specific name a few steps apart (buildings for houses, plants for trees), a
two-word name it is part of (tanks, storage tanks) or one of the same kind (baseball field,
baseball diamond). Farmland and a baseball field are two things.

Per image (:func:`analyze`):

- matching words: content words (:func:`rsic_core.text.words.is_content_word`) of the prediction
  that some reference uses, and its object words that some reference names;
- missing: the objects that most references name (3 of 5; in proportion for fewer references)
  and the prediction does not, as the references write them;
- hallucinated: the objects of the prediction that no reference names, as the prediction writes them;
- error kinds (:data:`ERROR_KINDS`): ``wrong count`` (the prediction and a reference both count
  an object, "two tennis courts" / "a tennis court", and the numbers differ; vague words such as
  many or some are no count), ``missing object``, ``hallucinated object``.

:func:`analyze_run` does this for every image of a run with one :class:`Vocabulary` (the objects
of all the run's references and class names, read once) and adds the class each prediction names
(``scene``, see :mod:`rsic_core.scoring.confusion`); :func:`error_counts` and :func:`breakdown`
summarise the table by class or caption length.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rsic_core.scoring.confusion import NONE, SceneNames
from rsic_core.scoring.objects import Mention, ObjectLexicon, object_lexicon
from rsic_core.text.words import NUMBER_VALUES, STOPWORDS, count_words, is_content_word, words

__all__ = [  # words and STOPWORDS come from rsic_core.text.words, named here for the pages that use them
    "ERROR_KINDS",
    "LENGTH_BINS",
    "STOPWORDS",
    "ImageErrors",
    "Vocabulary",
    "analyze",
    "analyze_run",
    "breakdown",
    "counts_in",
    "error_counts",
    "hallucinated_objects",
    "length_bin",
    "object_of",
    "word_marks",
    "words",
]

ERROR_KINDS = ("wrong count", "missing object", "hallucinated object")
LENGTH_BINS = (
    (0, 0, "empty"),
    (1, 5, "1-5 words"),
    (6, 10, "6-10 words"),
    (11, 15, "11-15 words"),
    (16, 10**6, "16+ words"),
)
MAX_MODIFIERS = 3  # words allowed between a number and its object: "two big white planes"


@dataclass
class ImageErrors:
    """What one prediction got right and wrong against its references."""

    matching: list[str] = field(default_factory=list)  # prediction words that some reference uses or names
    missing: list[str] = field(default_factory=list)  # objects most references name, not the prediction
    hallucinated: list[str] = field(default_factory=list)  # objects of the prediction no reference names
    errors: list[str] = field(default_factory=list)  # ERROR_KINDS found, each once
    details: list[str] = field(default_factory=list)  # one plain sentence per error found


class Vocabulary:
    """The objects of one run: every caption read once, and the classes its predictions can name.

    Args:
        references: the reference captions of each image.
        labels: the class of each image (None where there is none), for :attr:`scenes`.
        lexicon (the offline WordNet): object words.
    """

    def __init__(
        self,
        references: Iterable[Sequence[str]] = (),
        labels: Iterable[str | None] = (),
        lexicon: ObjectLexicon | None = None,
    ):
        self.lexicon = lexicon or object_lexicon()
        self.note = self.lexicon.note  # why objects come from a fixed list (no WordNet), or None
        self._read: dict[str, tuple[list[str], list[Mention]]] = {}
        references = [list(r) if r is not None else [] for r in references]
        labels = list(labels) or [None] * len(references)
        names: Counter = Counter()
        for refs in references:
            for r in refs:
                names.update((m.key, m.text) for m in self.read(r)[1])
        classes = [(lab, refs) for lab, refs in zip(labels, references) if isinstance(lab, str) and lab]
        self.scenes = SceneNames([lab for lab, _ in classes], classes, self.lexicon, lambda r: self.read(r)[1])
        for label in self.scenes.classes:
            names.update((m.key, m.text) for m in self.lexicon.mentions(list(self.scenes.pieces[label])))
        self.objects: dict[str, str] = {}  # object key -> as the captions write it most often
        for (key, text), _ in names.most_common():
            self.objects.setdefault(key, text)

    @classmethod
    def of_table(cls, frame) -> Vocabulary:
        """The vocabulary of a predictions table (its ``references`` and ``label`` columns)."""
        labels = frame["label"] if "label" in frame.columns else ()
        return cls(frame["references"], labels)

    def read(self, caption: str) -> tuple[list[str], list[Mention]]:
        """The words of a caption and the objects it names (kept: a run repeats its captions)."""
        if caption not in self._read:
            tokens = words(caption)
            self._read[caption] = (tokens, self.lexicon.mentions(tokens))
        return self._read[caption]

    def scene(self, caption: str) -> str:
        """The class a caption names (:meth:`rsic_core.scoring.confusion.SceneNames.scene`)."""
        return self.scenes.scene(*self.read(caption))

    def names_same_thing(self, a: Mention, b: Mention) -> bool:
        """Whether two mentions name one thing in any form (see the module docstring)."""
        if self.lexicon.related(a.key, b.key):
            return True
        if len(a.parts) == 1 or len(b.parts) == 1:
            return a.key in b.parts or b.key in a.parts  # "tanks" and "storage tanks"
        return a.parts[0] == b.parts[0]  # "baseball field" and "baseball diamond"


def object_of(word: str) -> str | None:
    """The object a word names (its base form: ``planes`` -> ``plane``), or None."""
    return object_lexicon().key(word)


def counts_in(tokens: Sequence[str], vocabulary: Vocabulary | None = None) -> dict[str, int]:
    """Objects with a stated number: "two big white planes" -> {"plane": 2}; "a tennis court" -> {"tennis_court": 1}.

    The counts of one object add up: "one big airplane and three small airplanes" -> {"airplane": 4}.
    """
    vocabulary = vocabulary or Vocabulary()
    found = _counts(list(tokens), vocabulary.lexicon.mentions(list(tokens)))
    return {key: sum(values) for key, (values, _) in found.items()}


def _counts(tokens: list[str], mentions: list[Mention]) -> dict[str, tuple[list[int], str]]:
    """Object key -> (each number stated, the text of the largest) for mentions with a number or a/an before them."""
    inside = {k for m in mentions for k in range(m.start, m.end)}
    found: dict[str, tuple[list[int], str]] = {}
    for m in mentions:
        for k in range(m.start - 1, max(m.start - 2 - MAX_MODIFIERS, -1), -1):
            tok = tokens[k]
            n = NUMBER_VALUES.get(tok, int(tok) if tok.isdigit() else None)
            if n is None and tok in ("a", "an") and m.singular:
                n = 1
            if n is not None:
                values, text = found.get(m.key, ([], m.text))
                found[m.key] = (values + [n], m.text if n > max(values, default=0) else text)
                break
            if tok in STOPWORDS or k in inside or not tok.isalpha():
                break  # "lots of planes", "a piece of farmland": no count
    return found


def _statements(values: list[int]) -> set[int]:
    """The numbers a caption can mean: each count and their total ("a road across another two roads": 1, 2 or 3)."""
    return set(values) | {sum(values)}


def analyze(prediction: str, references: Sequence[str], vocabulary: Vocabulary | None = None) -> ImageErrors:
    """Matching and missing words and error kinds of one prediction.

    Args:
        prediction: the predicted caption.
        references: its reference captions (an empty list gives no missing words and no errors).
        vocabulary (these references alone): the run's vocabulary (:meth:`Vocabulary.of_table`).
    """
    vocab = vocabulary or Vocabulary([references])
    pred, pred_objects = vocab.read(prediction)
    refs = [vocab.read(r) for r in references]
    ref_words = {w for tokens, _ in refs for w in tokens}
    ref_objects = [m for _, ms in refs for m in ms]
    named = [m for m in pred_objects if any(vocab.names_same_thing(m, r) for r in ref_objects)]
    named_words = {w for m in named for w in pred[m.start : m.end]}
    out = ImageErrors(
        matching=list(dict.fromkeys(w for w in pred if is_content_word(w) and (w in ref_words or w in named_words)))
    )
    if not refs:
        return out
    for m in pred_objects:
        if m not in named and m.text not in out.hallucinated:
            out.hallucinated.append(m.text)
            _add(out, "hallucinated object", f"'{m.text}' is in the prediction but in no reference")
    need = (3 * len(refs) + 4) // 5  # "most references": 3 of 5, 2 of 3, 1 of 1
    for key, n, name in _consensus(vocab, [ms for _, ms in refs]):
        forms = [r for r in ref_objects if vocab.lexicon.same(key, r.key)]
        if n >= need and not any(vocab.names_same_thing(m, r) for m in pred_objects for r in forms):
            out.missing.append(name)
            _add(out, "missing object", f"'{name}' is in {n} of {len(refs)} references but not in the prediction")
    ref_counts: dict[str, set[int]] = {}
    for tokens, ms in refs:
        for key, (values, _) in _counts(tokens, ms).items():
            ref_counts.setdefault(key, set()).update(_statements(values))
    for key, (values, text) in _counts(pred, pred_objects).items():
        said = set().union(*(c for k, c in ref_counts.items() if vocab.lexicon.same(key, k)))
        if said and not _statements(values) & said:
            said_text = " or ".join(map(str, sorted(said)))
            _add(out, "wrong count", f"{sum(values)} {text} predicted, the references say {said_text}")
    return out


def _consensus(vocab: Vocabulary, per_reference: list[list[Mention]]) -> list[tuple[str, int, str]]:
    """Each object of the references (synonyms as one), how many references name it, and as they write it most."""
    keys = Counter(m.key for ms in per_reference for m in ms)
    out: list[tuple[str, int, str]] = []
    for key, _ in keys.most_common():
        if any(vocab.lexicon.same(key, k) for k, *_ in out):
            continue
        texts = Counter(m.text for ms in per_reference for m in ms if vocab.lexicon.same(key, m.key))
        n = sum(any(vocab.lexicon.same(key, m.key) for m in ms) for ms in per_reference)
        out.append((key, n, texts.most_common(1)[0][0]))
    return sorted(out, key=lambda item: -item[1])


def _add(out: ImageErrors, kind: str, detail: str) -> None:
    if kind not in out.errors:
        out.errors.append(kind)
    out.details.append(detail)


def length_bin(n_words: int) -> str:
    return next(name for low, high, name in LENGTH_BINS if low <= n_words <= high)


def analyze_run(frame):
    """Add error-analysis columns to a predictions table (see ``runs.Run.predictions_frame``).

    The run's :class:`Vocabulary` is built once here, from all its references and classes.

    Adds: ``words`` (prediction length), ``length`` (its bin), ``matching``, ``missing``,
    ``hallucinated``, ``errors`` (list of kinds), ``details``, one boolean column per error kind,
    and ``scene`` (the class the prediction names, ``"(none)"`` for none). ``attrs["notes"]``
    says what could not be done (no WordNet: objects from a fixed list).
    """
    frame = frame.copy()
    vocab = Vocabulary.of_table(frame)
    predictions = [p if isinstance(p, str) else "" for p in frame["prediction"]]
    references = [list(r) if r is not None else [] for r in frame["references"]]
    found = [analyze(p, r, vocab) for p, r in zip(predictions, references)]
    frame["words"] = [count_words(p) for p in predictions]
    frame["length"] = [length_bin(n) for n in frame["words"]]
    for column in ("matching", "missing", "hallucinated", "errors", "details"):
        frame[column] = [getattr(f, column) for f in found]
    for kind in ERROR_KINDS:
        frame[kind] = [kind in f.errors for f in found]
    frame["scene"] = [vocab.scene(p) if vocab.scenes.classes else NONE for p in predictions]
    frame.attrs["notes"] = [vocab.note] if vocab.note else []
    return frame


def error_counts(analyzed, by: str | None = None):
    """How many images show each error kind (overall, or per value of column ``by``)."""
    import pandas as pd

    groups = [("all", analyzed)] if by is None else list(analyzed.groupby(by, dropna=False))
    rows = []
    for key, part in groups:
        for kind in ERROR_KINDS:
            n = int(part[kind].sum()) if len(part) else 0
            rows.append({by or "images": key, "error": kind, "images": n, "share": n / len(part) if len(part) else 0.0})
    return pd.DataFrame(rows)


def breakdown(analyzed, by: str, metrics: Sequence[str]):
    """Mean of each metric and the image count per value of ``by`` (e.g. "label" or "length")."""
    present = [m for m in metrics if m in analyzed.columns]
    table = analyzed.groupby(by, dropna=False)[present].mean()
    table.insert(0, "images", analyzed.groupby(by, dropna=False).size())
    if by == "length":
        order = [name for *_, name in LENGTH_BINS if name in table.index]
        table = table.loc[order]
    return table.reset_index()


def word_marks(
    text: str, matching: Sequence[str], missing: Sequence[str] = (), flagged: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Split ``text`` into (piece, mark) for highlighting: mark is "match", "missing", "flagged" or "".

    Args:
        text: a prediction or reference caption.
        matching: words to mark as shared with the other side.
        missing: objects to mark as missing from the prediction, in a reference (the ``missing``
            column: "storage tanks" marks "storage tank" and "tanks" too).
        flagged: objects to mark as wrong, in a prediction (the ``hallucinated`` column).
    """
    lexicon = object_lexicon()

    def forms(names: Sequence[str]) -> set[str]:
        return {lexicon.key(w) or w for name in names for w in words(name) if is_content_word(w)}

    match, miss, flag = set(matching), forms(missing), forms(flagged)
    pieces = []
    for piece in re.split(r"(\s+)", text):
        w = words(piece)
        word = w[0] if w else ""
        form = (lexicon.key(word) or word) if word and is_content_word(word) else ""
        mark = "flagged" if form in flag else "missing" if form in miss else "match" if form and word in match else ""
        pieces.append((piece, mark if form else ""))
    return pieces


def hallucinated_objects(prediction: str, references: Sequence[str]) -> list[str]:
    """Objects of the prediction that no reference names, as the prediction writes them."""
    return analyze(prediction, references).hallucinated
