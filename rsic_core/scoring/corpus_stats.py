"""Corpus BLEU and CIDEr-D recomputed from cached per-image statistics, for any resample of the images.

Corpus BLEU and CIDEr are not means of per-image scores: BLEU sums clipped n-gram matches and
lengths over the corpus before taking the geometric mean, and CIDEr-D weighs n-grams by document
frequencies over the corpus's references. A bootstrap that draws images with replacement must
recompute them for each resample. The n-gram statistics of each image are counted once here,
exactly as pycocoevalcap's ``bleu_scorer`` and ``cider_scorer`` count them, and the corpus metric of
a resample (a row of image counts) is then a few numpy and scipy.sparse products::

    bleu = bleu_stats(refs, preds)                 # tokenized text (rsic_core.scoring.coco.ptb_tokenize)
    cider = CiderStats.of(refs, preds)
    counts = np.ones((1, len(preds)))              # the whole set, once each: pycocoevalcap's corpus scores
    corpus_bleu(bleu, counts)[0]                   # BLEU-1..4
    corpus_cider(cider, counts)[0]                 # CIDEr-D

A resample that draws an image twice counts it twice, as pycocoevalcap would if the image were
given twice under two ids: its n-grams twice in the BLEU sums, its references twice in CIDEr's
document frequencies. Hand-written (no library recomputes these from cached statistics); the
test checks them against pycocoevalcap to 1e-9.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

N = 4  # n-gram orders, as pycocoevalcap's Bleu(4) and Cider()
SIGMA = 6.0  # CIDEr-D's length penalty width
_SMALL, _TINY = 1e-9, 1e-15  # bleu_scorer's guards against division by zero
CHUNK = 64  # resamples per CIDEr block: keeps the (n-grams x resamples) weights near 30 MB on RSICD


def ngrams(sentence: str) -> Counter:
    """n-gram counts (n = 1..4) of a tokenized sentence, as pycocoevalcap's ``precook``."""
    words = sentence.split()
    return Counter(tuple(words[i : i + k]) for k in range(1, N + 1) for i in range(len(words) - k + 1))


def bleu_stats(references: Sequence[Sequence[str]], predictions: Sequence[str]) -> np.ndarray:
    """Per image: prediction length, effective reference length, then guesses and clipped matches per order.

    The effective reference length is the closest reference length (``Bleu.compute_score``'s
    ``option="closest"``), or the mean for a corpus of one image, as ``BleuScorer`` does.

    Returns:
        An (images, 2 + 2 * 4) array: testlen, reflen, guess_1..4, correct_1..4.
    """
    rows = []
    closest = len(predictions) != 1
    for refs, pred in zip(references, predictions):
        maxcounts: dict[tuple, int] = {}
        lengths = []
        for ref in refs:
            lengths.append(len(ref.split()))
            for gram, count in ngrams(ref).items():
                maxcounts[gram] = max(maxcounts.get(gram, 0), count)
        testlen = len(pred.split())
        reflen = min((abs(n - testlen), n) for n in lengths)[1] if closest else sum(lengths) / len(lengths)
        correct = [0] * N
        for gram, count in ngrams(pred).items():
            correct[len(gram) - 1] += min(maxcounts.get(gram, 0), count)
        rows.append([testlen, reflen, *(max(0, testlen - k + 1) for k in range(1, N + 1)), *correct])
    return np.asarray(rows, dtype=float).reshape(len(rows), 2 + 2 * N)


