"""WordNet offline, from the Debian packages, for checking word merges.

NLTK cannot read Debian's ``/usr/share/wordnet`` as it is: it wants the files under
``<nltk_data>/corpora/wordnet/`` plus a ``lexnames`` file that Debian does not ship. This module
lays that folder out once under ``rsic_home()/nltk_data`` (``lexnames`` is generated from the
``lexnames(5WN)`` man page, or from the fixed WordNet 3.0 list) and loads a reader that skips
the multilingual mapping (2 s instead of 6).

    apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index

Example::

    wn = load_wordnet()
    word_relation(wn, "buildings", "building")   # "plural"
"""

from __future__ import annotations

import difflib
import gzip
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rsic_core.paths import rsic_home

DEBIAN_WORDNET = Path("/usr/share/wordnet")
_LEXNAMES_MAN = Path("/usr/share/man/man5/lexnames.5WN.gz")
_FILES = (
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
    "cntlist.rev",
    "index.sense",
)
_POS_NUMBER = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
# WordNet 3.0 lexicographer files in number order (lexnames(5WN)); used when the man page is absent.
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()

ACCEPTED_RELATIONS = ("plural", "synonym", "spelling")  # relations that allow a merge


class WordNetUnavailable(ValueError):
    """WordNet cannot be loaded; the message says how to install it."""


def nltk_data_dir() -> Path:
    """The ``nltk_data`` folder this project lays WordNet out in."""
    return rsic_home() / "nltk_data"


def install_wordnet(source: str | Path = DEBIAN_WORDNET) -> Path:
    """Lay Debian's WordNet out for NLTK (idempotent, safe when several processes do it at once).

    The files are copied into a temporary folder of a unique name beside the target, which is then
    renamed into place in one step; a process that loses the race uses the winner's folder.

    Args:
        source (/usr/share/wordnet): the Debian WordNet folder.

    Returns:
        The ``corpora/wordnet`` folder.

    Raises:
        WordNetUnavailable: the Debian files are missing.
    """
    source = Path(source)
    target = nltk_data_dir() / "corpora" / "wordnet"
    if _complete(target):
        return target
    missing = [f for f in _FILES if not (source / f).is_file()]
    if missing:
        raise WordNetUnavailable(
            f"WordNet is not installed ({source} lacks {', '.join(missing[:3])}); install it with "
            "`apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index`"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".wordnet.tmp-"))
    try:
        for name in _FILES:
            shutil.copyfile(source / name, tmp / name)
        (tmp / "lexnames").write_text(_lexnames_text())
        if target.exists() and not _complete(target):  # a broken copy of an older version: move it aside
            _move_aside(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _complete(target):
                raise  # else another process installed it first: use its folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _complete(folder: Path) -> bool:
    return (folder / "lexnames").is_file() and all((folder / f).is_file() for f in _FILES)


def _move_aside(folder: Path) -> None:
    """Rename ``folder`` out of the way (one step, so no reader sees it half deleted), then delete it."""
    aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".wordnet.old-"))
    try:
        os.replace(folder, aside)
    except OSError:
        pass  # another process moved it first
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _lexnames_text() -> str:
    names = list(_LEXNAMES)
    if _LEXNAMES_MAN.is_file():
        text = gzip.decompress(_LEXNAMES_MAN.read_bytes()).decode("utf-8", "replace")
        found = re.findall(r"^(\d\d)\t(\w+\.\w+)", text, flags=re.M)
        if len(found) == 45:
            names = [name for _, name in sorted(found)]
    return "".join(f"{i:02d}\t{name}\t{_POS_NUMBER[name.split('.')[0]]}\n" for i, name in enumerate(names))


@lru_cache(maxsize=1)
def load_wordnet():
    """An NLTK WordNet reader over the offline copy (installed on first use, about 2 s).

    Raises:
        WordNetUnavailable: NLTK or the Debian WordNet files are missing.
    """
    try:
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as e:
        raise WordNetUnavailable("nltk is not installed (pip install nltk)") from e

    class _Reader(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):  # no multilingual mapping: saves 4 s
            return None

    import warnings

    import nltk

    folder = install_wordnet()
    if str(nltk_data_dir()) not in nltk.data.path:
        nltk.data.path.append(str(nltk_data_dir()))  # NLTK only reads corpora under its data path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available"
        return _Reader(str(folder), None)


def wordnet_installed() -> bool:
    """Whether the WordNet files are there (cheap: no loading)."""
    return (nltk_data_dir() / "corpora" / "wordnet" / "lexnames").is_file() or (DEBIAN_WORDNET / "data.noun").is_file()


