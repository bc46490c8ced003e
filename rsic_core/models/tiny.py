"""Models of the real architectures built from configs, with no download.

:func:`build_tiny` makes a tiny random model of a family (tests, and the base of the offline demo
model); :func:`build_shape` makes a random-weight model with the real shapes of BLIP-2 OPT-2.7B
or PaliGemma2-3B-224 for timing (speed does not depend on the weights). Both come with the
family's own processor around a small tokenizer trained on captions by :func:`train_tokenizer`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rsic_core.models.registry import FAMILIES, Captioner, choose_device, choose_dtype

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

# The families' own sizes for tiny models: (vision kwargs, text kwargs, extra kwargs).
_TINY = {
    "paligemma": (
        dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=8),
        dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
        ),
        {},
    ),
    "blip2-opt": (
        dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=8),
        dict(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2, word_embed_proj_dim=32),
        dict(
            num_query_tokens=4,
            qformer=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
        ),
    ),
    "blip": (
        dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=8),
        dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2),
        {},
    ),
}
_TINY["paligemma2"] = (_TINY["paligemma"][0], dict(_TINY["paligemma"][1], query_pre_attn_scalar=16), {})

# Real shapes (public configs of the checkpoints), random weights.
SHAPES = {
    "blip2-opt-2.7b": dict(
        family="blip2-opt",
        image_size=224,
        vocab_size=50272,
        vision=dict(
            hidden_size=1408, intermediate_size=6144, num_hidden_layers=39, num_attention_heads=16, patch_size=14
        ),
        text=dict(
            hidden_size=2560,
            ffn_dim=10240,
            num_hidden_layers=32,
            num_attention_heads=32,
            word_embed_proj_dim=2560,
            max_position_embeddings=2048,
        ),
        extra=dict(
            num_query_tokens=32,
            qformer=dict(
                hidden_size=768,
                num_hidden_layers=12,
                num_attention_heads=12,
                intermediate_size=3072,
                cross_attention_frequency=2,
            ),
        ),
    ),
    "paligemma2-3b": dict(
        family="paligemma2",
        image_size=224,
        vocab_size=257216,
        vision=dict(
            hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16, patch_size=14
        ),
        text=dict(
            hidden_size=2304,
            intermediate_size=9216,
            num_hidden_layers=26,
            num_attention_heads=8,
            num_key_value_heads=4,
            head_dim=256,
            query_pre_attn_scalar=256,
            sliding_window=4096,
            final_logit_softcapping=30.0,
            attn_logit_softcapping=50.0,
            max_position_embeddings=8192,
        ),
        extra={},
    ),
}


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


def build_tiny(
    family: str,
    captions: Iterable[str] | None = None,
    image_size: int = 32,
    vocab_size: int = 300,
    vision: dict | None = None,
    text: dict | None = None,
    extra: dict | None = None,
    seed: int = 0,
    model_vocab_size: int | None = None,
    device: str | None = "cpu",
    dtype=None,
) -> Captioner:
    """A random model of ``family`` with the family's processor, built from configs.

    Args:
        family: a key of :data:`rsic_core.models.registry.FAMILIES`.
        captions (None): sentences to train the tokenizer on (default: a few scene captions).
        image_size (32): input resolution.
        vocab_size (300): tokenizer vocabulary size.
        vision / text / extra (None): config overrides (sizes) for the vision tower, the language
            model and the rest (BLIP-2: ``num_query_tokens``, ``qformer``).
        seed (0): weight initialisation seed.
        model_vocab_size (None): embedding rows (default: the tokenizer's length).
        device ("cpu") / dtype (None): where to build; see :func:`rsic_core.models.registry.choose_dtype`.

    Returns:
        A :class:`~rsic_core.models.registry.Captioner` in eval mode; ``.save(folder)`` writes it for
        :func:`~rsic_core.models.registry.load_captioner`.
    """
    import torch

    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    base_vision, base_text, base_extra = _TINY[family]
    vision = {**base_vision, "image_size": image_size, **(vision or {})}
    text = {**base_text, **(text or {})}
    extra = {**base_extra, **(extra or {})}
    template = {"blip2-opt": "<bos> $A", "blip": "<bos> $A <eos>"}.get(family)
    tokenizer = train_tokenizer(captions or DEFAULT_CORPUS, vocab_size, template)
    processor = _PROCESSORS[family](tokenizer, vision, extra)
    ids = dict(
        vocab_size=model_vocab_size or len(processor.tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = _CONFIGS[family](processor, vision, {**text, **ids}, extra)
    device = choose_device(device)
    dtype = choose_dtype(device, dtype)
    import transformers

    torch.manual_seed(seed)
    with torch.device(device):
        model = getattr(transformers, FAMILIES[family].model_class)._from_config(config, dtype=dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    processor.tokenizer.padding_side = "left"
    return Captioner(FAMILIES[family], model.eval(), processor, f"tiny-{family}", device, dtype)


def build_shape(shape: str, device: str | None = None, dtype=None) -> Captioner:
    """A random-weight model with the real shapes of ``shape`` (see :data:`SHAPES`), for timing."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")
    spec = SHAPES[shape]
    captioner = build_tiny(
        spec["family"],
        image_size=spec["image_size"],
        vision=spec["vision"],
        text=spec["text"],
        extra=spec["extra"],
        model_vocab_size=spec["vocab_size"],
        device=device,
        dtype=dtype,
    )
    captioner.name = f"{shape} (random weights)"
    return captioner


