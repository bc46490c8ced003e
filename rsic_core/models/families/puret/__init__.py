"""PureT (arXiv 2203.15350): a frozen Swin backbone, a refining encoder and a word-level decoder.

The model is written in this project (:mod:`.configuration`, :mod:`.modeling` with its building blocks in
:mod:`.layers`, :mod:`.processing`; :mod:`.sizes` holds the released sizes), so :meth:`PureT.register` makes ``AutoConfig``/``AutoProcessor`` know its folders. A training row is
``[<eos>] caption [<eos>]`` (id 0 starts and ends every caption, BOS = EOS as in the release); its
labels are the same ids with the leading id 0 and the pads masked, aligned with the inputs as for a
causal LM (the model shifts them). Generation starts from id 0 and stops at the next id 0; the
release decodes with beam 5 and at most 17 steps (EOS included), i.e. ``num_beams=5,
max_new_tokens=17``, which a converted model's ``generation_config`` holds.

Towers: ``backbone`` (Swin, frozen by the family's recipe), ``projector`` (``att_embed``),
``encoder`` (the refining encoder) and ``language`` (the caption decoder: the tower the project's
LoRA checks and language-model pruning address). LoRA's default targets are the attention
projections ``q_linear``/``v_linear`` of encoder and decoder; ``language-only`` limits them to the
decoder. Released checkpoints convert with ``rsic convert puret`` (:mod:`.convert`).
"""

from __future__ import annotations

from rsic_core.models.base import IGNORE_INDEX, Family

from .sizes import SWIN_L_384

_DECODER_ATTENTION = r"decoder\.layers\.\d+\.(word_attn|cross_att)\.(q_linear|k_linear|v_linear|o_linear)"


