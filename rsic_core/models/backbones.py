"""Public configs of pretrained backbones that more than one family builds on, typed once.

``OPT_2_7B`` is facebook/opt-2.7b's ``config.json`` (the language model of BLIP-2 OPT-2.7B and of BITA's
RSICD release), in the keys the families' ``shapes`` pass to transformers' ``OPTConfig``.
"""

from types import MappingProxyType

OPT_2_7B = MappingProxyType(
    dict(
        hidden_size=2560,
        ffn_dim=10240,
        num_hidden_layers=32,
        num_attention_heads=32,
        word_embed_proj_dim=2560,
        max_position_embeddings=2048,
    )
)  # read-only: every shape that uses it shares this one mapping
OPT_VOCAB_SIZE = 50272  # OPT's embedding rows (its tokenizer has 50,265 tokens; the table is padded)