def word_relation(wn, variant: str, canonical: str) -> str:
    """How ``variant`` relates to ``canonical`` according to WordNet; only the first three allow a merge.

    Returns:
        Accepted: ``"plural"`` (the variant is a plural noun of the canonical form and not mostly
        one of its verb forms), ``"spelling"`` (a small edit apart, and either both spell the same
        WordNet entry, ``colours``/``colors``, or the variant is unknown to WordNet, ``industrail``,
        and is not a derived or compound word, ``scatteredly``, ``parkinglot``), ``"synonym"`` (their
        dominant senses share a synset: ``plane``/``airplane``; see :func:`_dominant`).

        Refused: ``"singular"`` (the variant is the singular of the canonical form: "a roads"),
        ``"inflection"`` (``parked``/``park``, ``larger``/``large``), ``"antonym"``, ``"colour"`` (two
        colour words), ``"other sense"`` (one synset holds both, but not as the dominant sense of
        each: ``house``/``home`` only as "household", ``weeds``/``grass`` only as marijuana),
        ``"hypernym"`` (the canonical word is more general), ``"hyponym"`` (more specific),
        ``"co-hyponym"`` (two kinds of one thing: ``boats``/``ships``) or ``"unrelated"``.
    """
    if variant == canonical:
        return "synonym"
    v, c = _profile(wn, variant), _profile(wn, canonical)
    if canonical in v.noun_bases:
        # "passes" -> "pass" is mostly the verb ("a road passes through"): refused as inflection
        return "inflection" if canonical in v.verb_bases and _mostly_verb(wn, canonical) else "plural"
    if variant in c.noun_bases:
        return "singular"  # "road" -> "roads" would write "a roads": refused
    if canonical in v.other_bases or variant in c.other_bases:
        return "inflection"  # "parked" -> "park", "park" -> "parked", "larger" -> "large": changes the meaning
    if _is_spelling(wn, variant, canonical, v, c):
        return "spelling"
    if v.dominant & c.dominant:
        return "synonym"
    return _refusal(v, c, {canonical} | c.noun_bases, {variant} | v.noun_bases)


def _refusal(v: _Profile, c: _Profile, canonical_forms: set, variant_forms: set) -> str:
    """Why WordNet does not make two words one (see :func:`word_relation`)."""
    if v.antonyms & canonical_forms or c.antonyms & variant_forms:
        return "antonym"
    if v.colour and c.colour:
        return "colour"
    if v.synonyms & canonical_forms or c.synonyms & variant_forms:
        return "other sense"
    if c.dominant & v.hypernyms:
        return "hypernym"
    if v.dominant & c.hypernyms:
        return "hyponym"
    if v.parents & c.parents:
        return "co-hyponym"
    return "unrelated"


def singular_of(wn, word: str) -> str | None:
    """The singular noun ``word`` is the plural of (``buildings`` -> ``building``), or None."""
    bases = _profile(wn, word).noun_bases
    return min(bases) if bases else None


class NumberForms:
    """Singular and plural forms of a vocabulary (most frequent first), to give a merge its variant's number.

    Example::

        forms = NumberForms(wn, ["airplane", "airplanes", "planes"], [286, 160, 1])
        forms.same_number(2, 0)   # 1: "planes" -> "airplanes", not "airplane"
    """

    def __init__(self, wn, words: list[str], counts: list[int]):
        self.wn, self.words, self.counts, self.index = wn, words, counts, {w: k for k, w in enumerate(words)}
        self.singular = {w: singular_of(wn, w) for w in words}
        self.plural = {s: w for w, s in self.singular.items() if s is not None}

    def same_number(self, i: int, j: int) -> int | None:
        """``j``, or the form of ``words[j]`` in the number of ``words[i]``; None when there is none."""
        variant, canonical = self.words[i], self.words[j]
        plural = self.singular[variant] is not None
        if plural == (self.singular[canonical] is not None) or not self.wn.synsets(variant):
            return j  # same number, or a typo unknown to WordNet (the closest spelling keeps its ending)
        target = self.index.get(self.plural.get(canonical) if plural else self.singular[canonical])
        if target is None or (self.counts[target], variant) < (self.counts[i], self.words[target]):
            return None  # absent, or rarer than the variant (a canonical word is the more frequent)
        return target


def _dominant(wn, word: str) -> frozenset:
    """The synsets of ``word``'s dominant senses, in the parts of speech it has in captions.

    Captions are noun phrases, so a word's nouns and adjectives count (verbs and adverbs only for a
    word that is neither). In each, the dominant senses are those WordNet's corpus tagged most often
    (lemma counts, inflected forms counted for their base form: ``weeds`` -> weed.n.01), or the
    first sense in WordNet's order when none was tagged.
    """
    found = set()
    for group in (("n", "a"), ("v", "r")):
        for pos in group:
            synsets = wn.synsets(word, pos)  # "a" includes the satellite adjectives
            if not synsets:
                continue
            forms = {word} | _base_forms(wn, word, pos)
            counts = [sum(lm.count() for lm in s.lemmas() if lm.name().lower() in forms) for s in synsets]
            top = max(counts)
            found |= {s for s, n in zip(synsets, counts) if n == top} if top else {synsets[0]}
        if found:
            break
    return frozenset(found)