def _paligemma_processor(tokenizer, vision, extra):
    from transformers import PaliGemmaProcessor, SiglipImageProcessorPil

    size = vision["image_size"]
    image_processor = SiglipImageProcessorPil(
        size={"height": size, "width": size}, image_seq_length=(size // vision["patch_size"]) ** 2
    )
    return PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)


def _blip_image_processor(vision):
    from transformers import BlipImageProcessorPil

    return BlipImageProcessorPil(size={"height": vision["image_size"], "width": vision["image_size"]})


def _blip2_processor(tokenizer, vision, extra):
    from transformers import Blip2Processor

    return Blip2Processor(
        image_processor=_blip_image_processor(vision), tokenizer=tokenizer, num_query_tokens=extra["num_query_tokens"]
    )


def _blip_processor(tokenizer, vision, extra):
    from transformers import BlipProcessor

    return BlipProcessor(image_processor=_blip_image_processor(vision), tokenizer=tokenizer)


def _paligemma_config(processor, vision, text, extra, gemma2: bool = False):
    from transformers import Gemma2Config, GemmaConfig, PaliGemmaConfig, SiglipVisionConfig

    text_config = (Gemma2Config if gemma2 else GemmaConfig)(**text)
    return PaliGemmaConfig(
        vision_config=SiglipVisionConfig(projection_dim=text["hidden_size"], **vision),
        text_config=text_config,
        image_token_index=processor.image_token_id,
        projection_dim=text["hidden_size"],
        **extra,
    )


def _blip2_config(processor, vision, text, extra):
    from transformers import Blip2Config, Blip2QFormerConfig, Blip2VisionConfig, OPTConfig

    extra = dict(extra)
    qformer = Blip2QFormerConfig(encoder_hidden_size=vision["hidden_size"], **extra.pop("qformer"))
    image_token = processor.tokenizer.convert_tokens_to_ids(
        str(getattr(processor.image_token, "content", processor.image_token))
    )
    return Blip2Config(
        vision_config=Blip2VisionConfig(**vision),
        qformer_config=qformer,
        text_config=OPTConfig(**text),
        image_token_index=image_token,
        **extra,
    )


def _blip_config(processor, vision, text, extra):
    from transformers import BlipConfig, BlipTextConfig, BlipVisionConfig

    text_config = BlipTextConfig(encoder_hidden_size=vision["hidden_size"], sep_token_id=text["eos_token_id"], **text)
    return BlipConfig(
        vision_config=BlipVisionConfig(**vision), text_config=text_config, projection_dim=vision["hidden_size"], **extra
    )


_PROCESSORS = {
    "paligemma": _paligemma_processor,
    "paligemma2": _paligemma_processor,
    "blip2-opt": _blip2_processor,
    "blip": _blip_processor,
}
_CONFIGS = {
    "paligemma": _paligemma_config,
    "blip2-opt": _blip2_config,
    "blip": _blip_config,
    "paligemma2": lambda *a: _paligemma_config(*a, gemma2=True),
}
