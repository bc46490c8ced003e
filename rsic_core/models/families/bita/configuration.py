"""BITA's configuration: a CLIP vision tower, the Interactive Fourier Transformer (IFT) and OPT.

:class:`BitaConfig` holds three sub-configs, as transformers' composite models do: ``vision_config``
(a ``CLIPVisionConfig``; the release keeps 21 of ViT-L/14's 24 blocks), ``ift_config``
(:class:`BitaIftConfig`, BERT-base sized in the release) and ``text_config`` (an ``OPTConfig``).
``freeze_vision`` / ``freeze_language`` (both True, as the authors fine-tune) leave those towers'
parameters with ``requires_grad=False`` when the model is built or loaded.

Example::

    config = BitaConfig(vision_config=CLIPVisionConfig(num_hidden_layers=21, ...), text_config=OPTConfig(...))
"""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import CLIPVisionConfig, OPTConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec


@strict
class BitaIftConfig(PreTrainedConfig):
    """The Interactive Fourier Transformer: learned queries, FFT mixing, cross-attention to the image, query FFN.

    Attributes:
        hidden_size (768) / num_hidden_layers (12) / num_attention_heads (12) / intermediate_size (3072):
            BERT-base sizes, as released.
        encoder_hidden_size (1024): width of the image tokens it attends to (set from the vision config).
        hidden_act ("gelu"), hidden_dropout_prob / attention_probs_dropout_prob (0.1), layer_norm_eps (1e-12).
    """

    model_type = "bita_ift"
    base_config_key = "ift_config"

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float | int = 0.1
    attention_probs_dropout_prob: float | int = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    encoder_hidden_size: int = 1024


@strict
class BitaConfig(PreTrainedConfig):
    """BITA (OPT): ``vision_config`` (CLIP), ``ift_config``, ``text_config`` (OPT) and how they meet.

    Attributes:
        num_query_tokens (32): learned queries of the IFT; as many image placeholder tokens lead the prompt.
        image_token_index (None): id of the placeholder token whose embeddings become the projected queries.
        freeze_vision (True) / freeze_language (True): build (and load) those towers with ``requires_grad=False``.
    """

    model_type = "bita"
    attribute_map = {"image_token_id": "image_token_index"}
    sub_configs_defaults = {
        "vision_config": CLIPVisionConfig,
        "ift_config": BitaIftConfig,
        "text_config": SubConfigSpec(config_class=OPTConfig),
    }

    vision_config: dict | PreTrainedConfig | None = None
    ift_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    num_query_tokens: int = 32
    image_token_index: int | None = None
    freeze_vision: bool = True
    freeze_language: bool = True
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.ift_config.encoder_hidden_size = self.vision_config.hidden_size
