"""The PureT configuration: a Swin (or ResNet) backbone sub-config plus the sizes of the encoder and decoder.

The defaults are the released COCO model (``../shared/reference/puret_checkpoint.json``): Swin-L at
384 px, ``att_embed`` 1536 -> 512, a 3-layer refining encoder with window 6 (the middle layer shifted
by 3), a 3-layer decoder, 8 heads, FFN 2048, a 100-row sinusoid position table and 9,488 output
classes (9,487 words and id 0, which is both BOS and EOS).

The backbone may also be a ResNet (``ResNetConfig``, ``model_type: resnet``): a convolutional tower
learns aerial scenes from a small dataset far faster than a Swin from scratch (the shipped UCM
model, ``assets/ucm_model``). A ResNet config has no image size, so ``image_size`` says it here.
"""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig, SwinConfig

from .sizes import SWIN_L_384

BACKBONES = ("swin", "resnet")  # model types of the backbones PureT takes


@strict
class PuretConfig(PreTrainedConfig):
    r"""Configuration of :class:`~rsic_core.models.families.puret.modeling.PuretForCaptioning`.

    Args:
        backbone_config (`SwinConfig`, `ResNetConfig` or `dict`, defaults to Swin-L at 384 px): the image backbone.
        vocab_size (9488): output classes, id 0 (BOS = EOS) included.
        hidden_size (512): width of ``att_embed``, the encoder and the decoder.
        num_attention_heads (8): heads of every encoder and decoder attention.
        intermediate_size (2048): FFN width of encoder and decoder layers.
        num_encoder_layers (3): refining encoder layers.
        num_hidden_layers (3): decoder layers (the layer count pruning changes).
        window_size (6): encoder attention window on the backbone's grid.
        shift_size (3): shift of the encoder's shifted-window layers.
        shifted_layers (`list[int]`, defaults to `[1]`): encoder layers that shift their windows.
        celu_alpha (1.3): alpha of the CELU after ``att_embed``'s linear layer.
        dropout (0.1): dropout of ``att_embed``, attention outputs, FFNs and the word embedding.
        max_position_embeddings (100): rows of the sinusoid table; row 0 is zero, positions start at 1.
        label_smoothing (0.1): label smoothing of the model's own training loss, as released (eval mode: plain
            cross-entropy); a training run of this project obeys its ``label_smoothing_factor`` instead.
        freeze_backbone (True): the backbone's parameters do not require gradients.
        layer_norm_eps (1e-5): epsilon of every LayerNorm.
        initializer_range (0.02): std of the normal initialisation of linear and embedding weights.
        image_size (None): input side in pixels of a ResNet backbone (a Swin config holds its own).
    """

    model_type = "puret"
    sub_configs_defaults = {"backbone_config": SwinConfig}

    backbone_config: dict | PreTrainedConfig | None = None
    vocab_size: int = 9488
    hidden_size: int = 512
    num_attention_heads: int = 8
    intermediate_size: int = 2048
    num_encoder_layers: int = 3
    num_hidden_layers: int = 3
    window_size: int = 6
    shift_size: int = 3
    shifted_layers: list[int] | tuple[int, ...] = (1,)
    celu_alpha: float = 1.3
    dropout: float | int = 0.1
    max_position_embeddings: int = 100
    label_smoothing: float | int = 0.1
    freeze_backbone: bool = True
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    image_size: int | None = None
    pad_token_id: int | None = 0
    bos_token_id: int | None = 0
    eos_token_id: int | None = 0
    tie_word_embeddings: bool = False
    use_cache: bool = False

    def __post_init__(self, **kwargs):
        if self.backbone_config is None:
            self.backbone_config = SwinConfig(**SWIN_L_384)
        elif isinstance(self.backbone_config, dict) and "model_type" not in self.backbone_config:
            self.backbone_config = {**self.backbone_config, "model_type": "swin"}
        super().__post_init__(**kwargs)
        if self.backbone_config.model_type not in BACKBONES:
            raise ValueError(
                f"backbone_config: model_type {self.backbone_config.model_type!r} is not a PureT backbone "
                f"(choose from {', '.join(BACKBONES)})"
            )
        if self.backbone_config.model_type == "resnet" and not (self.image_size or 0) > 0:
            raise ValueError("image_size: a ResNet backbone needs the input side in pixels (image_size > 0)")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads {self.num_attention_heads}"
            )

    def grid_size(self) -> int:
        """Side of the backbone's output grid (12 for Swin at 384 px: 384 / 4 / 2**3; ResNet: 4 * 2**(stages-1))."""
        swin = self.backbone_config
        if swin.model_type == "resnet":  # stem: conv and max-pool, stride 4; each later stage halves
            stride = 4 * 2 ** (len(swin.hidden_sizes) - 1 - int(swin.downsample_in_first_stage))
            return self.image_size // stride
        size = swin.image_size if isinstance(swin.image_size, int) else swin.image_size[0]
        patch = swin.patch_size if isinstance(swin.patch_size, int) else swin.patch_size[0]
        return size // patch // 2 ** (len(swin.depths) - 1)

    def backbone_width(self) -> int:
        """Channels of the backbone's last stage (1536 for Swin-L)."""
        if self.backbone_config.model_type == "resnet":
            return int(self.backbone_config.hidden_sizes[-1])
        return int(self.backbone_config.embed_dim * 2 ** (len(self.backbone_config.depths) - 1))
