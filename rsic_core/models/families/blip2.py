"""BLIP-2 with an OPT decoder: a ViT-g vision tower, a Q-Former, a projection and OPT.

The processor puts ``num_query_tokens`` image tokens before the text; training rows are
``prompt caption<eos>`` (the tokenizer adds BOS only), labelled by the shared default of
:class:`~rsic_core.models.base.Family`. The vision tower has a fused ``qkv``: LoRA presets name the
Q-Former's ``query``/``key`` and OPT's ``q_proj``/``k_proj``. Pruning may cut the Q-Former and the
OPT decoder (the BLIP-2 remote-sensing study).
"""

from __future__ import annotations

from rsic_core.models.backbones import OPT_2_7B, OPT_VOCAB_SIZE
from rsic_core.models.base import Family

_VISION_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=8)


class Blip2Opt(Family):
    """BLIP-2 (OPT)."""

    name = "blip2-opt"
    title = "BLIP-2 (OPT)"
    example = "Salesforce/blip2-opt-2.7b"
    model_type = "blip-2"
    model_class = "Blip2ForConditionalGeneration"
    processor_class = "Blip2Processor"
    lora_targets = ("q_proj", "k_proj", "query", "key")
    lora_presets = {"all-linear": "all-linear", "language-only": ["q_proj", "k_proj"]}
    towers = {
        "vision": "vision_model",
        "qformer": "qformer",
        "projector": "language_projection",
        "language": "language_model",
    }
    prunable = {
        "language": ("language_model.model.decoder.layers", ("text_config",)),
        "qformer": ("qformer.encoder.layer", ("qformer_config",)),
    }
    tiny_sizes = (
        _VISION_TINY,
        dict(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2, word_embed_proj_dim=32),
        dict(
            num_query_tokens=4,
            qformer=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
        ),
    )
    tokenizer_template = "<bos> $A"
    caption_eos = True
    # Real shape (public config of the checkpoint), random weights.
    shapes = {
        "blip2-opt-2.7b": dict(
            image_size=224,
            vocab_size=OPT_VOCAB_SIZE,
            vision=dict(
                hidden_size=1408, intermediate_size=6144, num_hidden_layers=39, num_attention_heads=16, patch_size=14
            ),
            text=OPT_2_7B,
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
        )
    }

    def grounding_methods(self):
        return ("attention", "grad_x_act")

    def grounding_maps(self, captioner, inputs, sequences, positions, method):
        """OPT's attention rollout over the query tokens, times the Q-Former's cross-attention from each query to
        the patches (heads and cross-attention layers averaged; the vision CLS token left out)."""
        import torch

        from rsic_core.models import grounding

        model = captioner.model
        with grounding.captured(model.vision_model) as features:
            out = model(
                pixel_values=inputs["pixel_values"],
                input_ids=sequences,
                attention_mask=torch.ones_like(sequences),
                output_attentions=method == "attention",
                return_dict=True,
            )
        if method == "attention":
            queries = (sequences[0] == model.config.image_token_index).nonzero().flatten()
            flow = grounding.rollout(out.language_model_outputs.attentions)[[p - 1 for p in positions]][:, queries]
            maps = flow @ grounding.head_mean(self._query_attention(model, inputs["pixel_values"]))[:, 1:]
        else:
            maps = grounding.grad_x_act(
                features[0], grounding.token_scores(out.logits, sequences[0].tolist(), positions)
            )
            maps = maps[:, 1:]
        return grounding.square_grid(maps)

    @staticmethod
    def _query_attention(model, pixel_values):
        """The Q-Former's cross-attention from its queries to the image (its forward inside the model's does not
        return it)."""
        import torch

        image = model.vision_model(pixel_values=pixel_values)[0]
        queries = model.query_tokens.expand(image.shape[0], -1, -1)
        mask = torch.ones(image.shape[:-1], dtype=torch.long, device=image.device)
        out = model.qformer(
            query_embeds=queries, encoder_hidden_states=image, encoder_attention_mask=mask, output_attentions=True
        )
        return out.cross_attentions

    def tiny_processor(self, tokenizer, vision, extra):
        from transformers import Blip2Processor, BlipImageProcessorPil

        image_processor = BlipImageProcessorPil(size={"height": vision["image_size"], "width": vision["image_size"]})
        return Blip2Processor(
            image_processor=image_processor, tokenizer=tokenizer, num_query_tokens=extra["num_query_tokens"]
        )

    def tiny_config(self, processor, vision, text, extra):
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
