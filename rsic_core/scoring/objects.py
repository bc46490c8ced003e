"""Object words of captions, from WordNet: which words name things, their forms, and how two relate.

A word names an object when WordNet knows it as a noun whose most frequent senses are things one
can see from above (artifacts, natural objects, places, plants, animals, substances, people), and
when it is not mostly used as something else: colours (``green``), adjectives (``mobile``,
``medium``), verbs (``goes``, ``stands``) and the words that frame a scene (``image``, ``area``,
``ground``, ``middle``) are not objects. Two-word names that WordNet lists are one object
(``storage tank``, ``tennis court``, ``parking lot``, ``baseball diamond``).

Objects are keyed by their base form (``planes`` -> ``plane``, ``storage tanks`` -> ``storage_tank``);
two keys are the same object when they share one of their main senses (plane = airplane,
tank = storage tank), and related when one is a kind of the other, a few steps apart in WordNet
(house - building, tree - plant, lawn - field, harbor - port)::

    lexicon = object_lexicon()
    [m.text for m in lexicon.mentions(words("two storage tanks on the lawn"))]   # ['storage tanks', 'lawn']
    lexicon.same("plane", "airplane"), lexicon.related("building", "house")   # True, True

Without WordNet (``apt-get install wordnet-base wordnet-sense-index``) a fixed list of common
remote-sensing objects stands in, and :attr:`ObjectLexicon.note` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rsic_core.text import wordnet
from rsic_core.text.words import FRAME_WORDS, NUMBER_VALUES, STOPWORDS

PHYSICAL_LEXNAMES = frozenset(
    "noun.artifact noun.object noun.location noun.plant noun.animal noun.substance noun.person".split()
)
SENSES = 2  # a word's most frequent noun senses that count (WordNet lists senses by frequency)
HOPS = 4  # how many is-a steps apart two related objects may be (car -> vehicle is 4)
VERB_RATIO = 3  # a word is a verb when WordNet tags it as one this many times more often than as a noun

# Without WordNet: common remote-sensing objects, one per line, synonyms after the first word.
_FALLBACK = """
plane airplane aircraft airliner jet
runway airstrip
boat ship vessel yacht
harbor harbour port dock pier wharf
car vehicle automobile truck bus
building house home villa apartment
road street highway avenue lane freeway
bridge overpass viaduct
river stream creek
lake pond pool
sea ocean
beach sand
tree forest wood woods plant
grass lawn meadow grassland
farmland farm cropland
field
tank
airport
stadium
court
diamond
church
school
factory
railway railroad
mountain hill
desert
island
park
""".strip()
FALLBACK_OBJECTS = {w: line.split()[0] for line in _FALLBACK.splitlines() for w in line.split()}


@dataclass(frozen=True)
class Mention:
    """One object named in a caption."""

    key: str  # base form, two-word names joined by "_": "storage_tank"
    text: str  # as written: "storage tanks"
    start: int  # index of its first word in the caption's words
    end: int  # index after its last word
    parts: tuple[str, ...]  # base forms of its words: ("storage", "tank")
    singular: bool  # its last word is in the singular ("a tennis court" counts one)


class ObjectLexicon:
    """Object words as one WordNet reader (or the fallback list) sees them; every answer is cached."""

    def __init__(self, wn=None, note: str | None = None):
        self.wn = wn
        self.note = note  # why the fallback list is used, or None
        self._keys: dict[str, str | None] = {}
        self._bases: dict[str, str] = {}
        self._senses: dict[str, frozenset] = {}
        self._ancestors: dict[str, frozenset] = {}
        self._compounds: dict[tuple[str, str], tuple[str, tuple[str, str]] | None] = {}

    # ---- single words -------------------------------------------------------------------------
    def key(self, word: str) -> str | None:
        """The object a word names (its base noun form), or None when it names none."""
        if word not in self._keys:
            self._keys[word] = self._object_key(word) if self.wn is not None else _fallback_key(word)
        return self._keys[word]

    def base(self, word: str) -> str:
        """The word's base form in any part of speech (``homes`` -> ``home``, ``parked`` -> ``park``)."""
        if word not in self._bases:
            self._bases[word] = self._base_form(word)
        return self._bases[word]

    def _base_form(self, word: str) -> str:
        if self.wn is None:
            return FALLBACK_OBJECTS.get(word) or FALLBACK_OBJECTS.get(word.rstrip("s")) or word
        for pos in "nvars":
            forms = self.wn._morphy(word, pos)  # the reader's lemmatiser, as text.wordnet uses it
            if forms:
                return min(forms, key=len)
        return word

    def _object_key(self, word: str) -> str | None:
        if len(word) < 3 or not word.isalpha() or word in STOPWORDS or word in FRAME_WORDS:
            return None
        wn = self.wn
        forms = wn._morphy(word, "n")
        if not forms:
            return None
        base = min(forms, key=len)  # "roads" -> "road" (not the rare "roads" = roadstead)
        if base in FRAME_WORDS or not self.senses(base) or _is_colour(wn, base):
            return None
        adjective_forms = wn._morphy(word, "a")  # "a" takes in the satellite adjectives too
        adjectives = max((_tag_count(wn, f, "a") for f in adjective_forms), default=0)
        if adjective_forms and adjectives >= _tag_count(wn, base, "n", physical_only=True):
            return None  # "medium", "round", "aerial": adjectives at least as often as things
        verb_bases = wn._morphy(word, "v")
        verbs = max((_tag_count(wn, f, "v") for f in verb_bases), default=0)
        if verbs > VERB_RATIO * _tag_count(wn, base, "n") and not (word == base and word not in verb_bases):
            return None  # "goes", "stands" (but "building" is a noun of its own, not a form of "build")
        return base

    # ---- captions -----------------------------------------------------------------------------
    def mentions(self, tokens: list[str]) -> list[Mention]:
        """The objects named in a caption's words (:func:`rsic_core.text.words.words`), in order."""
        found, k = [], 0
        while k < len(tokens):
            pair = self.compound(tokens[k], tokens[k + 1]) if k + 1 < len(tokens) else None
            if pair:
                key, parts = pair
                found.append(Mention(key, " ".join(tokens[k : k + 2]), k, k + 2, parts, tokens[k + 1] == parts[1]))
                k += 2
                continue
            key = self.key(tokens[k])
            quantity = k + 1 < len(tokens) and tokens[k + 1] == "of" and not self._first_sense_physical(key)
            if key and not quantity:  # "a lot of trees": a quantity, not a parking lot
                found.append(Mention(key, tokens[k], k, k + 1, (key,), tokens[k] == key))
            k += 1
        return found

    def compound(self, first: str, second: str) -> tuple[str, tuple[str, str]] | None:
        """The two-word object that two words name (its key and parts), or None: "storage tanks" -> storage_tank."""
        if (first, second) not in self._compounds:
            self._compounds[first, second] = self._compound(first, second)
        return self._compounds[first, second]

    def _compound(self, first: str, second: str) -> tuple[str, tuple[str, str]] | None:
        if self.wn is None or not (first.isalpha() and second.isalpha()) or first in STOPWORDS:
            return None
        if first in NUMBER_VALUES or second in STOPWORDS:
            return None
        head = self.key(second) or (base if (base := self.base(second)) in FRAME_WORDS else None)
        if head is None or _is_colour(self.wn, first):  # "small white" (a butterfly) is no object here
            return None
        forms = self.wn._morphy(f"{first}_{head}", "n")
        if not forms:
            return None
        key = min(forms, key=len)
        return (key, (first, head)) if self.senses(key) else None

    def _first_sense_physical(self, key: str | None) -> bool:
        if key is None or self.wn is None:
            return True
        synsets = self.wn.synsets(key, "n")
        return bool(synsets) and _physical(synsets[0])

    # ---- relations between objects ------------------------------------------------------------
    def senses(self, key: str) -> frozenset:
        """The main senses of an object key: its first :data:`SENSES` noun synsets that are things."""
        if key not in self._senses:
            if self.wn is None:
                self._senses[key] = frozenset({key})
            else:
                synsets = self.wn.synsets(key, "n")[:SENSES]
                self._senses[key] = frozenset(s for s in synsets if _physical(s) and not s.instance_hypernyms())
        return self._senses[key]

    def same(self, a: str, b: str) -> bool:
        """Whether two object keys are the same object: one key, or a shared main sense (plane, airplane)."""
        return a == b or bool(self.senses(a) & self.senses(b))

    def related(self, a: str, b: str) -> bool:
        """The same object, or one a kind of the other at most :data:`HOPS` steps apart (house, building)."""
        if self.same(a, b):
            return True
        return bool(self.senses(a) & self._ancestors_of(b)) or bool(self.senses(b) & self._ancestors_of(a))

    def _ancestors_of(self, key: str) -> frozenset:
        if key not in self._ancestors:
            found, frontier = set(), set(self.senses(key)) if self.wn is not None else set()
            for _ in range(HOPS):
                frontier = {h for s in frontier for h in s.hypernyms()} - found
                found |= frontier
            self._ancestors[key] = frozenset(found)
        return self._ancestors[key]


