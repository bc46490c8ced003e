"""SentencePiece subwords of the captions: train a model, re-tokenise, decode back to text.

The step trains a unigram model (vocabulary 2,000 by default) on the kept captions, in memory,
and keeps the model, its vocabulary and every caption as pieces. Its output is the decoded text,
so the captions that flow on stay natural language; ``n_changed`` tells how many did not
survive the round trip unchanged (runs of spaces collapse).

Example::

    sp = train_sentencepiece(captions, vocab_size=2000)
    sp.pieces(0)        # ['▁a', '▁plane', '▁is', ...]
    sp.decoded[0]       # 'a plane is ...'
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np


@dataclass
class SentencePieceResult:
    """A trained SentencePiece model and the captions re-tokenised with it."""

    model_proto: bytes  # the serialized model (write it to ``*.model`` to reuse it)
    vocab: list[tuple[str, float]]  # (piece, log-probability score) in id order
    ids: np.ndarray  # the piece ids of all captions, concatenated (int32)
    offsets: np.ndarray  # caption i is ids[offsets[i]:offsets[i + 1]]
    decoded: list[str]  # each caption decoded back from its pieces
    n_changed: int  # captions whose decoded text differs from the input
    requested_vocab_size: int  # what was asked (a small corpus yields fewer pieces)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def processor(self):
        """A ``sentencepiece.SentencePieceProcessor`` for the trained model."""
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_proto=self.model_proto)

    def pieces(self, index: int) -> list[str]:
        """The pieces of caption ``index``."""
        return [self.vocab[i][0] for i in self.ids[self.offsets[index] : self.offsets[index + 1]]]

    def mean_pieces(self) -> float:
        """Average number of pieces per caption."""
        return float(len(self.ids) / max(len(self.offsets) - 1, 1))

    def save(self, path) -> None:
        """Write the model file (``.model``) that ``SentencePieceProcessor(model_file=...)`` reads."""
        with open(path, "wb") as f:
            f.write(self.model_proto)


def train_sentencepiece(
    captions: list[str],
    vocab_size: int = 2000,
    model_type: str = "unigram",
    max_sentences: int = 100_000,
    seed_sentencepiece_size: int = 200_000,
    seed: int = 0,
) -> SentencePieceResult:
    """Train a SentencePiece model on ``captions`` and re-tokenise them.

    Args:
        captions: the training text, one caption each.
        vocab_size (2000): pieces wanted; a small corpus yields fewer (never an error).
        model_type ("unigram"): ``unigram``, ``bpe``, ``char`` or ``word``.
        max_sentences (100000): captions sampled for training (all are encoded).
        seed_sentencepiece_size (200000): unigram seed pieces (smaller trains faster).
        seed (0): random seed of the sampling, so the same captions give the same model.

    Returns:
        A :class:`SentencePieceResult`.

    Raises:
        ValueError: there is no non-empty caption to train on.
    """
    import sentencepiece as spm

    text = [c for c in captions if c.strip()]
    if not text:
        raise ValueError("SentencePiece needs at least one non-empty caption to train on")
    buffer = io.BytesIO()
    spm.set_random_generator_seed(seed)  # the sample of training captions is drawn at random
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,  # every character seen is a piece: the round trip is exact
        normalization_rule_name="identity",  # keep the text as it is; cleaning comes later
        hard_vocab_limit=False,
        input_sentence_size=max_sentences,
        shuffle_input_sentence=True,
        seed_sentencepiece_size=seed_sentencepiece_size,
        num_threads=2,
        minloglevel=2,
    )
    proto = buffer.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=proto)
    encoded = sp.encode(list(captions))
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.fromiter((i for e in encoded for i in e), dtype=np.int32, count=int(offsets[-1]))
    decoded = sp.decode(encoded)
    vocab = [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(sp.get_piece_size())]
    changed = sum(1 for a, b in zip(captions, decoded) if a != b)
    return SentencePieceResult(proto, vocab, ids, offsets, decoded, changed, vocab_size)