class PureT(Family):
    """PureT: Swin backbone + refining encoder + decoder, with its word-level vocabulary."""

    name = "puret"
    title = "PureT"
    example = "rsic convert puret caption_model_27.pth --out puret-coco --vocab coco_vocabulary.txt"
    model_type = "puret"
    model_class = "PuretForCaptioning"
    processor_class = "PuretProcessor"
    lora_targets = ("q_linear", "v_linear")
    lora_presets = {"all-linear": "all-linear", "language-only": _DECODER_ATTENTION}
    towers = {"backbone": "backbone", "projector": "att_embed", "encoder": "encoder", "language": "decoder"}
    prunable = {"language": ("decoder.layers", ("",))}
    frozen_towers = ("backbone",)
    convert_options = {
        "vocab": "the release's vocabulary file, one word per line, line i = id i (coco_vocabulary.txt); "
        "needed to write a model folder",
        "backbone": "a Swin model folder or hub id (e.g. microsoft/swin-large-patch4-window12-384) for the backbone's "
        "config, and its weights when the checkpoint holds none; default: Swin-L at 384 px as released",
    }
    tiny_sizes = (
        dict(embed_dim=16, depths=[1, 1], num_heads=[1, 2], window_size=4, drop_path_rate=0.0),
        dict(hidden_size=32, num_attention_heads=2, intermediate_size=64, num_hidden_layers=2),
        dict(num_encoder_layers=2, window_size=2, shift_size=1, shifted_layers=[1]),
    )
    # The released COCO model: the spec's vocab_size counts words; id 0 (BOS = EOS) is one more output row.
    shapes = {
        "puret": dict(
            image_size=384,
            vocab_size=9487,
            caption_tokens=17,
            vision={k: v for k, v in SWIN_L_384.items() if k != "image_size"},
            text=dict(hidden_size=512, num_attention_heads=8, intermediate_size=2048, num_hidden_layers=3),
            extra=dict(num_encoder_layers=3, window_size=6, shift_size=3, shifted_layers=[1], rows_beyond_vocab=1),
        )
    }

    def register(self) -> None:
        from transformers import AutoConfig, AutoProcessor

        from .configuration import PuretConfig
        from .processing import PuretProcessor

        AutoConfig.register(PuretConfig.model_type, PuretConfig, exist_ok=True)
        AutoProcessor.register(PuretConfig, PuretProcessor, exist_ok=True)

    def model_cls(self):
        from .modeling import PuretForCaptioning

        return PuretForCaptioning

    def tiny_tokenizer(self, captions: list[str], vocab_size: int):
        from .processing import COMMON_WORDS, train_word_tokenizer

        return train_word_tokenizer(captions, vocab_size, extra_words=COMMON_WORDS)

    def tiny_processor(self, tokenizer, vision: dict, extra: dict):
        from .processing import PuretProcessor, image_processor

        return PuretProcessor(image_processor(vision["image_size"]), tokenizer)

    def smallest_image_size(self, vision: dict, extra: dict) -> int:
        """A last backbone stage at least as wide as the Swin window and the refining encoder's window."""
        windows = max(int(vision.get("window_size", 7)), int(extra.get("window_size", 1)))
        return self._cell(vision) * (1 if vision.get("model_type") == "resnet" else windows)

    def check_sizes(self, vision: dict, text: dict, extra: dict) -> None:
        """The base checks, and a Swin input of whole windows at its last stage (else Swin's shifted-window masks break)."""
        super().check_sizes(vision, text, extra)
        step = self._cell(vision) * int(vision.get("window_size", 7))
        if vision.get("model_type") != "resnet" and vision["image_size"] % step:
            raise ValueError(
                f"--image-size {vision['image_size']} does not fit a {self.title} model: the Swin backbone needs a "
                f"multiple of {step} px (a whole number of windows at its last stage)"
            )

    @staticmethod
    def _cell(vision: dict) -> int:
        """Pixels per cell of the backbone's last stage: Swin's patch doubled per later stage; ResNet's stride 32."""
        if vision.get("model_type") == "resnet":
            return 32
        return int(vision.get("patch_size", 4)) * 2 ** (len(vision.get("depths", [2, 2, 6, 2])) - 1)

    def frozen_towers_of(self, config) -> tuple[str, ...]:
        return ("backbone",) if getattr(config, "freeze_backbone", True) else ()

    def tiny_config(self, processor, vision: dict, text: dict, extra: dict):
        from transformers import ResNetConfig, SwinConfig

        from .configuration import PuretConfig

        extra = dict(extra)
        if vision.get("model_type") == "resnet":  # the Swin sizes of tiny_sizes do not apply; the size goes up
            vision = {k: v for k, v in vision.items() if k in ResNetConfig.__dataclass_fields__ or k == "image_size"}
            extra["image_size"] = vision.pop("image_size")
            backbone = ResNetConfig(**{k: v for k, v in vision.items() if k != "model_type"})
        else:
            backbone = SwinConfig(**vision)
        rows = text["vocab_size"] + extra.pop("rows_beyond_vocab", 0)
        sizes = {k: v for k, v in text.items() if k not in ("bos_token_id", "eos_token_id", "pad_token_id")}
        eos = text.get("eos_token_id") or 0
        return PuretConfig(
            backbone_config=backbone,
            **{**sizes, "vocab_size": rows},
            **extra,
            bos_token_id=eos,  # BOS = EOS = id 0
            eos_token_id=eos,
            pad_token_id=eos,
        )

    def build_inputs(self, processor, images: list, captions: list[str] | None, prompt: str | None):
        """``pixel_values``; with captions also ``input_ids = [0] caption [0]``, ``attention_mask`` and ``labels``."""
        import torch

        if prompt:
            raise ValueError(f"{self.title} captions images without a text prompt (got prompt {prompt!r})")
        batch = processor(images=images, return_tensors="pt")
        if captions is None:
            return batch
        tokenizer = processor.tokenizer
        eos = tokenizer.eos_token_id
        room = max(int(tokenizer.model_max_length) - 2, 1)  # the leading and closing id 0 take two positions
        rows = [[eos, *ids[:room], eos] for ids in tokenizer(list(captions), add_special_tokens=False)["input_ids"]]
        longest = max(len(r) for r in rows)
        ids = torch.full((len(rows), longest), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            place = slice(longest - len(row), None) if tokenizer.padding_side == "left" else slice(0, len(row))
            ids[i, place], mask[i, place] = torch.tensor(row), 1
        labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
        labels[torch.arange(len(rows)), (mask == 0).sum(1) if tokenizer.padding_side == "left" else 0] = IGNORE_INDEX
        batch.update(input_ids=ids, attention_mask=mask, labels=labels)
        return batch

    def max_text_tokens(self, config) -> int | None:
        """Positions of the decoder: the sinusoid table's rows less row 0 (the pads' zero row)."""
        return int(config.max_position_embeddings) - 1

    def convert(self, checkpoint, out, check_only: bool = False, **options) -> str:
        from .convert import convert_release

        return convert_release(checkpoint, out, check_only=check_only, **options)

    def grounding_methods(self):
        return ("attention",)

    def grounding_maps(self, captioner, inputs, sequences, positions, method):
        """The decoder's cross-attention over the Swin grid (heads and layers averaged; the gx slot left out)."""
        import torch

        from rsic_core.models import grounding

        out = captioner.model(
            input_ids=sequences,
            pixel_values=inputs["pixel_values"],
            attention_mask=torch.ones_like(sequences),
            output_attentions=True,
        )
        return grounding.square_grid(grounding.head_mean(out.cross_attentions)[[p - 1 for p in positions]][:, :-1])