@dataclass(frozen=True)
class _Profile:
    known: bool  # WordNet has a synset for the word (after lemmatising)
    noun_bases: frozenset  # base forms as a noun, other than the word itself
    other_bases: frozenset  # base forms as a verb, adjective or adverb
    verb_bases: frozenset  # base forms as a verb
    synonyms: frozenset  # lemma names of all its synsets
    synsets: frozenset  # all its synsets
    dominant: frozenset  # the synsets of its dominant senses (see _dominant)
    parents: frozenset  # direct hypernyms of the dominant synsets
    hypernyms: frozenset  # all hypernyms of the dominant synsets
    antonyms: frozenset  # lemma names of the antonyms of any of its senses
    colour: bool  # one of its noun senses is a colour


_PROFILES: dict[tuple[int, str], _Profile] = {}


def _profile(wn, word: str) -> _Profile:
    """What WordNet says about one word, computed once per word (the merge check asks often)."""
    key = (id(wn), word)
    if key not in _PROFILES:
        synsets = wn.synsets(word)  # lemmatised lookup: "airplanes" finds airplane.n.01
        dominant = _dominant(wn, word)
        lemmas = [lemma for s in synsets for lemma in s.lemmas()]
        colour = wn.synset("color.n.01")
        _PROFILES[key] = _Profile(
            known=bool(synsets),
            noun_bases=frozenset(_base_forms(wn, word, "n")),
            other_bases=frozenset(f for pos in "vars" for f in _base_forms(wn, word, pos)),
            verb_bases=frozenset(_base_forms(wn, word, "v")),
            synonyms=frozenset(lemma.name().lower() for lemma in lemmas),
            synsets=frozenset(synsets),
            dominant=dominant,
            parents=frozenset(h for s in dominant for h in s.hypernyms() + s.instance_hypernyms()),
            hypernyms=frozenset(h for s in dominant for h in _hypernyms(s)),
            antonyms=frozenset(a.name().lower() for lemma in lemmas for a in lemma.antonyms()),
            colour=any(colour in _hypernyms(s) for s in wn.synsets(word, "n")),
        )
    return _PROFILES[key]


@lru_cache(maxsize=65536)
def _hypernyms(synset) -> frozenset:
    return frozenset(synset.closure(lambda s: s.hypernyms() + s.instance_hypernyms()))


@lru_cache(maxsize=65536)
def _sense_count(wn, word: str, pos: str) -> int:
    """How often ``word`` was tagged in part of speech ``pos`` in WordNet's corpus (``cntlist``)."""
    return sum(lemma.count() for s in wn.synsets(word, pos) for lemma in s.lemmas() if lemma.name().lower() == word)


def _mostly_verb(wn, word: str) -> bool:
    return _sense_count(wn, word, "v") > _sense_count(wn, word, "n")


def _base_forms(wn, word: str, pos: str) -> set[str]:
    """Base forms of ``word`` in part of speech ``pos``, other than itself (``buildings`` -> {``building``})."""
    return {f for f in wn._morphy(word, pos) if f != word}


# Endings that make another word of a known one: "scatteredly" is not a way to spell "scattered".
_DERIVING_ENDINGS = ("ly", "ness", "ish", "er", "est", "ed", "ing", "al", "ity", "ment", "ful", "less")


def _is_spelling(wn, variant: str, canonical: str, v: _Profile, c: _Profile) -> bool:
    """Two spellings of one word: a small edit apart, and the same entry or a typo of a known word."""
    if not c.known or not _is_small_edit(variant, canonical):
        return False
    if v.known:  # "colours"/"colors", "grey"/"gray": one dominant sense, or mostly the same synsets
        return bool(v.dominant & c.dominant) or 2 * len(v.synsets & c.synsets) >= min(len(v.synsets), len(c.synsets))
    for a, b in ((variant, canonical), (canonical, variant)):
        rest = a[len(b) :] if a.startswith(b) else a[: -len(b)] if a.endswith(b) else None
        if rest and (rest in _DERIVING_ENDINGS or (len(rest) > 1 and wn.synsets(rest))):
            return False  # "scatteredly", "parkinglot" ("parking" + "lot"): another word, not a typo
    return True


def _is_small_edit(a: str, b: str) -> bool:
    """One letter added, dropped or changed (``grey``/``gray``), or 80 % of the letters in common."""
    if min(len(a), len(b)) < 4 or a[0] != b[0]:
        return False
    matcher = difflib.SequenceMatcher(None, a, b)
    edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    return edits <= 1 or matcher.ratio() >= 0.8
