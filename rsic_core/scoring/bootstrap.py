"""Is system A better than B on these images? A paired bootstrap of the difference in every metric.

    stats_a = system_stats(ids, predictions_a, references)        # tokenized once, n-grams counted once
    stats_b = system_stats(ids, predictions_b, references)
    differences = paired_bootstrap(stats_a, stats_b, resamples=1000, seed=0)
    differences["CIDEr"]   # Difference(delta=0.31, low=0.22, high=0.40, a_wins=1.0)
    compare_systems(ids, predictions_a, predictions_b, references, classes)   # both, with per-class rows

Each resample draws the images with replacement (the same draw for A and B: the test is paired)
and recomputes every corpus metric of A and of B on it:

- BLEU-1..4 and CIDEr-D from cached n-gram statistics (:mod:`rsic_core.scoring.corpus_stats`), so
  they are the corpus metrics pycocoevalcap would give on the resampled set, not means of per-image
  scores;
- ROUGE-L, Geo-Sim and SPICE as the mean of per-image scores, which is how their corpus score is
  defined;
- METEOR as the mean of per-image scores, its whole-set value and ``delta`` too (so that the
  interval is about the number reported): the METEOR jar aggregates its statistics over the corpus
  instead, so the corpus METEOR of ``rsic score`` differs from this mean; the comparison's notes
  give both (:data:`METEOR_NOTE`).

The interval is the percentile interval of the resampled differences; ``a_wins`` is the share of
resamples where A scores higher (ties count for neither).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from rsic_core.scoring import coco
from rsic_core.scoring.corpus_stats import CiderStats, bleu_stats, corpus_bleu, corpus_cider, per_image_cider
from rsic_core.scoring.metrics import ALL_METRICS, BLEU, CIDER, METEOR, ScoreConfig, score

RESAMPLES, SEED, LEVEL = 1000, 0, 0.95
METEOR_NOTE = (
    "METEOR here is the mean of per-image METEOR scores (A {a:.2f}, B {b:.2f} x100), resampled as such; the METEOR "
    "jar aggregates its statistics over the corpus instead, giving A {jar_a:.2f}, B {jar_b:.2f} (as `rsic score`)"
)
_SPACES = re.compile(r"\s+")  # line breaks would shift the line-based Java tokenizer; spaces change no token


@dataclass
class Difference:
    """A - B in one metric (0-1 scale), with its bootstrap interval and the share of resamples A wins."""

    delta: float  # on the whole set
    low: float
    high: float
    a_wins: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class SystemStats:
    """One system's cached statistics on a fixed, ordered set of images."""

    ids: list[str]
    references: list[list[str]]  # tokenized
    predictions: list[str]  # tokenized
    corpus: dict[str, float]  # metric -> corpus score on the whole set (0-1)
    per_image: dict[str, np.ndarray] = field(default_factory=dict)  # mean-aggregated metrics, per image
    bleu: np.ndarray | None = None
    cider: CiderStats | None = None
    meteor_jar: float | None = None  # the METEOR jar's corpus score (``corpus`` holds the per-image mean)

    def resampled(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric on each resample (row of ``counts``), shape (R,) each."""
        out: dict[str, np.ndarray] = {}
        if self.bleu is not None:
            out.update(zip(BLEU, corpus_bleu(self.bleu, counts).T))
        if self.cider is not None:
            out[CIDER] = corpus_cider(self.cider, counts)
        for name, values in self.per_image.items():
            out[name] = counts @ values / counts.shape[1]
        return {m: out[m] for m in ALL_METRICS if m in out}

    def reordered(self, ids: Sequence[str]) -> SystemStats:
        """The same images in the order of ``ids`` (the same set), every statistic kept."""
        where = {i: k for k, i in enumerate(self.ids)}
        rows = [where[i] for i in ids]
        per_image = {m: v[rows] for m, v in self.per_image.items()}
        refs, preds = [self.references[k] for k in rows], [self.predictions[k] for k in rows]
        out = _stats(list(ids), refs, preds, per_image, self.bleu is not None, self.cider is not None)
        out.meteor_jar = self.meteor_jar
        return out

    def subset(self, rows: Sequence[int]) -> SystemStats:
        """The same system on some of its images (e.g. one class): corpus BLEU recomputed on them; CIDEr-D as
        the mean of their per-image CIDEr-D with the whole set's document frequencies (within one class most
        n-grams are in every image's references, so CIDEr recomputed on the class alone is near 0 for any caption)."""
        rows = list(rows)
        refs, preds = [self.references[k] for k in rows], [self.predictions[k] for k in rows]
        per_image = {m: v[rows] for m, v in self.per_image.items()}
        if self.cider is not None:
            per_image[CIDER] = per_image_cider(self.cider)[rows]
        return _stats([self.ids[k] for k in rows], refs, preds, per_image, self.bleu is not None, False)


@dataclass
class Comparison:
    """A against B on the same images: corpus scores, paired differences overall and per class."""

    n_images: int
    resamples: int
    seed: int
    level: float
    a: dict[str, float]  # corpus scores of A on the whole set
    b: dict[str, float]
    differences: dict[str, Difference]
    per_class: dict[str, dict[str, Difference]] = field(default_factory=dict)  # class -> metric -> difference
    class_sizes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, dict[str, float]]:
        """``{"BLEU-4": {"delta": .., "low": .., "high": .., "a_wins": ..}, ...}`` on the 0-1 scale."""
        return {m: d.to_dict() for m, d in self.differences.items()}


