"""The released PureT checkpoint (``caption_model_27.pth``) as a model folder of this project.

The release is a bare ``state_dict`` of a DataParallel model (every key starts with ``module.``,
513 keys with 39 buffers, possibly in PyTorch's legacy format). :func:`convert_release` reads it with
``torch.load(weights_only=True)`` (:func:`~rsic_core.models.checkpoints.read_state_dict`), infers the
sizes of ``att_embed``, encoder and decoder from the tensors, renames every key (:func:`map_release_keys`),
checks the result against the model's own keys and shapes, loads it strictly and writes safetensors,
config, generation config (beam 5, 17 new tokens) and the processor with the vocabulary.

Key mapping: outside the backbone the names are the release's own (``att_embed.0``,
``encoder.layers.N.encoder_attn.*``, ``decoder.*``). The backbone's Swin keys become transformers'
``SwinModel`` names: ``patch_embed.proj`` -> ``embeddings.patch_embeddings.projection``,
``patch_embed.norm`` -> ``embeddings.norm``, ``norm1``/``norm2`` -> ``layernorm_before``/``layernorm_after``,
the fused ``attn.qkv`` -> ``attention.q_proj``/``k_proj``/``v_proj`` (in that order), ``attn.proj`` ->
``attention.o_proj``, ``attn.relative_position_bias_table`` -> ``attention.relative_position_bias.*``,
``norm`` -> ``layernorm``. The buffers (``relative_position_index``, ``attn_mask``) are rebuilt by the
model from its config: they count as mapped and are not copied.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from rsic_core.models.checkpoints import compare_keys, read_state_dict

from .configuration import PuretConfig
from .sizes import SWIN_L_384

_BLOCK = re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.(.+)")
_BLOCK_PARTS = {
    "norm1.": "layernorm_before.",
    "norm2.": "layernorm_after.",
    "attn.proj.": "attention.o_proj.",
    "attn.relative_position_bias_table": "attention.relative_position_bias.relative_position_bias_table",
    "mlp.": "mlp.",
}
_REBUILT = ("relative_position_index", "attn_mask")  # buffers the model makes from its config
SWIN_FIELDS = ("image_size", "patch_size", "num_channels", "embed_dim", "depths", "num_heads", "window_size")
SWIN_FIELDS += ("mlp_ratio", "qkv_bias", "hidden_act", "use_absolute_embeddings", "layer_norm_eps", "drop_path_rate")


def swin_keys(key: str, value) -> list[tuple[str, object]] | None:
    """transformers' ``SwinModel`` keys for one key of the release's Swin (``[]`` = a rebuilt buffer, None = unknown)."""
    if key.endswith(_REBUILT):
        return []
    for old, new in (
        ("patch_embed.proj.", "embeddings.patch_embeddings.projection."),
        ("patch_embed.norm.", "embeddings.norm."),
    ):
        if key.startswith(old):
            return [(new + key[len(old) :], value)]
    if key.startswith("norm."):
        return [("layernorm." + key[5:], value)]
    if re.fullmatch(r"layers\.\d+\.downsample\.(reduction|norm)\.\w+", key):
        return [("encoder." + key, value)]
    found = _BLOCK.fullmatch(key)
    if not found:
        return None
    stage, block, rest = found.groups()
    prefix = f"encoder.layers.{stage}.blocks.{block}."
    if rest in ("attn.qkv.weight", "attn.qkv.bias"):
        kind = rest.rsplit(".", 1)[1]
        q, k, v = value.chunk(3, dim=0)
        return [(f"{prefix}attention.{n}_proj.{kind}", t) for n, t in (("q", q), ("k", k), ("v", v))]
    for old, new in _BLOCK_PARTS.items():
        if rest.startswith(old):
            return [(prefix + new + rest[len(old) :], value)]
    return None


def map_release_keys(state: dict) -> tuple[dict, list[str], int, dict]:
    """The release's keys (``module.`` removed) as this model's.

    Returns:
        (model key -> tensor, file keys not recognised, rebuilt buffers left out, model key -> file key).
    """
    mapped, unmapped, dropped, sources = {}, [], 0, {}
    for key, value in state.items():
        if key.startswith("backbone."):
            names = swin_keys(key[len("backbone.") :], value)
            if names is None:
                unmapped.append(key)
                continue
            dropped += not names
            for name, tensor in names:
                mapped["backbone." + name] = tensor
                sources["backbone." + name] = key
        elif key.startswith("encoder.") and key.endswith(_REBUILT):
            dropped += 1
        else:
            mapped[key] = value
    return mapped, unmapped, dropped, sources


def infer_config(state: dict, backbone) -> PuretConfig:
    """The :class:`PuretConfig` whose sizes the release's tensors state (Swin from ``backbone``, a SwinConfig).

    Raises:
        ValueError: a tensor the sizes are read from is missing (named).
    """

    def shape(key: str) -> tuple:
        if key not in state:
            raise ValueError(f"the checkpoint has no {key!r}: not a PureT checkpoint (or not the released layout)")
        return tuple(state[key].shape)

    def layers(prefix: str) -> list[int]:
        return sorted({int(k.split(".")[2]) for k in state if k.startswith(prefix) and k.split(".")[2].isdigit()})

    encoder, decoder = layers("encoder.layers."), layers("decoder.layers.")
    if not encoder or not decoder:
        raise ValueError("the checkpoint has no encoder.layers.* or decoder.layers.* keys: not a PureT checkpoint")
    table, heads = shape("encoder.layers.0.encoder_attn.relative_position_bias_table")
    window = (int(round(table**0.5)) + 1) // 2
    return PuretConfig(
        backbone_config=backbone,
        vocab_size=shape("decoder.generator.weight")[0],
        hidden_size=shape("att_embed.0.weight")[0],
        num_attention_heads=heads,
        intermediate_size=shape("encoder.layers.0.ff_layer.fc1.weight")[0],
        num_encoder_layers=len(encoder),
        num_hidden_layers=len(decoder),
        window_size=window,
        shift_size=window // 2,
        shifted_layers=[i for i in encoder if f"encoder.layers.{i}.attn_mask" in state],
        max_position_embeddings=shape("decoder.pos_embed.weight")[0],
    )


def backbone_config(source: str | None):
    """The Swin config of ``source`` (a folder or hub id), or Swin-L at 384 px as released."""
    from transformers import AutoConfig, SwinConfig

    if not source:
        return SwinConfig(**SWIN_L_384)
    try:
        found = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as e:
        reason = " ".join(str(e).split())[:200]
        raise FileNotFoundError(
            f"{source}: no Swin model config there (a folder, or a hub id in the cache): {reason}"
        ) from None
    if found.model_type != "swin":
        raise ValueError(f"{source}: a {found.model_type!r} model, not a Swin backbone")
    return SwinConfig(**{name: getattr(found, name) for name in SWIN_FIELDS if hasattr(found, name)})


def convert_release(
    checkpoint, out=None, check_only: bool = False, vocab: str | None = None, backbone: str | None = None
) -> str:
    """Check (``check_only``) or convert the released checkpoint; see the module docstring.

    Returns:
        "513 of 513 keys mapped", and where the folder was written.

    Raises:
        FileNotFoundError / ValueError: one sentence: the file, the vocabulary or the backbone cannot be
            read, the keys do not fit (missing, unexpected, mis-shaped: named), or the output folder is
            not empty. Nothing is written then.
    """
    import torch

    from .modeling import PuretForCaptioning

    state = read_state_dict(checkpoint)
    config = infer_config(state, backbone_config(backbone))
    has_backbone = any(k.startswith("backbone.") for k in state)
    words = None if check_only else _vocabulary(vocab, config.vocab_size)
    if not check_only:
        out = _empty_folder(out)
    with torch.device("meta"):
        expected = PuretForCaptioning(config).state_dict()
    mapped, unmapped, dropped, sources = map_release_keys(state)
    skip = () if has_backbone else ("backbone.",)  # a file without the frozen Swin takes it from --backbone
    check = compare_keys(mapped, expected, len(state), unmapped, dropped, skip, sources)
    if not check.ok:
        raise ValueError(check.sentence(Path(checkpoint).name))
    if check_only:
        return check.sentence()
    model = PuretForCaptioning(config)
    if not has_backbone:
        model.backbone.load_state_dict(_backbone_weights(backbone, config).state_dict())
    model.load_state_dict(mapped, strict=has_backbone)
    _write(model, words, config, out)
    note = "" if has_backbone or not backbone else f"; backbone weights from {backbone}"
    return f"{check.sentence()}{note}; wrote {out}"


def _vocabulary(path: str | None, rows: int) -> list[str]:
    from .processing import read_vocabulary

    if not path:
        raise ValueError(
            "--vocab is needed to write a model folder: the checkpoint holds word ids only "
            f"(give the release's vocabulary file of {rows - 1} words, one per line; --check-only needs none)"
        )
    words = read_vocabulary(path)
    if len(words) != rows - 1:
        raise ValueError(
            f"{path}: {len(words)} words, but the checkpoint's generator has {rows} rows: it needs {rows - 1} words "
            "(line i = id i; id 0 is BOS = EOS)"
        )
    return words


def _empty_folder(out) -> Path:
    if not out:
        raise ValueError("--out is needed to write a model folder (or use --check-only)")
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: exists and is not an empty folder; choose a new folder for the converted model")
    return out


def _backbone_weights(source: str | None, config: PuretConfig):
    from transformers import SwinModel

    if not source:
        raise ValueError("the checkpoint holds no backbone weights: give --backbone (a Swin folder or hub id)")
    try:
        return SwinModel.from_pretrained(source, config=config.backbone_config, add_pooling_layer=False)
    except OSError as e:
        raise FileNotFoundError(f"{source}: the Swin weights cannot be loaded ({e})") from None


def _write(model, words: list[str], config: PuretConfig, out: Path) -> None:
    """Model, generation settings and processor into ``out``, written in a temporary folder and moved there."""
    from .processing import PuretProcessor, image_processor, word_tokenizer

    model.generation_config.update(num_beams=5, max_new_tokens=17, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    size = config.backbone_config.image_size
    processor = PuretProcessor(
        image_processor(size if isinstance(size, int) else size[0]),
        word_tokenizer(words, max_length=config.max_position_embeddings - 1),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
