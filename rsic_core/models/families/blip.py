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

    def grounding_methods(self):
        return ("attention", "grad_x_act")

    def grounding_maps(self, captioner, inputs, sequences, positions, method):
        """The text decoder's cross-attention over the ViT patches (its CLS token left out)."""
        import torch

        from rsic_core.models import grounding

        model = captioner.model
        with grounding.captured(model.vision_model) as features:
            image = model.vision_model(pixel_values=inputs["pixel_values"])[0]
        out = model.text_decoder(
            input_ids=sequences,
            attention_mask=torch.ones_like(sequences),
            encoder_hidden_states=image,
            output_attentions=method == "attention",
            return_dict=True,
        )
        if method == "attention":  # the position before a token is the one that generated it
            maps = grounding.head_mean(out.cross_attentions)[[p - 1 for p in positions]][:, 1:]
        else:
            maps = grounding.grad_x_act(
                features[0], grounding.token_scores(out.logits, sequences[0].tolist(), positions)
            )
            maps = maps[:, 1:]
        return grounding.square_grid(maps)

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
