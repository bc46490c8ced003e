"""BLIP (captioning): a ViT vision tower and a BERT-style text decoder with cross-attention.

Training rows are ``[bos] prompt caption [sep]`` (the tokenizer adds both), labelled by the shared
default of :class:`~rsic_core.models.base.Family`. LoRA presets reach the text decoder only.
"""

from __future__ import annotations

from rsic_core.models.base import Family

_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)


class Blip(Family):
    """BLIP."""

    name = "blip"
    title = "BLIP"
    example = "Salesforce/blip-image-captioning-base"
    model_type = "blip"
    model_class = "BlipForConditionalGeneration"
    processor_class = "BlipProcessor"
    lora_targets = ("query", "value")
    towers = {"vision": "vision_model", "language": "text_decoder"}
    prunable = {"language": ("text_decoder.bert.encoder.layer", ("text_config",))}
    tiny_sizes = (dict(_TINY, patch_size=8), dict(_TINY), {})
    tokenizer_template = "<bos> $A <eos>"

    def decode(self, processor, sequences, prompt_length):
        if prompt_length:
            prompt_length -= 1  # BLIP's generate drops the prompt's closing [SEP]
        return super().decode(processor, sequences, prompt_length)

    def tiny_processor(self, tokenizer, vision, extra):
        from transformers import BlipImageProcessorPil, BlipProcessor

        image_processor = BlipImageProcessorPil(size={"height": vision["image_size"], "width": vision["image_size"]})
        return BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)

    def tiny_config(self, processor, vision, text, extra):
        from transformers import BlipConfig, BlipTextConfig, BlipVisionConfig

        text_config = BlipTextConfig(
            encoder_hidden_size=vision["hidden_size"], sep_token_id=text["eos_token_id"], **text
        )
        return BlipConfig(
            vision_config=BlipVisionConfig(**vision),
            text_config=text_config,
            projection_dim=vision["hidden_size"],
            **extra,
        )
