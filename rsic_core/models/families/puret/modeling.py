"""PureT: a frozen Swin backbone, ``att_embed``, a refining encoder and a caption decoder.

Written from the facts of the released COCO checkpoint (``../shared/reference/puret_checkpoint.json``);
module names follow the release's keys outside the backbone (``att_embed.0``,
``encoder.layers.N.encoder_attn.q_linear``, ``decoder.layers.N.fuse_layer.0``, ``decoder.generator``...)
and transformers' ``SwinModel`` names inside it (see :mod:`.convert` for the mapping).

- **Backbone**: transformers' ``SwinModel``; its ``last_hidden_state`` is already after the final
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
so validation losses compare with the other families'.

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

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel, SwinModel
from transformers import initialization as init
from transformers.generation.utils import (
    GenerateBeamDecoderOnlyOutput,
    GenerateBeamEncoderDecoderOutput,
    GenerateEncoderDecoderOutput,
)
from transformers.modeling_outputs import BaseModelOutput, CausalLMOutputWithCrossAttentions

from .configuration import PuretConfig

IGNORE_INDEX = -100
SHIFT_MASK = -1e9  # the release's fill between regions of a shifted window


class PuretAttention(nn.Module):
    """Multi-head attention with separate q/k/v/o projections and, for windows, a relative position bias."""

    def __init__(self, config: PuretConfig, window: int = 0):
        super().__init__()
        d = config.hidden_size
        self.heads = config.num_attention_heads
        self.q_linear, self.k_linear, self.v_linear, self.o_linear = (nn.Linear(d, d) for _ in range(4))
        self.dropout = nn.Dropout(config.dropout)
        self.window = window
        if window:
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, self.heads))
            self.register_buffer("relative_position_index", relative_index(window), persistent=False)

    def position_bias(self) -> torch.Tensor:
        """``[heads, w*w, w*w]`` bias between the tokens of one window."""
        n = self.window * self.window
        return self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)

    def forward(self, query, memory, bias=None, blocked=None):
        """Attention of ``query`` [B, Lq, d] over ``memory`` [B, Lk, d]; returns (output, weights [B, h, Lq, Lk]).

        ``bias`` is added to the scores; ``blocked`` (bool, True = may not attend) is filled with the dtype's minimum.
        """
        b, lq, d = query.shape
        split = lambda t: t.view(b, -1, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_linear(query)), split(self.k_linear(memory)), split(self.v_linear(memory))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        if bias is not None:
            scores = scores + bias
        if blocked is not None:
            scores = scores.masked_fill(blocked, torch.finfo(scores.dtype).min)
        weights = scores.float().softmax(dim=-1).to(q.dtype)
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, lq, d)
        return self.o_linear(out), weights


class PuretFeedForward(nn.Module):
    """fc1 -> ReLU -> Dropout -> fc2 -> Dropout."""

    def __init__(self, config: PuretConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(F.relu(self.fc1(x)))))


def relative_index(window: int) -> torch.Tensor:
    """``[w*w, w*w]`` index into the ``(2w-1)^2`` bias table (Swin's relative position index)."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return rel[..., 0] * (2 * window - 1) + rel[..., 1]


def windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """``[B, H, W, C]`` -> ``[B * nW, w*w, C]`` (batch-major, windows row by row)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, c)


def merge_windows(x: torch.Tensor, batch: int, side: int, window: int) -> torch.Tensor:
    """Inverse of :func:`windows` for a square grid of ``side``."""
    n = side // window
    x = x.view(batch, n, n, window, window, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, side, side, -1)


def shift_mask(side: int, window: int, shift: int) -> torch.Tensor:
    """``[nW, w*w, w*w]``: 0 within a region of a shifted window, -1e9 between regions (Swin's SW-MSA mask)."""
    regions = torch.zeros(1, side, side, 1)
    spans = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    for number, (rows, cols) in enumerate((r, c) for r in spans for c in spans):
        regions[:, rows, cols, :] = number
    labels = windows(regions, window).squeeze(-1)
    return (labels[:, None, :] != labels[:, :, None]).float() * SHIFT_MASK


class PuretEncoderLayer(nn.Module):
    """(Shifted-)window attention with the global token, then the FFN; post-LN."""

    def __init__(self, config: PuretConfig, shifted: bool):
        super().__init__()
        self.side = config.grid_size()
        self.window = min(config.window_size, self.side)
        self.shift = config.shift_size if shifted and self.side > self.window else 0
        self.encoder_attn = PuretAttention(config, window=self.window)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ff_layer = PuretFeedForward(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        if self.shift:
            self.register_buffer("attn_mask", shift_mask(self.side, self.window, self.shift), persistent=False)

    def forward(self, x, gx):
        """``x`` [B, side*side, d], ``gx`` [B, 1, d] -> (x, gx, attention weights [B*nW, h, w*w+1, w*w+1])."""
        b, n, d = x.shape
        grid = x.view(b, self.side, self.side, d)
        if self.shift:
            grid = torch.roll(grid, (-self.shift, -self.shift), (1, 2))
        parts = windows(grid, self.window)
        count = parts.shape[0] // b
        tokens = torch.cat([parts, gx.repeat_interleave(count, dim=0)], dim=1)  # gx joins every window
        bias = F.pad(self.encoder_attn.position_bias(), (0, 1, 0, 1))  # gx has no relative position
        if self.shift:
            bias = bias + F.pad(self.attn_mask, (0, 1, 0, 1)).repeat(b, 1, 1)[:, None]
        out, weights = self.encoder_attn(tokens, tokens, bias=bias)
        grid = merge_windows(out[:, :-1], b, self.side, self.window)
        if self.shift:
            grid = torch.roll(grid, (self.shift, self.shift), (1, 2))
        new_gx = out[:, -1:].view(b, count, d).mean(dim=1, keepdim=True)  # averaged back over the windows
        y = self.layer_norm1(torch.cat([x, gx], 1) + self.dropout(torch.cat([grid.reshape(b, n, d), new_gx], 1)))
        y = self.layer_norm2(y + self.ff_layer(y))
        return y[:, :-1], y[:, -1:], weights


class PuretEncoder(nn.Module):
    """The refining encoder: ``layers`` over the grid and gx (the mean of the grid); memory ``[grid; gx]``."""

    def __init__(self, config: PuretConfig):
        super().__init__()
        shifted = set(config.shifted_layers)
        self.layers = nn.ModuleList(PuretEncoderLayer(config, i in shifted) for i in range(config.num_encoder_layers))

    def forward(self, x, output_attentions: bool = False) -> BaseModelOutput:
        gx = x.mean(dim=1, keepdim=True)
        attentions = []
        for layer in self.layers:
            x, gx, weights = layer(x, gx)
            attentions.append(weights)
        return BaseModelOutput(
            last_hidden_state=torch.cat([x, gx], dim=1), attentions=tuple(attentions) if output_attentions else None
        )


class PuretDecoderLayer(nn.Module):
    """gx fusion, causal self-attention, cross-attention over the memory, FFN; post-LN."""

    def __init__(self, config: PuretConfig):
        super().__init__()
        d, eps = config.hidden_size, config.layer_norm_eps
        self.word_attn = PuretAttention(config)
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.cross_att = PuretAttention(config)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)
        self.ff_layer = PuretFeedForward(config)
        self.layer_norm3 = nn.LayerNorm(d, eps=eps)
        self.fuse_layer = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Dropout(config.dropout))
        self.fuse_layer_norm = nn.LayerNorm(d, eps=eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x, memory, blocked):
        gx = memory[:, -1:].expand(-1, x.shape[1], -1)
        x = self.fuse_layer_norm(x + self.fuse_layer(torch.cat([x, gx], dim=-1)))
        out, self_weights = self.word_attn(x, x, blocked=blocked)
        x = self.layer_norm1(x + self.dropout(out))
        out, cross_weights = self.cross_att(x, memory)
        x = self.layer_norm2(x + self.dropout(out))
        return self.layer_norm3(x + self.ff_layer(x)), self_weights, cross_weights


def sinusoid_table(rows: int, dim: int) -> torch.Tensor:
    """``[rows, dim]``: sin on even, cos on odd channels of position ``row``; row 0 (padding) is zero."""
    position = torch.arange(rows, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(rows, dim)
    table[:, 0::2], table[:, 1::2] = torch.sin(position * rate), torch.cos(position * rate)
    table[0] = 0
    return table


class PuretPositions(nn.Embedding):
    """The frozen sinusoid position table (its own class so that weight initialisation fills it, not a normal draw)."""


class PuretDecoder(nn.Module):
    """Word and position embeddings, the decoder layers and the generator."""

    def __init__(self, config: PuretConfig):
        super().__init__()
        self.scale = math.sqrt(config.hidden_size)
        self.word_embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.pos_embed = PuretPositions(config.max_position_embeddings, config.hidden_size)
        self.pos_embed.weight.requires_grad_(False)
        self.layers = nn.ModuleList(PuretDecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.dropout = nn.Dropout(config.dropout)
        self.generator = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, input_ids, memory, attention_mask=None, logits_to_keep: int = 0):
        """Logits [B, T or logits_to_keep, V], self-attention and cross-attention weights per layer."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        attention_mask = attention_mask.to(input_ids.device).long()
        positions = attention_mask.cumsum(dim=1) * attention_mask  # 1, 2, ... for tokens; 0 (a zero row) for pads
        rows = self.pos_embed.num_embeddings
        if input_ids.shape[1] >= rows:  # a shape check, so that counting on fake or meta tensors works
            raise ValueError(f"the caption is longer than PureT's {rows - 1} positions (got {input_ids.shape[1]})")
        x = self.word_embed(input_ids) * self.scale + F.embedding(positions, self.pos_embed.weight.detach())
        x = self.dropout(x)
        length = input_ids.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)
        blocked = causal[None, None] | (attention_mask == 0)[:, None, None, :]
        self_weights, cross_weights = [], []
        for layer in self.layers:
            x, s, c = layer(x, memory, blocked)
            self_weights.append(s)
            cross_weights.append(c)
        x = self.dropout(x)
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        return self.generator(x), tuple(self_weights), tuple(cross_weights)


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
