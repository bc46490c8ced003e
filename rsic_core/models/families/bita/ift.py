"""The Interactive Fourier Transformer (IFT) of BITA: learned queries that read the image.

A BERT-sized encoder over the query tokens only, laid out as the release names it (``embeddings.LayerNorm``,
``encoder.layer.N.{fourier, crossattention, intermediate_query, output_query}``). Each layer:

1. FFT mixing in place of self-attention (FNet): the real part of a 2-D discrete Fourier transform over
   the sequence and hidden dimensions, added to the input and layer-normalised; it has no weights but
   the LayerNorm. cuFFT takes half-precision input only for power-of-2 sizes (768 is not), so the FFT
   always runs in float32 and its result is cast back.
2. Cross-attention of the queries to the image tokens, in every layer (BERT's ``query``/``key``/``value``,
   ``output.dense`` + residual LayerNorm); its weights are returned when asked (grounding heatmaps).
3. The query feed-forward (``intermediate_query``, ``output_query``): the release keeps only the query
   FFN of its Q-Former-like layers (no word embeddings, no text FFN, no MLM head).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions


class BitaFourierOutput(nn.Module):
    """The residual LayerNorm after the Fourier mixing (``fourier.output.LayerNorm``)."""

    def __init__(self, config):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, mixed: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(hidden_states + mixed)


class BitaFourierMixing(nn.Module):
    """``LayerNorm(x + Re(FFT2(x)))`` over (sequence, hidden), computed in float32."""

    def __init__(self, config):
        super().__init__()
        self.output = BitaFourierOutput(config)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        mixed = torch.fft.fft2(hidden_states.float(), dim=(-2, -1)).real.to(hidden_states.dtype)
        return self.output(mixed, hidden_states)


class BitaCrossAttentionScores(nn.Module):
    """Multi-head attention of the queries (``query``) over the image tokens (``key``, ``value``)."""

    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        if config.hidden_size % self.num_heads:
            raise ValueError(
                f"IFT hidden_size {config.hidden_size} is not a multiple of num_attention_heads {self.num_heads}"
            )
        self.head_size = config.hidden_size // self.num_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.encoder_hidden_size, config.hidden_size)
        self.value = nn.Linear(config.encoder_hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, image_embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, queries, _ = hidden_states.shape

        def heads(x):
            return x.view(batch, -1, self.num_heads, self.head_size).transpose(1, 2)

        q, k, v = heads(self.query(hidden_states)), heads(self.key(image_embeds)), heads(self.value(image_embeds))
        weights = torch.softmax((q @ k.transpose(-1, -2)) * self.head_size**-0.5, dim=-1)
        context = self.dropout(weights) @ v
        return context.transpose(1, 2).reshape(batch, queries, -1), weights


class BitaDenseOutput(nn.Module):
    """``LayerNorm(residual + Dropout(Linear(x)))``: BERT's ``output`` blocks."""

    def __init__(self, config, width: int):
        super().__init__()
        self.dense = nn.Linear(width, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(residual + self.dropout(self.dense(hidden_states)))


class BitaCrossAttention(nn.Module):
    """Cross-attention block: ``self`` (the scores, BERT's name) and ``output``."""

    def __init__(self, config):
        super().__init__()
        self.self = BitaCrossAttentionScores(config)
        self.output = BitaDenseOutput(config, config.hidden_size)

    def forward(self, hidden_states, image_embeds):
        context, weights = self.self(hidden_states, image_embeds)
        return self.output(context, hidden_states), weights


class BitaIntermediate(nn.Module):
    """The first half of the query FFN (``intermediate_query``)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(hidden_states))


class BitaIftLayer(GradientCheckpointingLayer):
    """Fourier mixing, cross-attention to the image, query FFN."""

    def __init__(self, config):
        super().__init__()
        self.fourier = BitaFourierMixing(config)
        self.crossattention = BitaCrossAttention(config)
        self.intermediate_query = BitaIntermediate(config)
        self.output_query = BitaDenseOutput(config, config.intermediate_size)

    def forward(self, hidden_states: torch.Tensor, image_embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden_states = self.fourier(hidden_states)
        hidden_states, weights = self.crossattention(hidden_states, image_embeds)
        return self.output_query(self.intermediate_query(hidden_states), hidden_states), weights


class BitaIftEmbeddings(nn.Module):
    """LayerNorm and dropout of the query tokens (the release keeps nothing else of BERT's embeddings)."""

    def __init__(self, config):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, query_embeds: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.LayerNorm(query_embeds))


class BitaIftEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList(BitaIftLayer(config) for _ in range(config.num_hidden_layers))


class BitaIftModel(nn.Module):
    """The IFT: ``embeddings`` then ``encoder.layer`` (pruning keeps the first N of that list)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = BitaIftEmbeddings(config)
        self.encoder = BitaIftEncoder(config)

    def forward(
        self,
        query_embeds: torch.Tensor,
        image_embeds: torch.Tensor,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        """The queries after every layer.

        Args:
            query_embeds: [batch, queries, hidden] learned query tokens.
            image_embeds: [batch, image tokens, encoder_hidden_size] (after ``ln_vision``).
            output_attentions (False): return ``cross_attentions``, one [batch, heads, queries, image tokens]
                tensor per layer.
            output_hidden_states (False): return the queries before the first and after every layer.
        """
        hidden_states = self.embeddings(query_embeds)
        all_hidden = [hidden_states] if output_hidden_states else None
        cross = [] if output_attentions else None
        for layer in self.encoder.layer:
            hidden_states, weights = layer(hidden_states, image_embeds)
            if cross is not None:
                cross.append(weights)
            if all_hidden is not None:
                all_hidden.append(hidden_states)
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden_states,
            pooler_output=hidden_states[:, 0],
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            cross_attentions=tuple(cross) if cross is not None else None,
        )
