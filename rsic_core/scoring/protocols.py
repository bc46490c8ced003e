"""The other common ways papers score captions, side by side with coco-caption's (``rsic score --protocols``).

Each is computed by the library that defines it, not re-implemented:

- mean of per-image sentence BLEU-1..4 (``nltk.translate.bleu_score.sentence_bleu``, smoothing method1,
  lower-cased ``wordpunct`` tokens);
- ROUGE-L F-measure from Google's ``rouge_score`` against each reference, averaged over the references, then
  over images;
- NLTK METEOR (``nltk.translate.meteor_score``, WordNet from :mod:`rsic_core.text.wordnet`), mean over images;
- coco-caption again with every caption lower-cased and punctuation removed before the PTB tokenizer;
- coco-caption again with only the first ``k`` references of each image.

Returns ``{protocol: {metric: score}}`` on the 0-1 scale; a protocol that cannot run (no WordNet) gives
``{"skipped": reason}``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

SENTENCE_BLEU = "mean sentence BLEU (nltk, smoothing 1)"
ROUGE_SCORE = "ROUGE-L (rouge_score, mean over references)"
NLTK_METEOR = "METEOR (nltk, WordNet)"
FOLDED = "coco-caption, captions lower-cased, punctuation stripped"
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


def first_k_name(k: int) -> str:
    return f"coco-caption, first {k} references"


def compare_protocols(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]], k: int = 4
) -> dict[str, dict]:
    """Score the same predictions under each protocol above (images without a reference are left out)."""
    from rsic_core.scoring.metrics import ScoreConfig, score

    ids = [i for i in predictions if references.get(i)]
    preds = [predictions[i] or "" for i in ids]
    refs = [list(references[i]) for i in ids]
    out: dict[str, dict] = {SENTENCE_BLEU: _sentence_bleu(preds, refs), ROUGE_SCORE: _rouge_score(preds, refs)}
    out[NLTK_METEOR] = _nltk_meteor(preds, refs)
    coco = ScoreConfig(score_metrics=("bleu", "meteor", "rouge", "cider"))
    folded = score(
        {i: _fold(p) for i, p in zip(ids, preds)}, {i: [_fold(r) for r in rs] for i, rs in zip(ids, refs)}, coco
    )
    out[FOLDED] = folded.corpus
    out[first_k_name(k)] = score(dict(zip(ids, preds)), {i: rs[:k] for i, rs in zip(ids, refs)}, coco).corpus
    return out


def _fold(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _tokens(text: str) -> list[str]:
    from nltk.tokenize import wordpunct_tokenize  # punkt (word_tokenize) is not available offline

    return wordpunct_tokenize(text.lower())


def _sentence_bleu(preds: list[str], refs: list[list[str]]) -> dict[str, float]:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    smooth = SmoothingFunction().method1
    weights = [(1.0,), (0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.25, 0.25, 0.25, 0.25)]
    totals = [0.0] * 4
    for pred, rs in zip(preds, refs):
        hyp = _tokens(pred)
        if not hyp:
            continue  # an empty prediction scores 0
        ref_tokens = [_tokens(r) for r in rs]
        for n, w in enumerate(weights):
            totals[n] += sentence_bleu(ref_tokens, hyp, weights=w, smoothing_function=smooth)
    return {f"BLEU-{n + 1}": t / len(preds) for n, t in enumerate(totals)}


def _rouge_score(preds: list[str], refs: list[list[str]]) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    total = 0.0
    for pred, rs in zip(preds, refs):
        total += sum(scorer.score(r, pred)["rougeL"].fmeasure for r in rs) / len(rs)
    return {"ROUGE-L": total / len(preds)}


def _nltk_meteor(preds: list[str], refs: list[list[str]]) -> dict:
    from nltk.translate.meteor_score import meteor_score

    from rsic_core.text.wordnet import WordNetUnavailable, load_wordnet

    try:
        wordnet = load_wordnet()
    except WordNetUnavailable as e:
        return {"skipped": f"NLTK METEOR needs WordNet: {e}"}
    total = 0.0
    for pred, rs in zip(preds, refs):
        hyp = _tokens(pred)
        total += meteor_score([_tokens(r) for r in rs], hyp, wordnet=wordnet) if hyp else 0.0
    return {"METEOR": total / len(preds)}
