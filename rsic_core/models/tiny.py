"""What the tiny model builders of every family share: a small tokenizer trained on captions.

:func:`rsic_core.models.registry.build_tiny` trains one with :func:`train_tokenizer` (on
:data:`DEFAULT_CORPUS` unless given captions) and hands it to the family's processor; the
family's own sizes and configs live in its file under :mod:`rsic_core.models.families`.
"""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "<eos>", "bos_token": "<bos>", "unk_token": "<unk>"}
DEFAULT_CORPUS = (
    "an aerial image of a harbor with many boats",
    "a residential area with many houses and green trees",
    "two planes are parked at the airport beside a runway",
    "a river runs through a dense forest",
    "a farmland divided into square fields",
    "a parking lot full of cars next to a building",
    "a baseball field surrounded by trees and roads",
    "some storage tanks stand near a road",
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 300, template: str | None = None):
    """A byte-level BPE tokenizer trained on ``texts``, as a ``PreTrainedTokenizerFast``.

    Args:
        texts: training sentences (captions).
        vocab_size (300): target vocabulary size including the 4 special tokens.
        template (None): post-processing template such as ``"<bos> $A <eos>"``.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    specials = list(SPECIAL_TOKENS.values())
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(list(texts), trainer)
    if template:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=template, special_tokens=[(t, tokenizer.token_to_id(t)) for t in specials if t in template]
        )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)
