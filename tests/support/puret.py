"""Helpers for the PureT tests: checkpoints in the released layout, built from a model or from the reference facts."""

from __future__ import annotations

import json
import re

_NAMES = (
    ("layernorm_before.", "norm1."),
    ("layernorm_after.", "norm2."),
    ("attention.o_proj.", "attn.proj."),
    ("attention.relative_position_bias.relative_position_bias_table", "attn.relative_position_bias_table"),
)


def reference_state() -> dict:
    """Every key of the released file with its shape and dtype, as stride-0 tensors (a few kB, no memory)."""
    import torch

    from tests.support.shared import shared_path

    facts = json.loads(shared_path("reference", "puret_checkpoint.json").read_text())
    dtypes = {"float32": torch.float32, "int64": torch.int64}
    return {
        key: torch.zeros(1, dtype=dtypes[facts["state_dict_dtype"][key]]).expand(shape)
        for key, shape in facts["state_dict"].items()
    }


def release_state(model) -> dict:
    """``model``'s weights under the release's key names (``module.`` prefix, fused qkv, the 39-style buffers)."""
    import torch

    state = {}
    qkv = {}
    for key, value in model.state_dict().items():
        if not key.startswith("backbone."):
            state[key] = value.clone()
            continue
        name = key[len("backbone.") :]
        name = name.replace("embeddings.patch_embeddings.projection.", "patch_embed.proj.")
        name = name.replace("embeddings.norm.", "patch_embed.norm.").removeprefix("encoder.")
        name = re.sub(r"^layernorm\.", "norm.", name)
        for new, old in _NAMES:
            name = name.replace(new, old)
        found = re.fullmatch(r"(layers\.\d+\.blocks\.\d+\.)attention\.([qkv])_proj\.(weight|bias)", name)
        if found:
            qkv.setdefault((found.group(1), found.group(3)), {})[found.group(2)] = value
            continue
        state["backbone." + name] = value.clone()
    for (block, kind), parts in qkv.items():
        state[f"backbone.{block}attn.qkv.{kind}"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    for name, module in model.backbone.named_modules():
        found = re.fullmatch(r"encoder\.layers\.(\d+)\.blocks\.(\d+)", name)
        if found:
            block = f"backbone.layers.{found.group(1)}.blocks.{found.group(2)}."
            n = module.window_size**2
            state[block + "attn.relative_position_index"] = torch.zeros(n, n, dtype=torch.int64)
            if module.shift_size:
                state[block + "attn_mask"] = torch.zeros(4, n, n)
    for i, layer in enumerate(model.encoder.layers):
        state[f"encoder.layers.{i}.encoder_attn.relative_position_index"] = layer.encoder_attn.relative_position_index
        if layer.shift:
            state[f"encoder.layers.{i}.attn_mask"] = layer.attn_mask
    return {"module." + k: v for k, v in state.items()}
