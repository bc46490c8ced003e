"""Synonym clustering of the caption vocabulary, checked by WordNet, rewriting words with words.

The RISC study embedded the caption vocabulary with a sentence-transformer, clustered it with
DBSCAN and replaced words by their cluster; done wrong, the captions became cluster ids. Here:

1. count the letter words of the captions (:mod:`rsic_core.text.words`; function words left out);
2. embed each word (the packaged all-MiniLM-L6-v2 by default, any sentence-transformer by name);
3. cluster with DBSCAN (eps 0.5, min_samples 5, cosine by default);
4. inside each cluster, walk the words from the most to the least frequent; a word becomes a
   variant of the most similar more frequent canonical word of its cluster that WordNet accepts
   (plural, synonym or spelling variant), otherwise it stays a canonical word itself;
5. rewrite captions by replacing variants with their canonical *word*.

Example::

    result = cluster_synonyms(captions)
    result.mapping            # variant, canonical, cluster, counts, similarity, relation, applied
    rewrite(captions, result.applied_map())
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rsic_core.paths import rsic_home
from rsic_core.text import wordnet as wordnet_module
from rsic_core.text.words import is_content_word, letter_words, replace_words, word_counts

MAPPING_COLUMNS = [
    "variant",
    "canonical",
    "cluster",
    "variant_count",
    "canonical_count",
    "similarity",
    "relation",
    "applied",
]
CANDIDATES_PER_WORD = 10  # nearest more-frequent words WordNet is asked about


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
        """``{variant: canonical}`` for the merges that are applied."""
        rows = self.mapping.loc[self.mapping["applied"].astype(bool)]
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
    words: list[str], embedder: str | None = None, batch_size: int = 512, use_cache: bool = True
) -> np.ndarray:
    """Unit-length embeddings of single words (float32, one row per word).

    Vectors are kept on disk per embedder under ``rsic_home()/cache/word_vectors`` so that only
    words never seen before are encoded (a new eps or dataset does not re-embed the vocabulary).
    The file is plain arrays read without pickle; an unreadable one is ignored and rewritten.

    Raises:
        ValueError: the embedder cannot be loaded (see :func:`rsic_core.text.embeddings.load_embedder`).
    """
    from rsic_core.text.embeddings import embedder_name, load_embedder

    if not words:
        return np.zeros((0, 384), dtype=np.float32)
    name = embedder_name(embedder)
    path = rsic_home() / "cache" / "word_vectors" / f"{hashlib.sha256(name.encode()).hexdigest()[:16]}.npz"
    known = _read_word_vectors(path) if use_cache else {}
    missing = [w for w in dict.fromkeys(words) if w not in known]
    if missing:
        model = load_embedder(embedder)
        vectors = model.encode(missing, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        known.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
        if use_cache:
            arrays = {"words": np.array(list(known), dtype=str), "vectors": np.stack(list(known.values()))}
            _write_atomically(path, lambda f: np.savez(f, **arrays))
    return np.stack([known[w] for w in words]).astype(np.float32)


def _read_word_vectors(path: Path) -> dict[str, np.ndarray]:
    """``{word: vector}`` from the cache file; empty when it is absent, broken or not plain arrays."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            words, vectors = stored["words"], stored["vectors"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # absent, truncated, object arrays
        return {}
    if words.dtype.kind != "U" or vectors.dtype.kind != "f" or vectors.ndim != 2 or len(words) != len(vectors):
        return {}
    return dict(zip(words.tolist(), vectors))


def _write_atomically(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place.

    A cache that cannot be written (read-only or full disk) is skipped: the next call recomputes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
):
    """The mapping table: each clustered word that is not canonical, with its canonical form.

    Args:
        words, counts, embeddings, labels: the vocabulary (most frequent first) and its clusters.
        wn (None): a WordNet reader; None records the relation as ``unchecked``.
        max_distance (0.5): cosine distance beyond which two words are not compared.
        min_count_ratio (1.0): the canonical word must be at least this many times as frequent.
        require_wordnet (True): apply only merges WordNet accepts; False also applies unchecked ones.

    Returns:
        A DataFrame with ``MAPPING_COLUMNS``, most frequent variants first.
    """
    import pandas as pd

    neighbours, sims = _nearest(embeddings, CANDIDATES_PER_WORD)
    canonical_of: dict[int, int] = {}  # variant index -> canonical index (roots are absent)
    rows = []
    for i in sorted(range(len(words)), key=lambda j: (-counts[j], words[j])):
        if labels[i] < 0:
            continue
        candidates = [
            (int(j), float(s))
            for j, s in zip(neighbours[i], sims[i])
            if labels[j] == labels[i]
            and 1 - s <= max_distance
            and j not in canonical_of
            and counts[j] >= counts[i] * min_count_ratio
            and (counts[j], words[i]) > (counts[i], words[j])
        ]
        if not candidates:
            continue
        best, relation = candidates[0], "unchecked"
        if wn is not None:  # the nearest candidate WordNet accepts, else the nearest and why not
            found = [wordnet_module.word_relation(wn, words[i], words[j]) for j, _ in candidates]
            k = next((k for k, r in enumerate(found) if r in wordnet_module.ACCEPTED_RELATIONS), 0)
            best, relation = candidates[k], found[k]
        applied = relation in wordnet_module.ACCEPTED_RELATIONS or (relation == "unchecked" and not require_wordnet)
        if applied:
            canonical_of[i] = best[0]
        j = best[0]
        rows.append((words[i], words[j], int(labels[i]), counts[i], counts[j], round(best[1], 3), relation, applied))
    return pd.DataFrame(rows, columns=MAPPING_COLUMNS)


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
            embeddings = embed_words(words, embedder)
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
    )
    return SynonymResult(words, empty.counts, labels, embeddings, mapping, notes)


def rewrite(captions: list[str], mapping: dict[str, str]) -> list[str]:
    """Replace each variant word by its canonical word (whole words, any case); never by an id."""
    lowered = {k.lower(): v for k, v in mapping.items()}
    if not lowered:
        return list(captions)

    return [c if lowered.keys().isdisjoint(letter_words(c)) else replace_words(c, lowered) for c in captions]


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
        _write_atomically(path, lambda f: np.save(f, xy))
    return xy
