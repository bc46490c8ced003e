"""BITA (OPT) as a transformers model: CLIP vision tower, ``ln_vision``, IFT, ``language_projection``, OPT.

The image goes through CLIP's first ``vision_config.num_hidden_layers`` blocks (21 of ViT-L/14's 24 in the
release) without CLIP's final LayerNorm: all tokens (CLS + patches) of the last kept block, then
``ln_vision``. The IFT's learned queries read them (:mod:`.ift`); ``language_projection`` (the release's
``opt_proj``) maps the queries into OPT's embedding space, where they replace the image placeholder tokens
that the processor puts before ``BOS prompt``, exactly as transformers' BLIP-2 does.

``model(..., output_attentions=True)`` returns :class:`BitaForConditionalGenerationModelOutput` with
``ift_outputs.cross_attentions`` (one [batch, heads, queries, image tokens] tensor per IFT layer) and
``language_model_outputs.attentions`` (one [batch, heads, positions, positions] tensor per OPT layer; the
queries sit at the positions where ``input_ids == config.image_token_index``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForCausalLM, CLIPVisionModel, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    BaseModelOutputWithPoolingAndCrossAttentions,
    CausalLMOutputWithPast,
)
from transformers.utils import ModelOutput

from rsic_core.models.families.bita.configuration import BitaConfig
from rsic_core.models.families.bita.ift import BitaIftModel


@dataclass
class BitaForConditionalGenerationModelOutput(ModelOutput):
    """What :meth:`BitaForConditionalGeneration.forward` returns (the layout of BLIP-2's output).

    Attributes:
        loss: language-modelling loss over the labelled positions (when ``labels`` are given).
        logits: [batch, positions, vocab] of the language model (query positions included).
        vision_outputs: CLIP's output (``last_hidden_state`` before ``ln_vision``; ``attentions`` when asked).
        ift_outputs: the IFT's output (``last_hidden_state`` = the queries; ``cross_attentions`` when asked).
        language_model_outputs: OPT's output (``attentions`` when asked).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    vision_outputs: BaseModelOutputWithPooling | None = None
    ift_outputs: BaseModelOutputWithPoolingAndCrossAttentions | None = None
    language_model_outputs: CausalLMOutputWithPast | None = None

    def to_tuple(self) -> tuple[Any]:
        nested = ("vision_outputs", "ift_outputs", "language_model_outputs")
        return tuple(self[k] if k not in nested else getattr(self, k).to_tuple() for k in self.keys())


class BitaVisionModel(CLIPVisionModel):
    """CLIP's vision transformer without its final LayerNorm (the release feeds all tokens of its last block on)."""

    def __init__(self, config):
        super().__init__(config)
        self.post_layernorm = nn.Identity()


class BitaPreTrainedModel(PreTrainedModel):
    config: BitaConfig
    config_class = BitaConfig
    base_model_prefix = "bita"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["CLIPEncoderLayer", "BitaIftLayer", "OPTDecoderLayer"]
    _skip_keys_device_placement = ["past_key_values"]

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, BitaForConditionalGeneration):
            init.normal_(module.query_tokens, mean=0.0, std=self.config.initializer_range)


