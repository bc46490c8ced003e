"""A guard that refuses training or reference captions that are not natural language.

The published attempt this project learns from trained PaliGemma on targets such as
``['one', 'twenty-two', '-1', 'seventy-one', '-1', 'forty-six', '109']`` (synonym-cluster ids
written as words) and on captions whose characters were joined by spaces, and only found out
when BLEU-4 came out 0. Call this before any training step or scoring::

    check_natural_language(train_captions, sources=original_captions).raise_if_failed()

Checks: id-like captions (numbers, ``-1``, ids such as ``c17``, number words standing for ids),
characters joined by spaces, a collapsed vocabulary, and (with ``sources``) captions that share
no word with the caption they were made from.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rsic_core.text.words import NUMBER_WORDS, letter_words, pieces

_ID_WORDS = frozenset(NUMBER_WORDS) | {"minus"}  # cluster ids written as words: "minus one", "twenty-two"
_ID_LIKE = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$|^(?=[a-z_]*\d)[a-z_]*\d+[a-z_]*$|^<[^>]*>$", re.I)

MIN_VOCABULARY = 10  # fewer distinct words than this over many captions: collapsed
MAX_TOP_WORD_SHARE = 0.4  # one word above this share of all words: collapsed


@dataclass
class GuardIssue:
    """One failed check: what, how many captions, examples and what it means."""

    check: str  # id_like, spaced_characters, collapsed_vocabulary, unrelated_to_source, empty
    count: int  # captions concerned (for collapsed_vocabulary: 1, the whole set)
    examples: list[str]  # up to five offending captions, as given
    message: str  # one sentence a person can act on


@dataclass
class GuardReport:
    """What :func:`check_natural_language` found."""

    n_captions: int
    failures: list[GuardIssue] = field(default_factory=list)  # refuse training on these captions
    warnings: list[GuardIssue] = field(default_factory=list)  # a few odd captions under the tolerance

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line per failure and warning, with examples."""
        if self.ok and not self.warnings:
            return f"{self.n_captions} captions look like natural language."
        lines = [f"{self.n_captions} captions: " + ("refused" if self.failures else "accepted with warnings")]
        for kind, issues in (("FAIL", self.failures), ("warn", self.warnings)):
            for issue in issues:
                examples = ", ".join(repr(e) for e in issue.examples)
                lines.append(f"  {kind} {issue.check}: {issue.message} Examples: [{examples}]")
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        """Raise ``ValueError`` with the failures and examples unless every check passed."""
        if self.failures:
            raise ValueError("captions are not natural language, refusing to use them.\n" + self.summary())


def _is_number_word(token: str) -> bool:
    parts = [p for p in token.split("-") if p]
    return bool(parts) and all(p in _ID_WORDS for p in parts)


def _is_id_like(tokens: list[str]) -> bool:
    """Most of the words are numbers, ids or number words: not a description."""
    odd = sum(1 for t in tokens if _ID_LIKE.match(t) or _is_number_word(t))
    return odd * 2 > len(tokens)


def _is_spaced(caption: str) -> bool:
    """``"a p l a n e"``: most tokens are single characters."""
    tokens = caption.split()
    singles = sum(1 for t in tokens if len(t) == 1)
    return len(tokens) >= 4 and singles >= 0.6 * len(tokens)


def _shares_words(caption: str, source: str) -> bool:
    words = set(letter_words(caption))
    return not words or not words.isdisjoint(letter_words(source))


def check_natural_language(
    captions: list[str],
    sources: list[str] | None = None,
    max_bad_fraction: float = 0.005,
) -> GuardReport:
    """Check that captions are natural-language sentences fit to train on or score against.

    Args:
        captions: the targets or references, one string each.
        sources (None): the captions they were derived from, in the same order; when given,
            captions sharing no word with their source are counted.
        max_bad_fraction (0.005): share of odd captions tolerated per check (real datasets hold a
            few); above it the check fails, below it the captions are listed as warnings.

    Returns:
        A :class:`GuardReport`; call ``raise_if_failed()`` to stop on failure.

    Raises:
        ValueError: ``sources`` is given with a different length.
    """
    captions = [c if isinstance(c, str) else str(c) for c in captions]
    if sources is not None and len(sources) != len(captions):
        raise ValueError(f"got {len(captions)} captions but {len(sources)} sources; they must pair up")
    report = GuardReport(n_captions=len(captions))
    if not captions:
        report.failures.append(GuardIssue("empty", 0, [], "there are no captions at all."))
        return report
    tokens = [pieces(c) for c in captions]
    flagged = {
        "empty": [c for c, t in zip(captions, tokens) if not t],
        "id_like": [c for c, t in zip(captions, tokens) if t and _is_id_like(t)],
        "spaced_characters": [c for c in captions if _is_spaced(c)],
    }
    if sources is not None:
        flagged["unrelated_to_source"] = [c for c, s in zip(captions, sources) if not _shares_words(c, str(s))]
    messages = {
        "empty": "captions without any word.",
        "id_like": "captions made of numbers, ids, '-1' or number words (cluster ids written as words?) "
        "instead of sentences.",
        "spaced_characters": "captions whose characters are separated by spaces (joined pieces or "
        "characters instead of words).",
        "unrelated_to_source": "captions that share no word with the caption they were made from "
        "(were words replaced by ids or by another caption?).",
    }
    for check, bad in flagged.items():
        if not bad:
            continue
        issue = GuardIssue(check, len(bad), bad[:5], f"{len(bad)} of {len(captions)} {messages[check]}")
        (report.failures if len(bad) > max_bad_fraction * len(captions) else report.warnings).append(issue)
    collapsed = _collapsed_vocabulary(tokens)
    if collapsed:
        report.failures.append(GuardIssue("collapsed_vocabulary", 1, captions[:5], collapsed))
    return report


def _collapsed_vocabulary(tokens: list[list[str]]) -> str | None:
    counts = Counter(t for caption in tokens for t in caption)
    total = sum(counts.values())
    if len(tokens) >= 50 and len(counts) < MIN_VOCABULARY:
        return f"the vocabulary collapsed to {len(counts)} distinct words over {len(tokens)} captions."
    if total >= 200 and counts:
        word, n = counts.most_common(1)[0]
        if n > MAX_TOP_WORD_SHARE * total:
            return f"one word, {word!r}, makes up {n / total:.0%} of all words: the vocabulary collapsed."
    return None
