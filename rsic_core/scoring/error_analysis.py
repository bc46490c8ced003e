"""Why a caption scored low: matching and missing words, typical error kinds, breakdowns.

Per image (:func:`analyze`):

- matching words: content words (:func:`rsic_core.text.words.is_content_word`: no function words) of
  the prediction that some reference uses;
- missing words: content words that most references use (at least half of them, and at least
  two when there are several) but the prediction does not;
- error kinds, on the objects of remote-sensing scenes (:data:`OBJECTS`, plural and synonyms
  folded: plane = airplane = aircraft, boat = ship, ...):

  * ``wrong count``: the prediction gives a number ("three planes") for an object that the
    references count differently ("two planes"), vague words (many, some) aside;
  * ``missing object``: an object that most references mention is not in the prediction;
  * ``hallucinated object``: an object in the prediction that no reference mentions.

:func:`analyze_run` does this for every image of a run and returns a table for sorting and
filtering; :func:`error_counts` and :func:`breakdown` summarise it by class or caption length.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rsic_core.text.words import NUMBER_VALUES, STOPWORDS, count_words, is_content_word, words

__all__ = [  # words and STOPWORDS come from rsic_core.text.words, named here for the pages that use them
    "ERROR_KINDS",
    "LENGTH_BINS",
    "OBJECTS",
    "STOPWORDS",
    "ImageErrors",
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

# Object nouns of remote-sensing captions; each line one object, synonyms after the first word.
_OBJECT_GROUPS = """
plane airplane aircraft airliner jet
runway airstrip
terminal
boat ship vessel yacht
harbor harbour port dock pier wharf
car vehicle automobile truck bus
parking
building house home villa apartment
roof rooftop
road street highway avenue lane
bridge overpass viaduct
river stream creek
lake pond pool
sea ocean
beach sand
wave
tree forest wood woods
grass lawn meadow grassland
field farmland farm cropland crop
baseball diamond
tennis court
football soccer
basketball
stadium arena
track playground
tank
church
school
factory
railway rail railroad train
station
mountain hill
desert dune
island
plaza
swimming
intersection crossroad roundabout
park
bareland
""".strip()
OBJECTS: dict[str, str] = {w: line.split()[0] for line in _OBJECT_GROUPS.splitlines() for w in line.split()}
_MODIFIERS = frozenset(
    "big small large little long short tall wide narrow white red green blue yellow gray grey brown black dark light "
    "orange purple round square rectangular circular old new dense sparse huge tiny".split()
)


@dataclass
class ImageErrors:
    """What one prediction got right and wrong against its references."""

    matching: list[str] = field(default_factory=list)  # prediction content words found in some reference
    missing: list[str] = field(default_factory=list)  # consensus reference words the prediction lacks
    errors: list[str] = field(default_factory=list)  # ERROR_KINDS found, each once
    details: list[str] = field(default_factory=list)  # one plain sentence per error found


def object_of(word: str) -> str | None:
    """The object a word names (plural and synonyms folded), or None."""
    for form in (word, word[:-1] if word.endswith("s") else None, word[:-2] if word.endswith("es") else None):
        if form and form in OBJECTS:
            return OBJECTS[form]
    return None


def counts_in(tokens: Sequence[str]) -> dict[str, int]:
    """Objects with an explicit number before them: "two big white planes" -> {"plane": 2}; "three baseball fields" -> {"field": 3}."""
    found = {}
    for k, tok in enumerate(tokens):
        n = NUMBER_VALUES.get(tok, int(tok) if tok.isdigit() else None)
        if n is None:
            continue
        obj = None
        for nxt in tokens[k + 1 : k + 5]:  # skip modifiers; in "baseball fields" the object is the last noun
            if nxt in _MODIFIERS and obj is None:
                continue
            if (o := object_of(nxt)) is None:
                break
            obj = o
        if obj is not None:
            found.setdefault(obj, n)
    return found


def analyze(prediction: str, references: Sequence[str]) -> ImageErrors:
    """Matching and missing words and error kinds of one prediction.

    Args:
        prediction: the predicted caption.
        references: its reference captions (an empty list gives no missing words and no errors).
    """
    pred = words(prediction)
    refs = [words(r) for r in references]
    ref_vocab = set().union(*refs) if refs else set()
    out = ImageErrors(matching=list(dict.fromkeys(w for w in pred if w in ref_vocab and is_content_word(w))))
    if not refs:
        return out
    need = max(1, min(2, len(refs)), (len(refs) + 1) // 2)  # "most references"
    doc_freq = Counter(w for r in refs for w in set(r))
    pred_set = set(pred)
    out.missing = [w for w, n in doc_freq.most_common() if n >= need and w not in pred_set and is_content_word(w)]

    pred_objects = {o for w in pred if (o := object_of(w))}
    ref_objects = [{o for w in r if (o := object_of(w))} for r in refs]
    mentioned = set().union(*ref_objects)
    for obj in sorted(pred_objects - mentioned):
        _add(out, "hallucinated object", f"'{obj}' is in the prediction but in no reference")
    consensus = Counter(o for objs in ref_objects for o in objs)
    for obj in sorted(o for o, n in consensus.items() if n >= need and o not in pred_objects):
        _add(
            out, "missing object", f"'{obj}' is in {consensus[obj]} of {len(refs)} references but not in the prediction"
        )
    ref_counts: dict[str, set[int]] = {}
    for r in refs:
        for obj, n in counts_in(r).items():
            ref_counts.setdefault(obj, set()).add(n)
    for obj, n in counts_in(pred).items():
        if obj in ref_counts and n not in ref_counts[obj]:
            said = " or ".join(str(x) for x in sorted(ref_counts[obj]))
            _add(out, "wrong count", f"{n} {obj}(s) predicted, the references say {said}")
    return out


def _add(out: ImageErrors, kind: str, detail: str) -> None:
    if kind not in out.errors:
        out.errors.append(kind)
    out.details.append(detail)


def length_bin(n_words: int) -> str:
    return next(name for low, high, name in LENGTH_BINS if low <= n_words <= high)


def analyze_run(frame):
    """Add error-analysis columns to a predictions table (see ``runs.Run.predictions_frame``).

    Adds: ``words`` (prediction length), ``length`` (its bin), ``matching``, ``missing``,
    ``errors`` (list of kinds), ``details``, and one boolean column per error kind.
    """
    frame = frame.copy()
    found = [
        analyze(p or "", list(r) if r is not None else []) for p, r in zip(frame["prediction"], frame["references"])
    ]
    frame["words"] = [count_words(p or "") for p in frame["prediction"]]
    frame["length"] = [length_bin(n) for n in frame["words"]]
    frame["matching"] = [f.matching for f in found]
    frame["missing"] = [f.missing for f in found]
    frame["errors"] = [f.errors for f in found]
    frame["details"] = [f.details for f in found]
    for kind in ERROR_KINDS:
        frame[kind] = [kind in f.errors for f in found]
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
        missing: words to mark as missing from the prediction (in a reference).
        flagged: objects (see :func:`object_of`) to mark as wrong (hallucinated, in a prediction).
    """
    match, miss, flag = set(matching), set(missing), set(flagged)
    pieces = []
    for piece in re.split(r"(\s+)", text):
        w = words(piece)
        word = w[0] if w else ""
        obj = object_of(word) if word else None
        content = word and is_content_word(word)
        mark = (
            "flagged"
            if obj and obj in flag
            else "missing"
            if word in miss
            else "match"
            if content and word in match
            else ""
        )
        pieces.append((piece, mark))
    return pieces


def hallucinated_objects(prediction: str, references: Sequence[str]) -> list[str]:
    """Objects of the prediction that no reference mentions."""
    mentioned = {o for r in references for w in words(r) if (o := object_of(w))}
    return sorted({o for w in words(prediction) if (o := object_of(w)) and o not in mentioned})
