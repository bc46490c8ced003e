"""PureT's building blocks: window attention with the global token, the refining encoder, the decoder.

See :mod:`.modeling` for what each part does and where it differs from the release.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import BaseModelOutput

from .configuration import PuretConfig

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
