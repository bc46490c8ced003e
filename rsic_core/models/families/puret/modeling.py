"""PureT: a frozen Swin backbone, ``att_embed``, a refining encoder and a caption decoder.

Written from the facts of the released COCO checkpoint (``../shared/reference/puret_checkpoint.json``);
module names follow the release's keys outside the backbone (``att_embed.0``,
``encoder.layers.N.encoder_attn.q_linear``, ``decoder.layers.N.fuse_layer.0``, ``decoder.generator``...)
and transformers' ``SwinModel`` names inside it (see :mod:`.convert` for the mapping).

- **Backbone**: transformers' ``SwinModel`` (or ``ResNetModel``, its feature map read as grid tokens); its ``last_hidden_state`` is already after the final
  LayerNorm, as the release's backbone output is (12 x 12 tokens x 1536 for Swin-L at 384 px).
  Frozen by default (``freeze_backbone``).
- **att_embed**: Linear -> CELU(1.3) -> Dropout(0.1).
- **Refining encoder**: window attention (window 6 on the grid, the layers in ``shifted_layers``
  shifted by 3 with -1e9 masks between regions, relative position bias), post-LN, FFN with ReLU.
  A global token ``gx`` (the mean of the grid) joins every window's attention as one more token;
  its outputs from the windows are averaged into the new ``gx``, which goes through the layer's
  LayerNorms and FFN with the grid tokens. The memory handed to the decoder is ``[grid; gx]``.
- **Decoder**: word embedding x sqrt(d) + a frozen sinusoid table (row 0 zero, positions start at 1,
  pads take row 0); each layer first fuses gx, ``LN(x + Dropout(ReLU(Linear([x; gx]))))``, then
  causal self-attention, cross-attention over the memory (144 grid tokens + gx), an FFN; post-LN.
  ``generator`` (Linear with bias, not tied) gives the logits.

**Training.** ``labels`` are aligned with ``input_ids`` as for causal language models (the model
shifts them: the logits at position t score the label at t + 1). The loss is cross-entropy with
``config.label_smoothing`` (0.1 as released) in training mode and plain cross-entropy in eval mode,
so validation losses compare with the other families'. A training run of this project computes its
loss from the logits with the run's ``label_smoothing_factor`` (:mod:`rsic_core.training.losses`).

**Generation** goes through transformers' ``generate`` (greedy, beam search, min/max tokens):
:meth:`PuretForCaptioning.generate` encodes the images once and hands the memory to the decoder as
``encoder_hidden_states`` at every step (no KV cache: the captions are short). Every caption starts
with id 0 (BOS = EOS) and ends at the next id 0. The release decodes at most 17 steps, EOS included:
``max_new_tokens=17``. With ``output_attentions=True, return_dict_in_generate=True`` the output has
``cross_attentions``: one tuple per generated token, each one tensor per decoder layer of shape
``[num_sequences, heads, 1, grid + 1]`` (the last memory slot is gx), the weights with which the
query that produced that token looked at the memory, for each *returned* sequence (not beam slot).

What differs from the release: the module names of the backbone (transformers' Swin), the encoder's
``attn_mask``/``relative_position_index`` and Swin's buffers are rebuilt from the config rather than
stored, and the model returns logits (the release returns log-softmax).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel, ResNetModel, SwinModel
from transformers import initialization as init
from transformers.generation.utils import (
    GenerateBeamDecoderOnlyOutput,
    GenerateBeamEncoderDecoderOutput,
    GenerateEncoderDecoderOutput,
)
from transformers.modeling_outputs import BaseModelOutput, CausalLMOutputWithCrossAttentions

from .configuration import PuretConfig
from .layers import (
    PuretAttention,
    PuretDecoder,
    PuretEncoder,
    PuretEncoderLayer,
    PuretPositions,
    relative_index,
    shift_mask,
    sinusoid_table,
)

IGNORE_INDEX = -100


class PuretPreTrainedModel(PreTrainedModel):
    """Weight initialisation and the transformers plumbing of PureT."""

    config: PuretConfig
    config_class = PuretConfig
    base_model_prefix = "puret"
    main_input_name = "pixel_values"
    input_modalities = ("image", "text")
    _no_split_modules = ["PuretEncoderLayer", "PuretDecoderLayer", "SwinStage"]

    @torch.no_grad()
    def _init_weights(self, module):
        from transformers.models.swin.modeling_swin import SwinEmbeddings, SwinRelativePositionBias

        if isinstance(module, PuretPositions):
            init.copy_(module.weight, sinusoid_table(*module.weight.shape))
            return
        super()._init_weights(module)
        if isinstance(module, SwinRelativePositionBias):
            init.zeros_(module.relative_position_bias_table)
            init.copy_(module.relative_position_index, module._create_relative_position_index().view(-1))
        elif isinstance(module, SwinEmbeddings) and module.mask_token is not None:
            init.zeros_(module.mask_token)
        elif isinstance(module, PuretAttention) and module.window:
            init.trunc_normal_(module.relative_position_bias_table, std=0.02)
            init.copy_(module.relative_position_index, relative_index(module.window))
        elif isinstance(module, PuretEncoderLayer) and module.shift:
            init.copy_(module.attn_mask, shift_mask(module.side, module.window, module.shift))


class PuretForCaptioning(PuretPreTrainedModel, GenerationMixin):
    """PureT: ``pixel_values`` (and caption ``input_ids``) in, word logits out; ``generate`` writes captions."""

    main_input_name = "input_ids"  # what generate continues (the images' memory rides along as a model kwarg)

    def __init__(self, config: PuretConfig):
        super().__init__(config)
        if config.backbone_config.model_type == "resnet":
            self.backbone = ResNetModel(config.backbone_config)
        else:
            self.backbone = SwinModel(config.backbone_config, add_pooling_layer=False)
        self.att_embed = nn.Sequential(
            nn.Linear(config.backbone_width(), config.hidden_size),
            nn.CELU(config.celu_alpha),
            nn.Dropout(config.dropout),
        )
        self.encoder = PuretEncoder(config)
        self.decoder = PuretDecoder(config)
        self.post_init()
        if config.freeze_backbone:
            self.backbone.requires_grad_(False)
        self.generation_config.use_cache = False  # no KV cache: each step runs the decoder over the caption so far

    def get_input_embeddings(self):
        return self.decoder.word_embed

    def get_output_embeddings(self):
        return self.decoder.generator

    def encode_images(self, pixel_values, output_attentions: bool = False) -> BaseModelOutput:
        """The decoder's memory ``[B, grid + 1, d]``: the refined grid tokens and gx last."""
        grid = self.backbone(pixel_values=pixel_values.to(self.dtype)).last_hidden_state  # after Swin's final norm
        if grid.dim() == 4:  # a ResNet's feature map [B, C, H, W] -> row-major grid tokens [B, H*W, C]
            grid = grid.flatten(2).transpose(1, 2)
        return self.encoder(self.att_embed(grid), output_attentions=output_attentions)

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        pixel_values=None,
        encoder_hidden_states=None,
        labels=None,
        logits_to_keep: int = 0,
        output_attentions: bool | None = None,
        num_items_in_batch=None,
        **kwargs,
    ) -> CausalLMOutputWithCrossAttentions:
        """Logits for every caption position (the last ``logits_to_keep`` only, when given) and the loss for ``labels``.

        Raises:
            ValueError: neither ``pixel_values`` nor ``encoder_hidden_states``, or no ``input_ids``.
        """
        if encoder_hidden_states is None:
            if pixel_values is None:
                raise ValueError("PureT needs pixel_values (or the encoder_hidden_states of encode_images)")
            encoder_hidden_states = self.encode_images(pixel_values).last_hidden_state
        if input_ids is None:
            raise ValueError("PureT needs input_ids: the caption so far, starting with id 0 (BOS)")
        logits, self_weights, cross_weights = self.decoder(
            input_ids, encoder_hidden_states, attention_mask, logits_to_keep
        )
        loss = None if labels is None else self.caption_loss(logits, labels, num_items_in_batch)
        keep = bool(output_attentions)
        return CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            attentions=self_weights if keep else None,
            cross_attentions=cross_weights if keep else None,
        )

    def caption_loss(self, logits, labels, num_items_in_batch=None):
        """Cross-entropy of the logit at t against the label at t + 1 (label smoothing in training mode only)."""
        labels = labels[:, -logits.shape[1] :].to(logits.device)
        logits, targets = logits[:, :-1], labels[:, 1:]
        smoothing = float(self.config.label_smoothing) if self.training else 0.0
        total = F.cross_entropy(
            logits.float().flatten(0, 1),
            targets.flatten(),
            ignore_index=IGNORE_INDEX,
            label_smoothing=smoothing,
            reduction="sum",
        )
        count = (targets != IGNORE_INDEX).sum() if num_items_in_batch is None else num_items_in_batch
        return total / (count.to(total.device) if hasattr(count, "to") else count)

    def prepare_inputs_for_generation(self, input_ids, attention_mask=None, encoder_hidden_states=None, **kwargs):
        """The whole caption so far at every step (no cache), with the images' memory."""
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "encoder_hidden_states": encoder_hidden_states,
        }

    @torch.no_grad()
    def generate(self, pixel_values=None, encoder_hidden_states=None, input_ids=None, attention_mask=None, **kwargs):
        """transformers' ``generate`` over the images' memory (encoded once); captions start with id 0.

        Args:
            pixel_values: ``[B, 3, H, W]`` (or ``encoder_hidden_states`` from :meth:`encode_images`).
            input_ids (None): the start of each caption (default: BOS, id 0).
            **kwargs: ``generate`` options (``num_beams``, ``max_new_tokens``, ``output_attentions``...).

        Returns:
            What ``generate`` returns; with ``output_attentions`` and ``return_dict_in_generate`` also
            ``cross_attentions`` (see the module docstring).
        """
        if encoder_hidden_states is None:
            if pixel_values is None:
                raise ValueError("PureT's generate needs pixel_values (or encoder_hidden_states)")
            encoder_hidden_states = self.encode_images(pixel_values).last_hidden_state
        if input_ids is None:
            start = self.config.bos_token_id if self.config.bos_token_id is not None else 0
            input_ids = torch.full((encoder_hidden_states.shape[0], 1), start, device=encoder_hidden_states.device)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = super().generate(
            input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=encoder_hidden_states, **kwargs
        )
        if kwargs.get("output_attentions") and kwargs.get("return_dict_in_generate"):
            out = self._with_cross_attentions(out, encoder_hidden_states, input_ids.shape[1])
        return out

    def _with_cross_attentions(self, out, memory, prompt: int):
        """``out`` as an encoder-decoder generate output whose ``cross_attentions`` hold each token's weights."""
        sequences = out.sequences
        memory = memory.repeat_interleave(sequences.shape[0] // memory.shape[0], dim=0)
        weights = self(input_ids=sequences, encoder_hidden_states=memory, output_attentions=True).cross_attentions
        steps = tuple(tuple(w[:, :, t : t + 1] for w in weights) for t in range(prompt - 1, sequences.shape[1] - 1))
        fields = dict(
            sequences=sequences,
            scores=out.scores,
            logits=out.logits,
            decoder_attentions=out.attentions,
            cross_attentions=steps,
            decoder_hidden_states=out.hidden_states,
        )
        if isinstance(out, GenerateBeamDecoderOnlyOutput):
            return GenerateBeamEncoderDecoderOutput(
                **fields, sequences_scores=out.sequences_scores, beam_indices=out.beam_indices
            )
        return GenerateEncoderDecoderOutput(**fields)
