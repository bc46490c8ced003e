"""Caption preprocessing as the RISC study described it, done right, every step reported.

Steps, in this order, each configurable and each can be switched off:

1. length filter: keep captions of 5 to 20 words;
2. SentencePiece: train a unigram model (2,000 pieces) on the kept captions, re-tokenise, decode;
3. synonym clustering: map infrequent variants to a canonical *word* of the same meaning (:mod:`rsic_core.text.synonyms`);
4. cleaning: lowercase, strip non-ASCII, collapse whitespace.

The output is always natural-language captions (checked by :mod:`rsic_core.text.guard`) plus a report
of what each step did. Results are cached on disk under ``rsic_home()/cache/preprocess`` keyed
by the captions and the config, so a re-run is served in about a second. The cache holds data only
(JSON, NumPy arrays, the SentencePiece model file: :mod:`rsic_core.text.cache`), never pickles: a
planted or broken cache folder is ignored, recomputed and noted in ``result.notes``.

Example::

    result = preprocess(captions, PreprocessConfig(syn_eps=0.4))
    result.captions              # the kept captions, rewritten and cleaned
    result.report()              # JSON-ready summary of every step
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from rsic_core.paths import rsic_home
from rsic_core.text.guard import GuardReport, check_natural_language
from rsic_core.text.subwords import SentencePieceResult
from rsic_core.text.synonyms import SynonymResult
from rsic_core.text.words import count_words

CACHE_VERSION = 7  # bump when the output of a step or the cache layout changes (7: merges only of one meaning)


@dataclass
class PreprocessConfig:
    """Every switch and parameter of the preprocessing pipeline."""

    length_filter: bool = field(default=True, metadata={"help": "step 1: drop captions outside the word bounds"})
    len_min_words: int = field(
        default=5, metadata={"help": "shortest caption kept, in words", "aliases": ["--min-words"]}
    )
    len_max_words: int = field(
        default=20, metadata={"help": "longest caption kept, in words", "aliases": ["--max-words"]}
    )
    sentencepiece: bool = field(default=True, metadata={"help": "step 2: train SentencePiece and re-tokenise"})
    sp_vocab_size: int = field(
        default=2000, metadata={"help": "SentencePiece pieces wanted", "aliases": ["--vocab-size"]}
    )
    sp_model_type: str = field(
        default="unigram", metadata={"help": "unigram, bpe, char or word", "aliases": ["--model-type"]}
    )
    sp_max_sentences: int = field(
        default=100_000,
        metadata={"help": "captions sampled to train SentencePiece (all are encoded)", "aliases": ["--sp-sample"]},
    )
    synonyms: bool = field(default=True, metadata={"help": "step 3: map word variants to a canonical word"})
    syn_embedder: str = field(
        default="",
        metadata={
            "help": "sentence-transformer name or folder (empty: packaged all-MiniLM-L6-v2)",
            "also": ["--embedder"],  # the sentence embedder of the command, as on score, evaluate and scene
        },
    )
    syn_eps: float = field(default=0.5, metadata={"help": "DBSCAN eps (cosine distance)", "aliases": ["--eps"]})
    syn_min_samples: int = field(default=5, metadata={"help": "DBSCAN min_samples", "aliases": ["--min-samples"]})
    syn_metric: str = field(default="cosine", metadata={"help": "DBSCAN metric", "aliases": ["--metric"]})
    syn_min_word_count: int = field(
        default=1, metadata={"help": "words rarer than this are not clustered", "aliases": ["--min-word-count"]}
    )
    syn_min_count_ratio: float = field(
        default=1.0,
        metadata={
            "help": "a canonical word is at least this many times as frequent as its variant",
            "aliases": ["--min-count-ratio"],
        },
    )
    syn_wordnet: bool = field(default=True, metadata={"help": "check merges with WordNet"})
    syn_require_wordnet: bool = field(
        default=True, metadata={"help": "apply only merges WordNet accepts (synonym, spelling, plural)"}
    )
    syn_keep_number: bool = field(
        default=True,
        metadata={
            "help": "plural and singular stay apart (off: plurals become singular, as in the RISC study: "
            "'many buildings' -> 'many building')"
        },
    )
    cleaning: bool = field(default=True, metadata={"help": "step 4: lowercase, strip non-ASCII, collapse whitespace"})


@dataclass
class StepReport:
    """What one step did."""

    name: str  # length_filter, sentencepiece, synonyms, cleaning
    enabled: bool
    seconds: float = 0.0  # wall-clock time
    cpu_seconds: float = 0.0  # CPU time of this process (all threads): the honest number on a busy machine
    captions_in: int = 0
    captions_out: int = 0
    changed: int = 0  # captions whose text this step changed
    details: dict = field(default_factory=dict)  # step-specific numbers
    notes: list[str] = field(default_factory=list)  # what could not be done, in plain words


@dataclass
class PreprocessResult:
    """The preprocessed captions, the intermediate artefacts and the report."""

    config: PreprocessConfig
    n_input: int  # captions given
    kept_index: np.ndarray  # index (into the input) of every kept caption
    before_synonyms: list[str]  # kept captions as they entered the synonym step
    captions: list[str]  # final captions, aligned with kept_index
    steps: list[StepReport]
    guard: GuardReport  # the final captions checked against the kept input captions
    sentencepiece: SentencePieceResult | None = None
    synonyms: SynonymResult | None = None
    seconds: float = 0.0  # pipeline time when it was computed
    from_cache: bool = False
    notes: list[str] = field(default_factory=list)  # about this call, e.g. an unreadable cache folder ignored

    def step(self, name: str) -> StepReport:
        return next(s for s in self.steps if s.name == name)

    def report(self) -> dict:
        """A JSON-ready summary: config, every step, the guard verdict."""
        return {
            "config": asdict(self.config),
            "captions_in": self.n_input,
            "captions_out": len(self.captions),
            "seconds": round(self.seconds, 2),
            "steps": [asdict(s) for s in self.steps],
            "guard": {"ok": self.guard.ok, "summary": self.guard.summary()},
            "notes": list(self.notes),
        }


def clean_caption(caption: str) -> str:
    """Lowercase, drop non-ASCII characters, collapse whitespace."""
    return " ".join(caption.lower().encode("ascii", "ignore").decode().split())


def cache_key(captions: list[str], config: PreprocessConfig) -> str:
    """Hash of the captions, the config, the pipeline version and whether WordNet is there."""
    from rsic_core.text.wordnet import wordnet_installed

    # What the machine offers changes the result too: a run made without WordNet is not reused once it is installed.
    environment = {"wordnet": config.synonyms and config.syn_wordnet and wordnet_installed()}
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, asdict(config), environment], sort_keys=True).encode())
    for caption in captions:
        digest.update(caption.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def preprocess(captions: list[str], config: PreprocessConfig | None = None, use_cache: bool = True) -> PreprocessResult:
    """Run the enabled steps on ``captions``, from the disk cache when it holds the same run.

    Args:
        captions: the input captions, one string each (flatten a dataset's references first).
        config (defaults): which steps run and how.
        use_cache (True): read and write the folder ``rsic_home()/cache/preprocess/<key>/`` (data only).

    Returns:
        A :class:`PreprocessResult`; ``from_cache`` tells whether it was computed now, ``notes`` whether
        a cache folder was ignored or could not be written.
    """
    from rsic_core.text import cache

    config = config or PreprocessConfig()
    captions = [str(c) for c in captions]
    folder = rsic_home() / "cache" / "preprocess" / cache_key(captions, config)
    notes = []
    if use_cache and (folder.exists() or folder.is_symlink()):
        try:
            return _from_cache(cache.read_result(folder, CACHE_VERSION), config, len(captions))
        except cache.UnreadableCache as e:  # planted, truncated or outdated: never executed, recomputed
            notes.append(f"ignored an unreadable cache folder and computed the run again ({e})")
    result = _run(captions, config)
    if use_cache:
        try:
            cache.write_result(folder, result, CACHE_VERSION)
        except OSError as e:
            notes.append(f"could not write the preprocessing cache ({e}); the next run computes it again")
    result.notes = notes
    return result


def _from_cache(parts: dict, config: PreprocessConfig, n_input: int) -> PreprocessResult:
    """The cached result built from :func:`rsic_core.text.cache.read_result`'s parts, if it is this run."""
    from rsic_core.text.cache import UnreadableCache

    try:
        parts["config"] = PreprocessConfig(**parts["config"])
        parts["steps"] = [StepReport(**s) for s in parts["steps"]]
    except TypeError as e:
        raise UnreadableCache(f"its config or step reports have other fields ({e})") from e
    if parts["config"] != config or parts["n_input"] != n_input:
        raise UnreadableCache("it holds another run (the config or the number of captions differ)")
    return PreprocessResult(**parts, from_cache=True)


def _run(captions: list[str], config: PreprocessConfig) -> PreprocessResult:
    start = time.perf_counter()
    steps = []
    kept, index, report = _timed(_length_filter, captions, config)
    steps.append(report)
    sp, text, report = _timed(_sentencepiece, kept, config)
    steps.append(report)
    syn, rewritten, report = _timed(_synonyms, text, config)
    steps.append(report)
    final, report = _timed(_cleaning, rewritten, config)
    steps.append(report)
    guard = check_natural_language(final, sources=kept)
    return PreprocessResult(
        config, len(captions), index, text, final, steps, guard, sp, syn, time.perf_counter() - start
    )


def _timed(step, captions: list[str], config: PreprocessConfig):
    """Run one step and set its wall and CPU seconds on its report (the last value returned)."""
    wall, cpu = time.perf_counter(), time.process_time()
    *values, report = step(captions, config)
    report.seconds, report.cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    return (*values, report)


def _length_filter(captions: list[str], config: PreprocessConfig) -> tuple[list[str], np.ndarray, StepReport]:
    report = StepReport("length_filter", config.length_filter, captions_in=len(captions))
    if config.length_filter:
        if config.len_min_words > config.len_max_words:
            raise ValueError(f"min words ({config.len_min_words}) is above max words ({config.len_max_words})")
        lengths = np.fromiter((count_words(c) for c in captions), dtype=np.int64, count=len(captions))
        mask = (lengths >= config.len_min_words) & (lengths <= config.len_max_words)
        index = np.flatnonzero(mask)
        report.details = {
            "min_words": config.len_min_words,
            "max_words": config.len_max_words,
            "dropped_short": int((lengths < config.len_min_words).sum()),
            "dropped_long": int((lengths > config.len_max_words).sum()),
        }
    else:
        index = np.arange(len(captions))
    kept = [captions[i] for i in index]
    report.captions_out = len(kept)
    return kept, index, report


def _sentencepiece(captions: list[str], config: PreprocessConfig):
    from rsic_core.text.subwords import train_sentencepiece

    report = StepReport("sentencepiece", config.sentencepiece, captions_in=len(captions), captions_out=len(captions))
    if not config.sentencepiece:
        return None, captions, report
    try:
        sp = train_sentencepiece(captions, config.sp_vocab_size, config.sp_model_type, config.sp_max_sentences)
    except (ValueError, RuntimeError) as e:
        report.notes.append(f"SentencePiece skipped: {e}")
        return None, captions, report
    report.changed = sp.n_changed
    report.details = {
        "vocab_size": sp.vocab_size,
        "requested_vocab_size": config.sp_vocab_size,
        "model_type": config.sp_model_type,
        "mean_pieces_per_caption": round(sp.mean_pieces(), 2),
    }
    if sp.vocab_size < config.sp_vocab_size:
        report.notes.append(f"the corpus yields {sp.vocab_size} pieces, fewer than the {config.sp_vocab_size} asked")
    return sp, sp.decoded, report


def _synonyms(captions: list[str], config: PreprocessConfig):
    from rsic_core.text import synonyms

    report = StepReport("synonyms", config.synonyms, captions_in=len(captions), captions_out=len(captions))
    if not config.synonyms:
        return None, captions, report
    result = synonyms.cluster_synonyms(
        captions,
        embedder=config.syn_embedder or None,
        eps=config.syn_eps,
        min_samples=config.syn_min_samples,
        metric=config.syn_metric,
        min_word_count=config.syn_min_word_count,
        min_count_ratio=config.syn_min_count_ratio,
        use_wordnet=config.syn_wordnet,
        require_wordnet=config.syn_require_wordnet,
        keep_number=config.syn_keep_number,
    )
    applied = result.applied_map()
    rewritten = synonyms.rewrite(captions, applied)
    report.changed = sum(1 for a, b in zip(captions, rewritten) if a != b)
    report.notes = list(result.notes)
    relations = result.mapping["relation"].value_counts().to_dict() if len(result.mapping) else {}
    report.details = {
        "vocabulary": len(result.words),
        "clusters": result.n_clusters,
        "noise_words": int((result.labels == -1).sum()),
        "candidate_merges": len(result.mapping),
        "applied_merges": len(applied),
        "relations": {str(k): int(v) for k, v in relations.items()},
    }
    return result, rewritten, report


def _cleaning(captions: list[str], config: PreprocessConfig) -> tuple[list[str], StepReport]:
    report = StepReport("cleaning", config.cleaning, captions_in=len(captions), captions_out=len(captions))
    if not config.cleaning:
        return captions, report
    cleaned = [clean_caption(c) for c in captions]
    report.changed = sum(1 for a, b in zip(captions, cleaned) if a != b)
    return cleaned, report


def config_fields() -> list:
    """The dataclass fields of :class:`PreprocessConfig` (for command-line parsers)."""
    return list(fields(PreprocessConfig))
