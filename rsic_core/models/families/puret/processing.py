"""PureT's processor: 384 px bicubic images with ImageNet statistics, and a word-level tokenizer.

**Images** are resized to 384 x 384 with bicubic resampling (no crop, the aspect ratio is not kept)
and normalised with the ImageNet mean and std, as the release does (transformers'
``ViTImageProcessorPil`` with those settings).

**Words.** The release has its own vocabulary file: one word per line, line ``i`` (1-based) is id
``i``, and id 0 is a placeholder that is both BOS and EOS. Here the same list becomes a ``tokenizers``
``WordLevel`` model in a ``PreTrainedTokenizerFast``: id 0 is ``<eos>``, the caption's first
decoder input *and* the token that ends it. The tokenizer names it its EOS and pad token but **not**
its BOS token: the project's collators mask every position whose input id is the BOS id, which would
then mask the closing EOS as well. The model's config carries ``bos_token_id = 0`` instead, and
:meth:`~rsic_core.models.families.puret.PureT.build_inputs` puts it in front of every caption.
Text is lowercased and punctuation becomes spaces before it is split into words (the release's
captions are stored that way). A vocabulary trained on a dataset's captions has ``<unk>`` as id 1;
the released list is used as it is, with its own ``UNK`` word when it has one (otherwise an
unknown word maps to id 0, so training a converted model on new words needs a new vocabulary).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from transformers import ProcessorMixin

EOS = "<eos>"  # id 0: BOS = EOS (the release's placeholder '.')
UNK = "<unk>"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def word_tokenizer(words: Iterable[str], max_length: int = 99):
    """A word-level ``PreTrainedTokenizerFast``: id 0 = ``<eos>``, then ``words`` in order (id 1, 2, ...).

    Args:
        words: the vocabulary without id 0 (the release's file: line ``i`` -> id ``i``); ``<unk>``
            or ``UNK`` among them is the unknown word.
        max_length (99): ``model_max_length`` (the decoder's positions).

    Raises:
        ValueError: a word is empty, holds a space, or comes twice (the line is named).
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {EOS: 0}
    for line, word in enumerate(words, start=1):
        if not word or word != word.strip() or " " in word:
            raise ValueError(f"vocabulary line {line}: {word!r} is not one word")
        if word in vocab:
            raise ValueError(f"vocabulary line {line}: {word!r} comes twice (first at line {vocab[word]})")
        vocab[word] = len(vocab)
    unk = next((u for u in (UNK, "UNK", "<UNK>") if u in vocab), EOS)
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Lowercase(), normalizers.Replace(Regex(r"[^\w\s]"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS, unk_token=unk, model_max_length=max_length
    )


# Frequent words of remote-sensing captions (RSICD, UCM, Sydney): a tiny model's vocabulary knows them even
# where its few training captions do not, so that a caption it was not built from is not all <unk>.
COMMON_WORDS = (
    "a an the of and with in on at by near beside next to many some several two three four five one lots "
    "is are there it its this that which large small big little long short wide narrow tall dense sparse "
    "red green blue white gray grey black brown yellow dark light building buildings house houses roof roofs "
    "road roads street streets car cars parking lot lots tree trees forest river lake sea water beach pond "
    "field fields farmland grass land bare area areas residential industrial commercial airport runway "
    "plane planes airplane airplanes harbor boats boat ship ships bridge baseball tennis court courts "
    "playground stadium church school park square center storage tanks tank railway station viaduct "
    "mountain desert meadow parked surrounded located built stand stands lined arranged neatly around "
    "between along through middle side sides top left right"
).split()


def train_word_tokenizer(
    captions: Iterable[str], vocab_size: int = 10000, min_count: int = 1, extra_words: Iterable[str] = ()
):
    """A word tokenizer of the most frequent words of ``captions`` (``<eos>`` id 0, ``<unk>`` id 1).

    Args:
        captions: training captions.
        vocab_size (10000): at most this many ids, the two special ones included.
        min_count (1): leave out words seen fewer times (the release kept words seen 5 times or more on COCO).
        extra_words (()): words added after the captions' own while there is room (e.g. :data:`COMMON_WORDS`).
    """
    counts = Counter(word for caption in captions for word in _words(caption))
    ranked = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    ranked += [w for w in dict.fromkeys(extra_words) if w not in counts]
    return word_tokenizer([UNK, *ranked[: max(vocab_size - 2, 0)]])


def read_vocabulary(path: str | Path) -> list[str]:
    """The words of a vocabulary file, one per line (the release's ``coco_vocabulary.txt``: line i -> id i).

    Raises:
        FileNotFoundError / ValueError: no such file, not UTF-8 text, or an empty line (named).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such vocabulary file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file (one word per line)") from None
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ValueError(f"{path}: line {number} is empty (one word per line, line i is id i)")
    return [line.strip() for line in lines]


def _words(caption: str) -> list[str]:
    import re

    return re.sub(r"[^\w\s]", " ", caption.lower()).split()


def image_processor(size: int = 384):
    """Bicubic resize to ``size`` x ``size`` (no crop) and ImageNet normalisation."""
    from transformers import ViTImageProcessorPil
    from transformers.image_utils import PILImageResampling

    return ViTImageProcessorPil(
        size={"height": size, "width": size},
        resample=PILImageResampling.BICUBIC,
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
    )


class PuretProcessor(ProcessorMixin):
    """Images to ``pixel_values`` and captions to word ids (``save_pretrained``/``from_pretrained`` round trip)."""

    def __init__(self, image_processor, tokenizer, **kwargs):
        super().__init__(image_processor, tokenizer)

    def __call__(self, images=None, text=None, return_tensors="pt", **kwargs):
        """``pixel_values`` for ``images`` and, when ``text`` is given, its ``input_ids`` (no special tokens)."""
        from transformers import BatchFeature

        data = {}
        if images is not None:
            data.update(self.image_processor(images, return_tensors=return_tensors))
        if text is not None:
            data.update(self.tokenizer(text, add_special_tokens=False, return_tensors=return_tensors, **kwargs))
        return BatchFeature(data)