def _fallback_key(word: str) -> str | None:
    for form in (word, word[:-1] if word.endswith("s") else None, word[:-2] if word.endswith("es") else None):
        if form and form in FALLBACK_OBJECTS:
            return FALLBACK_OBJECTS[form]
    return None


@cache
def _tag_count(wn, lemma: str, pos: str, physical_only: bool = False) -> int:
    """How often ``lemma`` was tagged in part of speech ``pos`` in WordNet's corpus (``cntlist``)."""
    return sum(
        lemma_.count()
        for s in wn.synsets(lemma, pos)
        if not physical_only or _physical(s)
        for lemma_ in s.lemmas()
        if lemma_.name().lower() == lemma
    )


@cache
def _physical(synset) -> bool:
    """A sense that names a thing: a physical lexicographer file, vegetation, or a living thing."""
    if synset.lexname() in PHYSICAL_LEXNAMES:
        return True
    above = {h.name() for h in synset.closure(lambda s: s.hypernyms())}
    return "vegetation.n.01" in above or (synset.lexname() == "noun.Tops" and "living_thing.n.01" in above)


@cache
def _is_colour(wn, lemma: str) -> bool:
    """Whether any noun sense of ``lemma`` is a colour (green, white, emerald, beige)."""
    return any("color.n.01" in {h.name() for h in s.closure(lambda t: t.hypernyms())} for s in wn.synsets(lemma, "n"))


_LEXICONS: dict[int, ObjectLexicon] = {}


def object_lexicon() -> ObjectLexicon:
    """The object lexicon over the offline WordNet (one per reader, kept), or the fallback list."""
    try:
        wn = wordnet.load_wordnet()
    except wordnet.WordNetUnavailable as e:
        return ObjectLexicon(None, f"objects from a fixed list of common ones: {e}")
    if id(wn) not in _LEXICONS:
        _LEXICONS[id(wn)] = ObjectLexicon(wn)
    return _LEXICONS[id(wn)]
