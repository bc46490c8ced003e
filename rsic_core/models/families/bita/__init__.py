"""BITA (TGRS 2024): a CLIP ViT-L/14 vision tower, the Interactive Fourier Transformer and OPT-2.7B.

The model is written here from the facts of the released checkpoint (``configuration.py``, ``ift.py``,
``modeling.py``); its processor is transformers' ``Blip2Processor`` (``num_query_tokens`` image
placeholders before ``BOS prompt``, 224 px bicubic, CLIP mean/std), so the default labels of
:class:`~rsic_core.models.base.Family` apply: training rows are ``<queries> BOS a photo of caption\\n``
with only ``caption\\n`` labelled.

Where this differs from the release, on purpose:
- a space between the prompt and the caption ("a photo of many ..."); the authors' code glues them
  ("a photo ofmany ..."), so captions of the released weights may start oddly after our prompt;
- the end of a caption is the tokenizer's EOS, which this family sets to the newline token (OPT id
  50118, as the release stops generation at "\\n"), so it is also what training appends.

The release evaluates with beam 5, at most 22 and at least 5 new tokens (:data:`GENERATION_DEFAULTS`):
``rsic convert bita-opt`` (``convert.py``) writes them into the model's ``generation_config.json`` (used by ``model.generate``
when not told otherwise); ``rsic caption/evaluate`` take their own ``--gen-*`` values.

Vision tower and OPT are frozen by default (``config.freeze_vision`` / ``freeze_language``): a built
or loaded model has ``requires_grad=False`` there, so trainable parameters are those with
``requires_grad`` (91,788,288 in the real shape). CLIP and OPT share their attention names
(``q_proj``...), so the name-list default LoRA targets reach CLIP's ``q_proj``/``k_proj`` too; the
``ift-language`` preset adapts only the IFT's and OPT's.
"""

from __future__ import annotations

from pathlib import Path

from rsic_core.models.backbones import OPT_2_7B, OPT_VOCAB_SIZE
from rsic_core.models.base import Family

NEWLINE = "Ċ"  # the byte-level BPE token of "\n" (OPT id 50118): BITA's end of caption
GENERATION_DEFAULTS = dict(num_beams=5, max_new_tokens=22, min_new_tokens=5)  # the release's evaluation
_VISION_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=8)
_IFT_LAYERS = r"ift\.encoder\.layer\.\d+\.crossattention\.self\.(query|key)"
_OPT_LAYERS = r"language_model\.model\.decoder\.layers\.\d+\.self_attn\.(q_proj|k_proj)"