def resample_counts(n_images: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """How often each image is drawn in each resample (n_images draws with replacement), shape (R, n_images)."""
    _check_resamples(resamples)
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=resamples).astype(float)


def tokenize_systems(
    references: Sequence[Sequence[str]], *predictions: Sequence[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """PTB-tokenized references and each system's predictions, in one JVM call."""
    gts = {str(k): [_one_line(r) for r in refs if str(r).strip()] for k, refs in enumerate(references)}  # as score()
    res = {f"{s}:{k}": _one_line(p) for s, preds in enumerate(predictions) for k, p in enumerate(preds)}
    tok_gts, tok_res = coco.ptb_tokenize(gts, res)
    n = len(references)
    return [tok_gts[str(k)] for k in range(n)], [
        [tok_res[f"{s}:{k}"][0] for k in range(n)] for s in range(len(predictions))
    ]


def system_stats(
    ids: Sequence[str],
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    config: ScoreConfig | None = None,
    tokenized: tuple[list[list[str]], list[str]] | None = None,
) -> SystemStats:
    """Score one system on ``ids`` and keep what its resamples need.

    Args:
        ids: image ids, in the order of ``predictions`` and ``references``.
        predictions: one caption per image.
        references: each image's reference captions (at least one each).
        config (all metrics but SPICE): which metric groups; see :class:`ScoreConfig`.
        tokenized (tokenized here): (references, predictions) already PTB-tokenized, e.g. by
            :func:`tokenize_systems` for several systems at once.

    Raises:
        ValueError: an image has no reference, or what :func:`rsic_core.scoring.metrics.score` raises.
    """
    config = config or ScoreConfig()
    groups = set(config.score_metrics) | ({"spice"} if config.score_spice else set())
    empty = [i for i, refs in zip(ids, references) if not any(r.strip() for r in refs)]
    if empty:
        raise ValueError(f"image {empty[0]!r} has no reference caption ({len(empty)} such image(s)); each needs one")
    per_image: dict[str, np.ndarray] = {}
    mean_groups = tuple(g for g in config.score_metrics if g in ("meteor", "rouge", "geo_sim"))
    if mean_groups or config.score_spice:
        preds = dict(zip(ids, predictions))
        scored = score(preds, dict(zip(ids, references)), replace(config, score_metrics=mean_groups))
        per_image = {m: np.array([scored.per_image[i][m] for i in ids], dtype=float) for m in scored.corpus}
    if tokenized is None:
        refs_tok, (preds_tok,) = tokenize_systems(references, predictions)
    else:
        refs_tok, preds_tok = tokenized
    stats = _stats(list(ids), refs_tok, list(preds_tok), per_image, "bleu" in groups, "cider" in groups)
    if METEOR in per_image:
        stats.meteor_jar = float(scored.corpus[METEOR])
    return stats


def paired_bootstrap(
    a: SystemStats, b: SystemStats, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> dict[str, Difference]:
    """A - B in every metric both have, with its ``level`` percentile interval and A's share of wins.

    Raises:
        ValueError: A and B are not on the same images, or an image has other references in B.
    """
    if a.ids != b.ids:
        if sorted(a.ids) != sorted(b.ids):
            raise ValueError(f"the two systems are not on the same images ({len(a.ids)} and {len(b.ids)} images)")
        b = b.reordered(a.ids)
    for i, refs_a, refs_b in zip(a.ids, a.references, b.references):
        if sorted(refs_a) != sorted(refs_b):
            raise ValueError(f"image {i!r} has other references in B than in A: they were scored on other references")
    counts = resample_counts(len(a.ids), resamples, seed)
    on_a, on_b = a.resampled(counts), b.resampled(counts)
    tail = 100 * (1 - level) / 2
    out = {}
    for metric in (m for m in on_a if m in on_b and m in a.corpus and m in b.corpus):
        diff = on_a[metric] - on_b[metric]
        low, high = np.percentile(diff, [tail, 100 - tail])
        delta = a.corpus[metric] - b.corpus[metric]
        out[metric] = Difference(float(delta), float(low), float(high), float(np.mean(diff > 0)))
    return out


def compare_systems(
    ids: Sequence[str],
    predictions_a: Sequence[str],
    predictions_b: Sequence[str],
    references: Sequence[Sequence[str]],
    classes: Sequence[str | None] = (),
    config: ScoreConfig | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """A against B on the same images: the paired bootstrap overall and within each class.

    Args:
        ids: image ids, in the order of the other lists.
        predictions_a, predictions_b: each system's caption per image.
        references: each image's reference captions.
        classes (none): each image's scene class (None where unknown); each class is compared on its
            own images (see :meth:`SystemStats.subset`).
        config (all metrics but SPICE): which metric groups.
        resamples (1000), seed (0): the bootstrap.
    """
    _check_resamples(resamples)  # before minutes of scoring
    refs_tok, (a_tok, b_tok) = tokenize_systems(references, predictions_a, predictions_b)
    a = system_stats(ids, predictions_a, references, config, (refs_tok, a_tok))
    b = system_stats(ids, predictions_b, references, config, (refs_tok, b_tok))
    result = Comparison(
        n_images=len(ids),
        resamples=resamples,
        seed=seed,
        level=LEVEL,
        a=a.corpus,
        b=b.corpus,
        differences=paired_bootstrap(a, b, resamples, seed),
    )
    by_class: dict[str, list[int]] = {}
    for k, label in enumerate(classes):
        if isinstance(label, str) and label:
            by_class.setdefault(label, []).append(k)
    if len(by_class) > 1:
        for label, rows in sorted(by_class.items()):
            result.per_class[label] = paired_bootstrap(a.subset(rows), b.subset(rows), resamples, seed)
            result.class_sizes[label] = len(rows)
    if METEOR in result.differences:
        scaled = {"a": a.corpus[METEOR], "b": b.corpus[METEOR], "jar_a": a.meteor_jar, "jar_b": b.meteor_jar}
        result.notes.append(METEOR_NOTE.format(**{k: 100 * v for k, v in scaled.items()}))
    return result


def _stats(ids, refs_tok, preds_tok, per_image: Mapping[str, np.ndarray], bleu: bool, cider: bool) -> SystemStats:
    stats = SystemStats(ids=list(ids), references=refs_tok, predictions=preds_tok, corpus={}, per_image=dict(per_image))
    stats.bleu = bleu_stats(refs_tok, preds_tok) if bleu else None
    stats.cider = CiderStats.of(refs_tok, preds_tok) if cider else None
    whole = stats.resampled(np.ones((1, len(ids))))
    stats.corpus = {m: float(v[0]) for m, v in whole.items()}
    return stats


def _check_resamples(resamples: int) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")


def _one_line(text) -> str:
    return _SPACES.sub(" ", "" if text is None else str(text))
