"""Caption scores: coco-caption metrics exactly as pycocoevalcap computes them, plus Geo-Sim.

``score(predictions, references)`` returns corpus BLEU-1..4, METEOR, ROUGE-L and CIDEr(-D) from
pycocoevalcap after its PTB tokenizer, SPICE when asked and able to run, and Geo-Sim (cosine
similarity of sentence embeddings between a prediction and each of its references, averaged and
maximised over the references), with a score per image for every metric.

The Java tools run through :mod:`rsic_core.scoring.coco` (same jars and options, without pycocoevalcap's
breakages: temp files in its package folder, METEOR dying on paths with spaces, a Java trace when
Java is missing). Here:

- METEOR (one long-lived JVM) scores in a background thread while Python computes BLEU, ROUGE-L,
  CIDEr and Geo-Sim, so the JVM and the embedder use both cores; the embedder loads in another thread
  while the PTB tokenizer's JVM runs.
- Empty predictions score 0 on every metric (the Java tools accept them; Geo-Sim is set to 0
  rather than the similarity of an empty string). Images without any reference are left out and
  counted in ``notes``. Duplicate references are kept, as coco-caption keeps them. Line breaks
  inside a caption become spaces (they would shift the line-based Java tools).
- Sentence vectors are kept per process, so scoring the same references again (each epoch of
  a training run, each run in the app) embeds only the new predictions.
- SPICE needs Stanford CoreNLP models that pycocoevalcap downloads at first use; nothing is
  downloaded here: when the models are absent SPICE is reported in ``skipped`` with the reason.

Scores are on coco-caption's 0-1 scale (papers often print them x100).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from rsic_core.options import split_list
from rsic_core.scoring import coco
from rsic_core.scoring.coco import BLEU, CIDER, JAVA_MISSING, METEOR, ROUGE_L, SPICE  # noqa: F401 (re-exported)

GEO_SIM_MEAN, GEO_SIM_MAX = "Geo-Sim (mean)", "Geo-Sim (max)"
ALL_METRICS = (*BLEU, METEOR, ROUGE_L, CIDER, SPICE, GEO_SIM_MEAN, GEO_SIM_MAX)
METRIC_GROUPS = ("bleu", "meteor", "rouge", "cider", "geo_sim", "spice")

_NEWLINES = re.compile(r"[\r\n\u2028\u2029\u000b\u000c\u0085]+")


@dataclass
class ScoreConfig:
    """Which metrics to compute and how."""

    score_metrics: tuple[str, ...] = field(
        default=("bleu", "meteor", "rouge", "cider", "geo_sim"),
        metadata={"help": f"metric groups to compute, any of {', '.join(METRIC_GROUPS)}", "also": ["--metrics"]},
    )
    score_spice: bool = field(
        default=False,
        metadata={
            "help": "also try SPICE (needs Stanford CoreNLP models on disk; skipped with the reason when absent)",
            "also": ["--spice"],
        },
    )
    geo_sim_embedder: str | None = field(
        default=None,
        metadata={
            "help": "sentence-transformers model for Geo-Sim (hub id or folder; empty: the study's "
            "all-mpnet-base-v2 if it is in the local Hugging Face cache, else the packaged all-MiniLM-L6-v2; the "
            "one used is reported)",
            "also": ["--embedder"],  # the sentence embedder of the command, as on preprocess and scene search
        },
    )
    geo_sim_batch_size: int = field(default=256, metadata={"help": "sentences per embedding batch"})
    geo_sim_dtype: str = field(
        default="auto",
        metadata={
            "help": "embedder precision: auto (bfloat16 where the CPU has bf16 units, else float32), float32 "
            "(reference) or bfloat16 (about 3x faster on such CPUs; cosines within about 0.005, corpus "
            "Geo-Sim within about 0.001). The precision used is recorded with the embedder name."
        },
    )

    def __post_init__(self):
        # Checked when the config is made, so that `rsic evaluate --metrics blue` stops before any captioning.
        self.score_metrics = tuple(split_list(self.score_metrics))
        unknown = [m for m in self.score_metrics if m not in METRIC_GROUPS]
        if unknown:
            raise ValueError(f"unknown metric group(s) {unknown}; choose from {', '.join(METRIC_GROUPS)}")


@dataclass
class Scores:
    """Corpus and per-image scores of one set of predictions."""

    corpus: dict[str, float]  # metric name -> corpus score (0-1)
    per_image: dict[str, dict[str, float]]  # image id -> metric name -> score (NaN: not scored)
    n_images: int = 0  # images scored (with a prediction and at least one reference)
    embedder: str | None = None  # the Geo-Sim sentence embedder, when Geo-Sim was computed
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why it was not computed
    notes: list[str] = field(default_factory=list)  # input oddities that were handled
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step
    protocol: dict = field(default_factory=dict)  # images, references per image, tokenizer, level (see _protocol)
    protocols: dict[str, dict[str, float]] = field(default_factory=dict)  # other protocols' scores (--protocols)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Scores:
        """Read what ``to_dict`` wrote, tolerating keys an older version lacked."""
        return cls(
            corpus={k: float(v) for k, v in (data.get("corpus") or {}).items()},
            per_image={str(k): dict(v) for k, v in (data.get("per_image") or {}).items()},
            n_images=int(data.get("n_images") or 0),
            embedder=data.get("embedder"),
            skipped=dict(data.get("skipped") or {}),
            notes=list(data.get("notes") or []),
            seconds=dict(data.get("seconds") or {}),
            protocol=dict(data.get("protocol") or {}),
            protocols={str(k): dict(v) for k, v in (data.get("protocols") or {}).items()},
        )


def score(
    predictions: Mapping[str, str] | Sequence[str],
    references: Mapping[str, Sequence[str]] | Sequence[Sequence[str]],
    config: ScoreConfig | None = None,
) -> Scores:
    """Score predicted captions against reference captions.

    Args:
        predictions: image id -> predicted caption (or a list, aligned with ``references``).
        references: image id -> reference captions (or a list of lists).
        config (all metrics but SPICE, packaged MiniLM): see :class:`ScoreConfig`.

    Returns:
        The scores; ``per_image`` has every prediction's id, NaN where it could not be scored.

    Raises:
        ValueError: no image has both a prediction and a reference, an unknown metric group was
            asked for, Java is missing, or the Geo-Sim embedder cannot be loaded.
    """
    config = config or ScoreConfig()
    config.__post_init__()  # score_metrics may have been changed since the config was made
    preds, refs, notes = _align(predictions, references)
    ids = [i for i in preds if refs.get(i)]
    if not ids:
        raise ValueError("nothing to score: no image has both a prediction and at least one reference")
    result = Scores(corpus={}, per_image={i: {} for i in preds}, n_images=len(ids), notes=notes)
    result.protocol = _protocol([len(refs[i]) for i in ids])
    groups = set(config.score_metrics) | ({"spice"} if config.score_spice else set())
    empty = {i for i in ids if not preds[i].strip()}
    if empty:
        result.notes.append(f"{len(empty)} empty prediction(s) scored 0 on every metric")

    java_groups = [g for g in ("bleu", "meteor", "rouge", "cider", "spice") if g in groups]
    if java_groups:
        coco.java()  # no Java: one sentence now, before anything starts loading
    with ThreadPoolExecutor(max_workers=2) as pool:
        meteor = None
        loading = None
        if "geo_sim" in groups:  # the embedder loads while the PTB tokenizer's JVM runs (a wait, not Python work)
            from rsic_core.text.embeddings import geo_sim_default

            embedder = config.geo_sim_embedder or geo_sim_default()  # the study's mpnet where cached, else MiniLM
            dtype = resolve_geo_sim_dtype(config.geo_sim_dtype)
            loading = pool.submit(_embedder, embedder or None, dtype)
        if java_groups:
            start = time.perf_counter()
            gts, res = coco.ptb_tokenize({i: refs[i] for i in ids}, {i: preds[i] for i in ids})
            result.seconds["tokenize"] = time.perf_counter() - start
            if "meteor" in groups:  # the METEOR JVM works on its own core while Python does the rest
                meteor = pool.submit(_timed, coco.meteor, gts, res)
            for group in java_groups:
                if group != "meteor":
                    _record(result, ids, group, *_timed(coco.SCORERS[group], gts, res))
        if loading is not None:
            from rsic_core.text.embeddings import embedder_name

            start = time.perf_counter()
            loading.result()  # raises what loading raised (e.g. a model that is not there)
            means, maxes = geo_sim(
                [preds[i] for i in ids], [refs[i] for i in ids], embedder, config.geo_sim_batch_size, dtype
            )
            seconds = time.perf_counter() - start
            result.embedder = embedder_name(embedder) + ("" if dtype == "float32" else f", {dtype}")
            sims = {GEO_SIM_MEAN: (sum(means) / len(means), means), GEO_SIM_MAX: (sum(maxes) / len(maxes), maxes)}
            _record(result, ids, "geo_sim", sims, seconds)
        if meteor is not None:
            _record(result, ids, "meteor", *meteor.result())
    for i, row in result.per_image.items():  # the same columns for every image, NaN where unscored
        result.per_image[i] = {m: row.get(m, math.nan) for m in ALL_METRICS if m in result.corpus}
    result.corpus = {m: result.corpus[m] for m in ALL_METRICS if m in result.corpus}
    return result


def _protocol(n_refs: list[int]) -> dict:
    """What every score report states: how many images, references each, tokenizer, corpus-level."""
    import statistics

    return {
        "images": len(n_refs),
        "references_per_image": {"min": min(n_refs), "median": statistics.median(n_refs), "max": max(n_refs)},
        "tokenizer": "PTB (pycocoevalcap's Stanford CoreNLP PTBTokenizer, lower-cased, punctuation removed)",
        "level": "corpus-level, as coco-caption (BLEU and CIDEr are not means of per-image scores)",
    }


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def _record(result: Scores, ids: list[str], group: str, out, seconds: float) -> None:
    """Put one metric group's (corpus, per-image) scores, or its skip reason (a str), into ``result``."""
    result.seconds[group] = seconds
    if isinstance(out, str):
        result.skipped[SPICE] = out
        return
    for name, (corpus, per_image) in out.items():
        result.corpus[name] = corpus
        for i, value in zip(ids, per_image):
            result.per_image[i][name] = value