def corpus_bleu(stats: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Corpus BLEU-1..4 of each resample (a row of ``counts``: how often each image is drawn), shape (R, 4)."""
    totals = np.asarray(counts, dtype=float) @ stats
    precisions = (totals[:, 2 + N :] + _TINY) / (totals[:, 2 : 2 + N] + _SMALL)
    bleus = np.cumprod(precisions, axis=1) ** (1.0 / np.arange(1, N + 1))
    ratio = (totals[:, 0] + _TINY) / (totals[:, 1] + _SMALL)
    with np.errstate(divide="ignore", over="ignore"):
        brevity = np.where(ratio < 1, np.exp(1 - 1 / ratio), 1.0)
    return bleus * brevity[:, None]


@dataclass
class CiderStats:
    """The n-gram counts CIDEr-D needs, as sparse matrices over the n-grams of the corpus (G of them).

    Row ``4 * k + n`` of ``hyp``, ``ref`` and ``clipped`` belongs to image (``hyp``) or reference
    (``ref``, ``clipped``) k and n-gram order n + 1.
    """

    presence: object  # (G, images) csr: 1 where the n-gram is in some reference of the image
    hyp: object  # (4 * images, G) csr: squared counts in the prediction
    ref: object  # (4 * references, G) csr: squared counts in the reference
    clipped: object  # (4 * references, G) csr: min(prediction count, reference count) * reference count
    starts: np.ndarray  # (images,) index of each image's first reference
    n_refs: np.ndarray  # (images,) references per image
    penalty: np.ndarray  # (references,) exp(-(prediction length - reference length)^2 / (2 sigma^2))

    @classmethod
    def of(cls, references: Sequence[Sequence[str]], predictions: Sequence[str]) -> CiderStats:
        """Count the n-grams of tokenized references (at least one per image) and predictions."""
        from scipy import sparse

        index: dict[tuple, int] = {}
        pres, hyp, ref, clip = ([], []), ([], [], []), ([], [], []), ([], [], [])
        starts, n_refs, penalty = [], [], []
        for i, (refs, pred) in enumerate(zip(references, predictions)):
            counts = ngrams(pred)
            length = _bigrams(counts)  # cider_scorer's "length" counts bigrams (its `if n == 1`)
            for gram, c in counts.items():
                _add(hyp, 4 * i + len(gram) - 1, index.setdefault(gram, len(index)), c * c)
            starts.append(len(penalty))
            n_refs.append(len(refs))
            seen = set()
            for r in refs:
                k = len(penalty)
                ref_counts = ngrams(r)
                for gram, c in ref_counts.items():
                    g = index.setdefault(gram, len(index))
                    seen.add(g)
                    _add(ref, 4 * k + len(gram) - 1, g, c * c)
                    if gram in counts:
                        _add(clip, 4 * k + len(gram) - 1, g, min(counts[gram], c) * c)
                penalty.append(math.exp(-((length - _bigrams(ref_counts)) ** 2) / (2 * SIGMA**2)))
            pres[0].extend(seen)
            pres[1].extend([i] * len(seen))

        def matrix(parts, rows):
            return sparse.csr_matrix((parts[2], (parts[0], parts[1])), shape=(rows, len(index)), dtype=float)

        presence = sparse.csr_matrix(
            (np.ones(len(pres[0])), (pres[0], pres[1])), shape=(len(index), len(predictions)), dtype=float
        )
        n_ref = len(penalty)
        return cls(
            presence=presence,
            hyp=matrix(hyp, 4 * len(predictions)),
            ref=matrix(ref, 4 * n_ref),
            clipped=matrix(clip, 4 * n_ref),
            starts=np.asarray(starts, dtype=int),
            n_refs=np.asarray(n_refs, dtype=float),
            penalty=np.asarray(penalty, dtype=float),
        )


def corpus_cider(stats: CiderStats, counts: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Corpus CIDEr-D of each resample (a row of ``counts``), with document frequencies over its references.

    Returns:
        An (R,) array; for ``counts`` of ones, pycocoevalcap's corpus CIDEr.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    out = [_cider_block(stats, counts[s : s + chunk]) for s in range(0, len(counts), chunk)]
    return np.concatenate(out) if out else np.zeros(0)


def per_image_cider(stats: CiderStats) -> np.ndarray:
    """pycocoevalcap's per-image CIDEr-D on the whole set (each image once)."""
    return _cider_images(stats, np.ones((1, stats.presence.shape[1])))[:, 0]


def _cider_block(stats: CiderStats, counts: np.ndarray) -> np.ndarray:
    scores = _cider_images(stats, counts)  # (images, R)
    return (counts.T * scores).sum(axis=0) / counts.shape[1]


def _cider_images(stats: CiderStats, counts: np.ndarray) -> np.ndarray:
    """Each image's CIDEr-D under each resample's document frequencies, shape (images, R)."""
    n_images, n_ref = counts.shape[1], len(stats.penalty)
    doc_freq = stats.presence @ counts.T  # (G, R): references of the drawn images that hold the n-gram
    weight2 = (np.log(float(n_images)) - np.log(np.maximum(1.0, doc_freq))) ** 2  # idf^2, >= 0
    norm_hyp = np.sqrt(stats.hyp @ weight2).reshape(n_images, N, -1)
    norm_ref = np.sqrt(stats.ref @ weight2).reshape(n_ref, N, -1)
    dot = (stats.clipped @ weight2).reshape(n_ref, N, -1)
    owner = np.repeat(np.arange(n_images), stats.n_refs.astype(int))
    denom = norm_hyp[owner] * norm_ref
    cosine = np.divide(dot, denom, out=np.zeros_like(dot), where=denom != 0)
    per_ref = cosine.sum(axis=1) * stats.penalty[:, None]  # (references, R)
    per_image = np.add.reduceat(per_ref, stats.starts, axis=0)
    return per_image * (10.0 / (N * stats.n_refs))[:, None]


def _bigrams(counts: Counter) -> int:
    return sum(c for gram, c in counts.items() if len(gram) == 2)


def _add(parts, row: int, col: int, value: float) -> None:
    parts[0].append(row)
    parts[1].append(col)
    parts[2].append(value)
