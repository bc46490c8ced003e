"""Synonym clustering of the caption vocabulary, checked by WordNet, rewriting words with words.

The RISC study embedded the caption vocabulary with a sentence-transformer, clustered it with
DBSCAN and replaced words by their cluster; done wrong, the captions became cluster ids. Here:

1. count the letter words of the captions (:mod:`rsic_core.text.words`; function words left out);
2. embed each word (the packaged all-MiniLM-L6-v2 by default, any sentence-transformer by name);
3. cluster with DBSCAN (eps 0.5, min_samples 5, cosine by default);
4. inside each cluster, walk the words from the most to the least frequent; a word becomes a
   variant of the most similar more frequent canonical word of its cluster that WordNet makes the
   same thing (a synonym in their dominant senses, a spelling variant or a plural:
   :func:`~rsic_core.text.wordnet.word_relation`), otherwise it stays a canonical word itself;
5. rewrite captions by replacing variants with their canonical *word*.

Number is meaning, so by default a plural merge is listed (relation ``plural``) but not applied, and
a synonym takes the number of the word it replaces (``planes`` -> ``airplanes``, never "two airplane");
``keep_number=False`` applies plural merges as the RISC study did ("many buildings" -> "many building").

Example::

    result = cluster_synonyms(captions)
    result.mapping            # variant, canonical, cluster, counts, similarity, relation, applied
    rewrite(captions, result.applied_map())
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from rsic_core.paths import rsic_home
from rsic_core.text import wordnet as wordnet_module
from rsic_core.text.array_cache import read_word_vectors, write_atomically
from rsic_core.text.words import is_content_word, letter_words, replace_words, word_counts

MAPPING_COLUMNS = "variant canonical cluster variant_count canonical_count similarity relation applied".split()
CANDIDATES_PER_WORD = 10  # nearest more-frequent words WordNet is asked about
# What makes two words one (see forms_map): WordNet's accepted relations and a singular of a plural.
SAME_WORD_RELATIONS = (*wordnet_module.ACCEPTED_RELATIONS, "singular")


@dataclass
class SynonymResult:
    """What the synonym step found: the vocabulary, its clusters and the mapping table."""

    words: list[str]  # the clustered vocabulary, most frequent first
    counts: list[int]  # frequency of each word in the captions
    labels: np.ndarray  # DBSCAN cluster of each word (-1: noise)
    embeddings: np.ndarray  # unit-length word vectors (for projections)
    mapping: object  # pandas DataFrame with MAPPING_COLUMNS
    notes: list[str] = field(default_factory=list)  # what could not be done and why, in plain words

    def applied_map(self) -> dict[str, str]:
        """``{variant: canonical}`` for the merges that are applied (what :func:`rewrite` writes)."""
        rows = self.mapping.loc[self.mapping["applied"].astype(bool)]
        return dict(zip(rows["variant"], rows["canonical"]))

    def forms_map(self) -> dict[str, str]:
        """``{variant: canonical}`` for every pair that is one word, applied or not: the applied merges
        and the plurals and singulars whose number the captions keep (``tree`` -> ``trees``)."""
        rows = self.mapping.loc[self.mapping["relation"].isin(SAME_WORD_RELATIONS)]
        return dict(zip(rows["variant"], rows["canonical"]))

    @property
    def n_clusters(self) -> int:
        return int(len(set(self.labels.tolist()) - {-1}))


def vocabulary(counts: Counter, min_count: int = 1) -> list[str]:
    """Words worth clustering: content words (see :func:`~rsic_core.text.words.is_content_word`), most frequent first.

    Args:
        counts: letter words and their counts (:func:`~rsic_core.text.words.word_counts`).
        min_count (1): words rarer than this are left out.
    """
    return [w for w, n in counts.most_common() if n >= min_count and is_content_word(w)]


def embed_words(
    words: list[str],
    embedder: str | None = None,
    batch_size: int = 512,
    use_cache: bool = True,
    notes: list[str] | None = None,
) -> np.ndarray:
    """Unit-length embeddings of single words (float32, one row per word).

    Vectors are kept on disk per embedder under ``rsic_home()/cache/word_vectors`` so that only
    words never seen before are encoded (a new eps or dataset does not re-embed the vocabulary).
    The file is plain arrays read without pickle; an unreadable one is ignored and rewritten.

    Args:
        notes (None): a list that gets a sentence when an unreadable cache file was ignored.

    Raises:
        ValueError: the embedder cannot be loaded (see :func:`rsic_core.text.embeddings.load_embedder`).
    """
    from rsic_core.text.embeddings import embedder_name, load_embedder

    if not words:
        return np.zeros((0, 384), dtype=np.float32)
    name = embedder_name(embedder)
    path = rsic_home() / "cache" / "word_vectors" / f"{hashlib.sha256(name.encode()).hexdigest()[:16]}.npz"
    known = {}
    if use_cache:
        try:
            known = read_word_vectors(path)
        except ValueError as e:  # planted, truncated or another layout: never executed, rewritten below
            if notes is not None:
                notes.append(f"ignored an unreadable word-vector cache and embedded the words again ({e})")
    missing = [w for w in dict.fromkeys(words) if w not in known]
    if missing:
        model = load_embedder(embedder)
        vectors = model.encode(missing, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        known.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
        if use_cache:
            arrays = {"words": np.array(list(known), dtype=str), "vectors": np.stack(list(known.values()))}
            write_atomically(path, lambda f: np.savez(f, **arrays))
    return np.stack([known[w] for w in words]).astype(np.float32)


def cluster_words(embeddings: np.ndarray, eps: float = 0.5, min_samples: int = 5, metric: str = "cosine") -> np.ndarray:
    """DBSCAN cluster labels of the word vectors (-1: noise)."""
    from sklearn.cluster import DBSCAN

    if len(embeddings) == 0:
        return np.zeros(0, dtype=int)
    if metric == "cosine":  # same neighbourhoods, fast exact euclidean on unit vectors
        embeddings, metric, eps = embeddings, "euclidean", float(np.sqrt(2 * eps))
    return DBSCAN(eps=eps, min_samples=min_samples, metric=metric, n_jobs=1).fit_predict(embeddings)


def _nearest(embeddings: np.ndarray, k: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the ``k`` nearest other words of each word."""
    n = len(embeddings)
    k = min(k, max(n - 1, 0))
    index = np.zeros((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return index, sims
    for start in range(0, n, chunk):
        block = embeddings[start : start + chunk] @ embeddings.T
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-top_sims, axis=1)
        index[start : start + chunk] = np.take_along_axis(top, order, axis=1)
        sims[start : start + chunk] = np.take_along_axis(top_sims, order, axis=1)
    return index, sims


def build_mapping(
    words: list[str],
    counts: list[int],
    embeddings: np.ndarray,
    labels: np.ndarray,
    wn=None,
    max_distance: float = 0.5,
    min_count_ratio: float = 1.0,
    require_wordnet: bool = True,
    keep_number: bool = True,
):
    """The mapping table: each clustered word that is not canonical, with its canonical form.

    Args:
        words, counts, embeddings, labels: the vocabulary (most frequent first) and its clusters.
        wn (None): a WordNet reader; None records the relation as ``unchecked``.
        max_distance (0.5): cosine distance beyond which two words are not compared.
        min_count_ratio (1.0): the canonical word must be at least this many times as frequent.
        require_wordnet (True): apply only merges WordNet accepts; False also applies unchecked ones.
        keep_number (True): a plural merge is listed but not applied, a synonym takes the variant's
            number (``planes`` -> ``airplanes``; ``other number`` when the vocabulary lacks that form).

    Returns:
        A DataFrame with ``MAPPING_COLUMNS``: the applied merges first, then by variant frequency.
    """
    import pandas as pd

    neighbours, sims = _nearest(embeddings, CANDIDATES_PER_WORD)
    forms = wordnet_module.NumberForms(wn, words, counts) if wn is not None and keep_number else None
    canonical_of: dict[int, int] = {}  # variant index -> canonical index (roots are absent)
    rows = []
    for i in sorted(range(len(words)), key=lambda j: (-counts[j], words[j])):
        if labels[i] < 0:
            continue
        candidates = [
            int(j)
            for j, s in zip(neighbours[i], sims[i])
            if labels[j] == labels[i]
            and 1 - s <= max_distance
            and j not in canonical_of
            and counts[j] >= counts[i] * min_count_ratio
            and (counts[j], words[i]) > (counts[i], words[j])
        ]
        if not candidates:
            continue
        j, relation = _choose(wn, words, i, candidates, forms, keep_number)
        applied = relation in _applying(keep_number) or (relation == "unchecked" and not require_wordnet)
        if applied and j in canonical_of:  # the number-kept form is itself a variant
            applied, relation = False, "other number"
        if applied:
            canonical_of[i] = j
        similarity = round(float(embeddings[i] @ embeddings[j]), 3)
        rows.append((words[i], words[j], int(labels[i]), counts[i], counts[j], similarity, relation, applied))
    table = pd.DataFrame(rows, columns=MAPPING_COLUMNS)
    order = table.sort_values(["applied", "variant_count", "variant"], ascending=[False, False, True], kind="stable")
    return order.reset_index(drop=True)


def _applying(keep_number: bool) -> tuple[str, ...]:
    """The WordNet relations that are applied (rewritten in the captions)."""
    return ("synonym", "spelling") if keep_number else wordnet_module.ACCEPTED_RELATIONS


def _choose(wn, words: list[str], i: int, candidates: list[int], forms, keep_number: bool) -> tuple[int, str]:
    """The canonical word of ``words[i]`` and its relation: the nearest applicable candidate, else
    the nearest that is the same word (in another number, kept), else the nearest and why not."""
    if wn is None:
        return candidates[0], "unchecked"
    found = []
    for j in candidates:
        relation = wordnet_module.word_relation(wn, words[i], words[j])
        if forms is not None and relation in ("synonym", "spelling"):
            same = forms.same_number(i, j)
            j, relation = (j, "other number") if same is None else (same, relation)
        found.append((j, relation))
    applicable = [k for k, (_, r) in enumerate(found) if r in _applying(keep_number)]
    if applicable and found[applicable[0]][1] == "spelling":  # of two spellings, the closest one
        spellings = [j for j, r in found if r == "spelling"]
        return max(spellings, key=lambda j: difflib.SequenceMatcher(None, words[i], words[j]).ratio()), "spelling"
    same_word = [k for k, (_, r) in enumerate(found) if r in SAME_WORD_RELATIONS]
    return found[(applicable or same_word or [0])[0]]


def cluster_synonyms(
    captions: list[str],
    embedder: str | None = None,
    eps: float = 0.5,
    min_samples: int = 5,
    metric: str = "cosine",
    min_word_count: int = 1,
    min_count_ratio: float = 1.0,
    use_wordnet: bool = True,
    require_wordnet: bool = True,
    embeddings: np.ndarray | None = None,
    keep_number: bool = True,
) -> SynonymResult:
    """Cluster the vocabulary of ``captions`` and build the WordNet-checked mapping table.

    Args:
        captions: the captions whose vocabulary is clustered.
        embedder (None: packaged all-MiniLM-L6-v2): sentence-transformer name or folder.
        eps (0.5), min_samples (5), metric ("cosine"): DBSCAN parameters.
        min_word_count (1): words rarer than this are left out.
        min_count_ratio (1.0): a canonical word is at least this many times as frequent as its variant.
        use_wordnet (True): check merges with WordNet (when it is unavailable, a note says so).
        require_wordnet (True): apply only WordNet-accepted merges.
        embeddings (None): precomputed vectors of the vocabulary (to re-cluster without re-embedding).
        keep_number (True): plural and singular stay apart (see :func:`build_mapping`).

    Returns:
        A :class:`SynonymResult`. Raises nothing for a missing embedder or WordNet: the result is
        empty or unchecked and ``notes`` says why.
    """
    import pandas as pd

    counts = word_counts(captions)
    words = vocabulary(counts, min_word_count)
    notes: list[str] = []
    empty = SynonymResult(
        words,
        [counts[w] for w in words],
        np.full(len(words), -1),
        np.zeros((len(words), 0)),
        pd.DataFrame(columns=MAPPING_COLUMNS),
        notes,
    )
    if embeddings is None:
        try:
            embeddings = embed_words(words, embedder, notes=notes)
        except (ValueError, OSError, ImportError) as e:
            notes.append(f"synonym clustering skipped: the embedder is unavailable ({e})")
            return empty
    if len(embeddings) != len(words):
        raise ValueError(f"got {len(embeddings)} embeddings for a vocabulary of {len(words)} words")
    labels = cluster_words(embeddings, eps, min_samples, metric)
    wn = None
    if use_wordnet:
        try:
            wn = wordnet_module.load_wordnet()
        except wordnet_module.WordNetUnavailable as e:
            notes.append(
                f"WordNet unavailable, merges are unchecked{'' if not require_wordnet else ' and none is applied'}: {e}"
            )
    mapping = build_mapping(
        words,
        empty.counts,
        embeddings,
        labels,
        wn,
        eps if metric == "cosine" else 2.0,
        min_count_ratio,
        require_wordnet and use_wordnet,
        keep_number,
    )
    return SynonymResult(words, empty.counts, labels, embeddings, mapping, notes)


def rewrite(captions: list[str], mapping: dict[str, str]) -> list[str]:
    """Replace each variant word by its canonical word (whole words, any case); never by an id.

    An article before a replaced word follows it: "a plane" becomes "an airplane".
    """
    lowered = {k.lower(): v for k, v in mapping.items()}
    if not lowered:
        return list(captions)

    def article(m: re.Match) -> str:
        canonical = lowered.get(m.group(3).lower())
        if canonical is None or _vowel(canonical) == _vowel(m.group(3)):
            return m.group(0)
        wanted = "an" if _vowel(canonical) else "a"
        return (wanted.capitalize() if m.group(1)[0].isupper() else wanted) + m.group(2) + m.group(3)

    return [
        c if lowered.keys().isdisjoint(letter_words(c)) else replace_words(_ARTICLE.sub(article, c), lowered)
        for c in captions
    ]


_ARTICLE = re.compile(r"\b(an?)(\s+)([^\W\d_]+)", re.IGNORECASE)  # "a"/"an", the spaces, the next word


def _vowel(word: str) -> bool:
    return word[:1].lower() in "aeiou"


def word_examples(before: list[str], after: list[str], word: str, limit: int = 10):
    """Captions containing ``word`` before rewriting, beside the same captions after it."""
    import pandas as pd

    word = word.lower()
    rows = [(b, a) for b, a in zip(before, after) if word in letter_words(b)][:limit]
    return pd.DataFrame(rows, columns=["before", "after"])


def project_2d(embeddings: np.ndarray, seed: int = 0, n_neighbors: int = 15, use_cache: bool = True) -> np.ndarray:
    """A 2-D UMAP projection of the word vectors, cached on disk under ``rsic_home()/cache/umap``.

    The first fit in a process compiles UMAP's numba code (about 20 s); the disk cache serves
    the same vocabulary again at once (plain arrays, read without pickle; an unreadable file is recomputed).
    """
    if len(embeddings) < 4:
        return np.zeros((len(embeddings), 2), dtype=np.float32)
    digest = hashlib.sha256(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes())
    digest.update(f"{seed}:{n_neighbors}".encode())
    path = rsic_home() / "cache" / "umap" / f"{digest.hexdigest()[:24]}.npy"
    if use_cache:
        try:
            xy = np.load(path, allow_pickle=False)
            if isinstance(xy, np.ndarray) and xy.shape == (len(embeddings), 2) and xy.dtype.kind == "f":
                return xy
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # absent, truncated or not a plain array
            pass
    import umap

    reducer = umap.UMAP(
        n_components=2, n_neighbors=min(n_neighbors, len(embeddings) - 1), metric="cosine", random_state=seed, n_jobs=1
    )
    xy = reducer.fit_transform(embeddings).astype(np.float32)
    if use_cache:
        write_atomically(path, lambda f: np.save(f, xy))
    return xy