def _align(predictions, references) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    """Both inputs as dicts keyed by string ids, text cleaned, with notes on what was odd."""
    if not isinstance(predictions, Mapping):
        predictions = {str(i): p for i, p in enumerate(predictions)}
    if not isinstance(references, Mapping):
        references = {str(i): r for i, r in enumerate(references)}
    preds = {str(k): _clean(v) for k, v in predictions.items()}
    refs = {
        str(k): [c for c in (_clean(r) for r in ([v] if isinstance(v, str) else v or [])) if c.strip()]
        for k, v in references.items()
    }
    notes = []
    missing = [i for i in preds if not refs.get(i)]
    if missing:
        notes.append(f"{len(missing)} image(s) without any reference were not scored (e.g. {missing[0]!r})")
    few = sum(1 for i in preds if 0 < len(refs.get(i, [])) < 5)
    if few:
        notes.append(f"{few} image(s) have fewer than 5 references")
    return preds, refs, notes


def _clean(text) -> str:
    """One line of text: line breaks would shift the line-based Java tools."""
    return _NEWLINES.sub(" ", "" if text is None else str(text))


def resolve_geo_sim_dtype(dtype: str) -> str:
    """``auto`` -> bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX), else float32.

    On other CPUs torch emulates bfloat16 and it is slower than float32, so it is not chosen there.
    """
    if dtype != "auto":
        return dtype
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: keep the reference precision
        return "float32"
    return "bfloat16" if {"avx512_bf16", "amx_bf16"} & set(flags) else "float32"