class Bita(Family):
    """BITA (OPT)."""

    name = "bita-opt"
    title = "BITA (OPT)"
    example = "a folder written by `rsic convert bita-opt`"
    model_type = "bita"
    model_class = "BitaForConditionalGeneration"
    processor_class = "Blip2Processor"
    prompt = "a photo of"
    # The BLIP-2 study's preset (query/key of the bridge, q_proj/k_proj of OPT) as one expression: CLIP names its
    # attention q_proj/k_proj too, and a list of names would adapt the frozen vision tower as well.
    lora_targets = f"({_IFT_LAYERS}|{_OPT_LAYERS})"
    lora_presets = {
        "all-linear": "all-linear",
        "ift-language": f"({_IFT_LAYERS}|{_OPT_LAYERS})",
        "language-only": _OPT_LAYERS,
        "ift-only": _IFT_LAYERS,
    }
    towers = {
        "vision": "vision_model",
        "ift": "ift",
        "projector": "language_projection",
        "language": "language_model",
    }
    bridge_tower = "ift"  # prune_qformer_layers cuts the IFT, which stands where BLIP-2's Q-Former does
    frozen_towers = ("vision", "language")
    prunable = {
        "language": ("language_model.model.decoder.layers", ("text_config",)),
        "ift": ("ift.encoder.layer", ("ift_config",)),
    }
    tiny_sizes = (
        _VISION_TINY,
        dict(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2, word_embed_proj_dim=32),
        dict(
            num_query_tokens=4,
            ift=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
            freeze_vision=False,  # a tiny model's towers are random, not pretrained: nothing to keep frozen
            freeze_language=False,
        ),
    )
    tokenizer_template = "<bos> $A"
    caption_eos = True
    generation_defaults = GENERATION_DEFAULTS
    # Real shape of the RSICD release (reference/bita_checkpoint.json), random weights.
    shapes = {
        "bita-opt-2.7b": dict(
            image_size=224,
            vocab_size=OPT_VOCAB_SIZE,
            vision=dict(
                hidden_size=1024, intermediate_size=4096, num_hidden_layers=21, num_attention_heads=16, patch_size=14
            ),
            text=OPT_2_7B,
            extra=dict(
                num_query_tokens=32,
                ift=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
                freeze_vision=True,  # as the release fine-tunes (the tiny sizes above turn it off)
                freeze_language=True,
            ),
        )
    }
    convert_options = {
        "vision": "OpenAI CLIP ViT-L/14 for the frozen vision tower: a folder or hub id in transformers' layout "
        "(default openai/clip-vit-large-patch14)",
        "language": "OPT-2.7B for the frozen language model and its tokenizer: a folder or hub id "
        "(default facebook/opt-2.7b)",
    }

    def register(self) -> None:
        from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor, Blip2Processor

        from rsic_core.models.families.bita.configuration import BitaConfig, BitaIftConfig
        from rsic_core.models.families.bita.modeling import BitaForConditionalGeneration

        AutoConfig.register("bita", BitaConfig, exist_ok=True)
        AutoConfig.register("bita_ift", BitaIftConfig, exist_ok=True)
        AutoProcessor.register(BitaConfig, Blip2Processor, exist_ok=True)
        AutoModelForImageTextToText.register(BitaConfig, BitaForConditionalGeneration, exist_ok=True)

    def model_cls(self):
        from rsic_core.models.families.bita.modeling import BitaForConditionalGeneration

        return BitaForConditionalGeneration

    def tiny_tokenizer(self, captions: list[str], vocab_size: int):
        """Byte-level BPE as OPT's, with BOS first and the newline token as EOS (as BITA stops at "\\n")."""
        tokenizer = super().tiny_tokenizer(captions, vocab_size)
        return newline_eos(tokenizer)

    def tiny_processor(self, tokenizer, vision, extra):
        return make_processor(tokenizer, vision["image_size"], extra["num_query_tokens"])

    def frozen_towers_of(self, config) -> tuple[str, ...]:
        flags = (("vision", "freeze_vision"), ("language", "freeze_language"))
        return tuple(tower for tower, flag in flags if getattr(config, flag, True))

    def tiny_config(self, processor, vision, text, extra):
        from transformers import CLIPVisionConfig, OPTConfig

        from rsic_core.models.families.bita.configuration import BitaConfig, BitaIftConfig

        extra = dict(extra)
        return BitaConfig(
            vision_config=CLIPVisionConfig(**vision),
            ift_config=BitaIftConfig(**extra.pop("ift")),
            text_config=OPTConfig(**text),
            image_token_index=image_token_id(processor),
            **extra,
        )

    def convert(self, checkpoint: str | Path, out: str | Path | None, check_only: bool = False, **options) -> str:
        """``rsic convert bita-opt CHECKPOINT.pth --out DIR [--vision ID_OR_DIR] [--language ID_OR_DIR]``.

        See :mod:`rsic_core.models.families.bita.convert` for the key mapping and what is checked.
        """
        from rsic_core.models.families.bita.convert import convert_checkpoint

        return convert_checkpoint(self, checkpoint, out, check_only=check_only, **options)

    def grounding_methods(self):
        return ("attention",)

    def grounding_maps(self, captioner, inputs, sequences, positions, method):
        """OPT's attention rollout over the query tokens, times the IFT's cross-attention from the queries to the
        CLIP patches (heads and layers averaged; a CLS column, when the grid is one short of a square, left out)."""
        import math

        import torch

        from rsic_core.models import grounding

        model = captioner.model
        out = model(
            pixel_values=inputs["pixel_values"],
            input_ids=sequences,
            attention_mask=torch.ones_like(sequences),
            output_attentions=True,
        )
        queries = (sequences[0] == model.config.image_token_index).nonzero().flatten()
        flow = grounding.rollout(out.language_model_outputs.attentions)[[p - 1 for p in positions]][:, queries]
        maps = flow @ grounding.head_mean(out.ift_outputs.cross_attentions)
        side = math.isqrt(maps.shape[-1])
        return grounding.square_grid(maps[:, 1:] if side * side != maps.shape[-1] else maps)


def newline_eos(tokenizer):
    """``tokenizer`` (byte-level BPE) with its newline token as EOS, as BITA ends captions."""
    if tokenizer.convert_tokens_to_ids(NEWLINE) in (None, tokenizer.unk_token_id):
        raise ValueError("the tokenizer has no byte-level newline token (Ċ); BITA needs OPT's GPT-2 BPE tokenizer")
    tokenizer.add_special_tokens({"eos_token": NEWLINE})
    return tokenizer


def make_processor(tokenizer, image_size: int = 224, num_query_tokens: int = 32):
    """BITA's processor: ``image_size`` px bicubic, CLIP mean/std, ``num_query_tokens`` image placeholders."""
    from transformers import Blip2Processor, BlipImageProcessorPil

    image_processor = BlipImageProcessorPil(size={"height": image_size, "width": image_size})  # bicubic, CLIP mean/std
    return Blip2Processor(image_processor=image_processor, tokenizer=tokenizer, num_query_tokens=num_query_tokens)


def image_token_id(processor) -> int:
    token = processor.image_token
    return processor.tokenizer.convert_tokens_to_ids(str(getattr(token, "content", token)))