class BitaForConditionalGeneration(BitaPreTrainedModel, GenerationMixin):
    """BITA: caption an image by feeding OPT ``[projected IFT queries; BOS prompt]``."""

    main_input_name = "pixel_values"

    def __init__(self, config: BitaConfig):
        super().__init__(config)
        self.vision_model = BitaVisionModel._from_config(config.vision_config)
        self.ln_vision = nn.LayerNorm(config.vision_config.hidden_size)
        self.query_tokens = nn.Parameter(torch.zeros(1, config.num_query_tokens, config.ift_config.hidden_size))
        self.ift = BitaIftModel(config.ift_config)
        self.language_projection = nn.Linear(config.ift_config.hidden_size, config.text_config.hidden_size)
        self.language_model = AutoModelForCausalLM.from_config(config.text_config)
        self.post_init()
        self.freeze_towers()

    def freeze_towers(self) -> None:
        """``requires_grad=False`` on the vision tower and OPT as ``config.freeze_vision/freeze_language`` say."""
        for flag, tower in (
            (self.config.freeze_vision, self.vision_model),
            (self.config.freeze_language, self.language_model),
        ):
            if flag:
                tower.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """transformers' ``from_pretrained``, then :meth:`freeze_towers` (loading makes every parameter trainable)."""
        loaded = super().from_pretrained(*args, **kwargs)
        (loaded[0] if isinstance(loaded, tuple) else loaded).freeze_towers()
        return loaded

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value) -> None:
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.language_model.get_output_embeddings()

    def set_output_embeddings(self, new_embeddings) -> None:
        self.language_model.set_output_embeddings(new_embeddings)

    def get_image_features(self, pixel_values: torch.Tensor, output_attentions: bool = False):
        """(vision output, IFT output, projected queries [batch, queries, text hidden]) for ``pixel_values``."""
        vision_dtype = self.vision_model.embeddings.patch_embedding.weight.dtype
        vision_outputs = self.vision_model(
            pixel_values=pixel_values.to(vision_dtype), output_attentions=output_attentions
        )
        image_embeds = self.ln_vision(vision_outputs.last_hidden_state.to(self.ln_vision.weight.dtype))
        queries = self.query_tokens.expand(image_embeds.shape[0], -1, -1)
        ift_outputs = self.ift(queries, image_embeds.to(queries.dtype), output_attentions=output_attentions)
        projected = self.language_projection(ift_outputs.last_hidden_state.to(self.language_projection.weight.dtype))
        return vision_outputs, ift_outputs, projected

    def _merge_queries(self, input_ids: torch.LongTensor, projected: torch.Tensor) -> torch.Tensor:
        """OPT's input embeddings of ``input_ids`` with the image placeholders replaced by the projected queries."""
        inputs_embeds = self.get_input_embeddings()(input_ids)
        mask = (input_ids == self.config.image_token_index).unsqueeze(-1)
        found, expected = int(mask.sum()), projected.shape[0] * projected.shape[1]
        if found != expected:
            raise ValueError(
                f"input_ids hold {found} image placeholder tokens but the images give {expected} query embeddings "
                f"({self.config.num_query_tokens} per image); build the inputs with the model's processor"
            )
        return inputs_embeds.masked_scatter(mask.to(inputs_embeds.device), projected.to(inputs_embeds.dtype))

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.LongTensor,
        attention_mask: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> BitaForConditionalGenerationModelOutput:
        """Logits (and the loss over ``labels``, shifted inside) for images and ``[placeholders; BOS prompt caption]``.

        Args:
            pixel_values: [batch, 3, size, size] from the processor.
            input_ids: [batch, positions] with ``num_query_tokens`` image placeholders per row.
            attention_mask (None): 1 for real tokens (placeholders included).
            labels (None): ids to predict, -100 where no loss is wanted (placeholders, pads, prompt).
            output_attentions (None): return the IFT's cross-attentions and OPT's attentions (see the module doc).
            output_hidden_states (None): return hidden states of the three parts.
        """
        if output_attentions and self.language_model.config._attn_implementation != "eager":
            raise ValueError(
                "attention weights need eager attention (sdpa computes none): call "
                "model.set_attn_implementation('eager') first, or load the model with attn_implementation='eager'"
            )
        vision_outputs, ift_outputs, projected = self.get_image_features(pixel_values, bool(output_attentions))
        inputs_embeds = self._merge_queries(input_ids, projected)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        outputs = self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **kwargs,
        )
        loss = None
        if labels is not None:
            loss = self.loss_function(
                logits=outputs.logits,
                labels=labels.to(outputs.logits.device),
                vocab_size=self.config.text_config.vocab_size,
            )
        return BitaForConditionalGenerationModelOutput(
            loss=loss,
            logits=outputs.logits,
            vision_outputs=vision_outputs,
            ift_outputs=ift_outputs,
            language_model_outputs=outputs,
        )

    @torch.no_grad()
    def generate(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        **generate_kwargs,
    ) -> torch.LongTensor:
        """OPT's ``generate`` (greedy, beam search...) continuing ``[queries; BOS prompt]``; returns input ids + new ids.

        Without ``input_ids`` it starts from the placeholders and BOS. The model's own ``generation_config``
        (saved beside the weights) is used unless one is passed; keyword arguments override it.
        """
        _, _, projected = self.get_image_features(pixel_values)
        if input_ids is None:
            start = [self.config.image_token_index] * self.config.num_query_tokens + [
                self.config.text_config.bos_token_id
            ]
            input_ids = torch.tensor([start], dtype=torch.long, device=projected.device).repeat(projected.shape[0], 1)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        config = copy.deepcopy(generate_kwargs.pop("generation_config", None) or self.generation_config)
        others = config.update(
            **generate_kwargs
        )  # generation settings go into the config, the rest (streamer...) stays
        return self.language_model.generate(
            input_ids=input_ids,
            inputs_embeds=self._merge_queries(input_ids, projected),
            attention_mask=attention_mask,
            generation_config=config,
            **others,
        )