def geo_sim(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    embedder: str | None = None,
    batch_size: int = 256,
    dtype: str = "float32",
) -> tuple[list[float], list[float]]:
    """Geo-Sim per image: cosine similarity of a prediction to each reference, mean and max.

    Args:
        predictions: one caption per image (an empty one scores 0).
        references: the reference captions of each image (at least one each).
        embedder (packaged all-MiniLM-L6-v2): see :func:`rsic_core.text.embeddings.load_embedder`.
        batch_size (256): sentences per embedding batch.
        dtype ("float32"): embedder precision ("bfloat16" is faster on CPUs with bf16 units).

    Returns:
        (mean over references, max over references), one value per image.
    """
    import numpy as np

    unique = list(dict.fromkeys([*predictions, *(r for refs in references for r in refs)]))
    vectors = _embed(embedder or None, dtype, unique, batch_size)
    means, maxes = [], []
    for pred, refs in zip(predictions, references):
        if not pred.strip():
            means.append(0.0)
            maxes.append(0.0)
            continue
        sims = np.stack([vectors[r] for r in refs]) @ vectors[pred]
        means.append(float(np.mean(sims)))
        maxes.append(float(np.max(sims)))
    return means, maxes


_VECTORS: dict[tuple, dict[str, object]] = {}  # (embedder, dtype) -> sentence -> unit vector (this process)
_VECTORS_MAX = 300_000  # sentences kept per embedder (about 460 MB at 384 dimensions)


def _embed(embedder: str | None, dtype: str, sentences: list[str], batch_size: int) -> dict[str, object]:
    """Unit vectors of ``sentences``, embedding only those not seen before in this process.

    References repeat across evaluations (every epoch of a training run, every run in the app),
    so after the first scoring only the predictions are embedded.
    """
    import numpy as np

    cache = _VECTORS.setdefault((embedder, dtype), {})
    found = {s: cache[s] for s in sentences if s in cache}
    todo = [s for s in sentences if s not in found]
    if todo:
        model = _embedder(embedder, dtype)
        vectors = model.encode(todo, batch_size=batch_size, normalize_embeddings=True, convert_to_tensor=True)
        vectors = vectors.float().cpu().numpy()
        # normalised in the embedder's precision (bfloat16: norms off by ~1e-3, so a sentence against itself
        # scored 1.002); normalised again in float32 so that cosines stay within [-1, 1]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        found.update(zip(todo, vectors))
        if len(cache) + len(todo) > _VECTORS_MAX:
            cache.clear()
        cache.update(zip(todo, vectors))
    return found


@lru_cache(maxsize=4)
def _embedder(name: str | None, dtype: str):
    """The shared embedder in float32, or a private copy in another precision."""
    import copy

    import torch

    from rsic_core.text.embeddings import load_embedder

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"geo_sim_dtype must be float32, bfloat16 or float16, not {dtype!r}")
    model = load_embedder(name)
    return model if dtype == "float32" else copy.deepcopy(model).to(getattr(torch, dtype))
