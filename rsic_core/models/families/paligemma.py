"""PaliGemma and PaliGemma 2: a SigLIP vision tower, a linear projector and a Gemma (2) decoder.

The two differ only in the decoder (Gemma vs Gemma 2: ``config.text_config.model_type``), so
:class:`PaliGemma2` is :class:`PaliGemma` with another name, decoder, tiny sizes and real shape.
Inputs go through the processor's ``suffix=``: it masks image, BOS and prompt tokens in the labels.
"""

from __future__ import annotations

from rsic_core.models.base import Family

_SIGLIP_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=8)
_GEMMA_TINY = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=16
)


class PaliGemma(Family):
    """PaliGemma (Gemma decoder)."""

    name = "paligemma"
    title = "PaliGemma"
    example = "google/paligemma-3b-pt-224"
    model_type = "paligemma"
    model_class = "PaliGemmaForConditionalGeneration"
    processor_class = "PaliGemmaProcessor"
    prompt = "caption en"
    lora_targets = ("q_proj", "v_proj")
    lora_presets = {"all-linear": "all-linear", "language-only": r".*language_model.*\.(q_proj|v_proj)"}
    towers = {
        "vision": "model.vision_tower",
        "projector": "model.multi_modal_projector",
        "language": "model.language_model",
    }
    prunable = {"language": ("model.language_model.layers", ("text_config",))}
    tiny_sizes = (_SIGLIP_TINY, _GEMMA_TINY, {})
    gemma2 = False  # the decoder is Gemma 2

    def matches(self, config) -> bool:
        if getattr(config, "model_type", None) != self.model_type:
            return False
        text_type = getattr(getattr(config, "text_config", None), "model_type", "gemma")
        return (text_type == "gemma2") == self.gemma2

    def build_inputs(self, processor, images, captions, prompt):
        text = [f"{processor.image_token}{prompt or ''}"] * len(images)
        kwargs = {"suffix": captions} if captions is not None else {}
        # token_type_ids stay in for generation too: they make the prompt attend both ways, as in training. Without
        # them the prompt attended causally with eager attention, a static cache or padded rows, and both ways
        # only with sdpa on unpadded rows.
        return processor(images=images, text=text, return_tensors="pt", padding="longest", **kwargs)

    def grounding_methods(self):
        return ("lens", "attention", "grad_x_act")  # lens first: see rsic_core.models.grounding (pointing game)

    def grounding_maps(self, captioner, inputs, sequences, positions, method):
        """Decoder-only: the image tokens sit in the sequence (``image_token_index``), one per patch, row by row."""
        import torch

        from rsic_core.models import grounding

        model = captioner.model
        ids = sequences[0].tolist()
        image = (sequences[0] == model.config.image_token_index).nonzero().flatten()
        with grounding.captured(model.model.multi_modal_projector) as features:
            out = model(
                input_ids=sequences,
                attention_mask=torch.ones_like(sequences),
                pixel_values=inputs["pixel_values"],
                output_attentions=method == "attention",
                output_hidden_states=method == "lens",
            )
        if method == "attention":  # the position before a token is the one that generated it
            maps = grounding.rollout(out.attentions)[[p - 1 for p in positions]][:, image]
        elif method == "grad_x_act":
            maps = grounding.grad_x_act(features[0], grounding.token_scores(out.logits, ids, positions))
        else:  # lens: the image embeddings the decoder receives, through its final norm and output embedding
            embedded = model.model.language_model.norm(out.hidden_states[0][0, image])
            maps = model.lm_head.weight[[ids[p] for p in positions]] @ embedded.T
        return grounding.square_grid(maps)

    def tiny_processor(self, tokenizer, vision, extra):
        from transformers import PaliGemmaProcessor, SiglipImageProcessorPil

        size = vision["image_size"]
        image_processor = SiglipImageProcessorPil(
            size={"height": size, "width": size}, image_seq_length=(size // vision["patch_size"]) ** 2
        )
        return PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)

    def tiny_config(self, processor, vision, text, extra):
        from transformers import Gemma2Config, GemmaConfig, PaliGemmaConfig, SiglipVisionConfig

        text_config = (Gemma2Config if self.gemma2 else GemmaConfig)(**text)
        return PaliGemmaConfig(
            vision_config=SiglipVisionConfig(projection_dim=text["hidden_size"], **vision),
            text_config=text_config,
            image_token_index=processor.image_token_id,
            projection_dim=text["hidden_size"],
            **extra,
        )


class PaliGemma2(PaliGemma):
    """PaliGemma 2 (Gemma 2 decoder)."""

    name = "paligemma2"
    title = "PaliGemma 2"
    example = "google/paligemma2-3b-pt-224"
    gemma2 = True
    tiny_sizes = (_SIGLIP_TINY, dict(_GEMMA_TINY, query_pre_attn_scalar=16), {})
    # Real shape (public config of the checkpoint), random weights.
    shapes = {
        "paligemma2-3b-224": dict(
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
        )
    }
