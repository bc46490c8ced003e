"""The authors' BITA checkpoint (``checkpoint_best.pth``) -> a model folder that ``load_captioner`` opens.

``rsic convert bita-opt CHECKPOINT.pth --out DIR [--vision ID_OR_DIR] [--language ID_OR_DIR] [--check-only]``

The file is ``torch.save({"model", "optimizer", "config", "scaler", "epoch"})`` without a prefix; only
``model`` is read (``torch.load(weights_only=True)``). It holds the trained parameters only (223: the query
tokens, ``ln_vision``, the IFT as ``Fformer.bert.*`` and ``opt_proj``) plus two keys that slip through the
authors' filter, handled so:

- ``Fformer.bert.embeddings.position_ids``: a buffer of BERT's position embeddings, which the IFT does
  not use (queries only); dropped.
- ``opt_model.lm_head.weight``: OPT's output layer, tied to its frozen input embedding; not loaded
  (the tied weight comes from ``--language``) but checked: its shape always, and with ``--language``
  that it equals the input embedding of that OPT (else the checkpoint was trained on another OPT).

Key renames: ``Fformer.bert.`` -> ``ift.``, ``opt_proj.`` -> ``language_projection.``; ``query_tokens``
and ``ln_vision.*`` keep their names. The frozen towers come from their public weights through
``from_pretrained``: ``--vision`` (OpenAI CLIP ViT-L/14, transformers layout; its first 21 blocks, no
post-LayerNorm) and ``--language`` (facebook/opt-2.7b, with its tokenizer, whose newline token becomes
EOS). Everything is loaded strictly (the authors' code loads with ``strict=False`` and misses keys
silently). IFT sizes come from the file (hidden and queries from ``query_tokens``, layers from the
layer indices, FFN from layer 0; heads = hidden / 64 as in BERT).

``--check-only`` builds the architecture on the meta device (the towers' configs from ``--vision`` /
``--language`` when given, else the ``bita-opt-2.7b`` shape), maps the keys and reports, without any
tower weights and without writing.
"""

from __future__ import annotations

import re
from pathlib import Path

VISION_BLOCKS = 21  # the release keeps CLIP-L's first 21 of 24 blocks
DEFAULT_VISION = "openai/clip-vit-large-patch14"
DEFAULT_LANGUAGE = "facebook/opt-2.7b"
RENAMES = (("Fformer.bert.", "ift."), ("opt_proj.", "language_projection."))
TRAINED = ("query_tokens", "ln_vision.", "ift.", "language_projection.")
POSITION_IDS = "Fformer.bert.embeddings.position_ids"
LM_HEAD = "opt_model.lm_head.weight"
FROZEN = ("vision_model.", "language_model.")


def convert_checkpoint(family, checkpoint, out, check_only: bool = False, vision=None, language=None) -> str:
    """Convert (or with ``check_only`` only check) a released BITA checkpoint; see the module docstring.

    Returns:
        "N of N keys mapped" (and where the folder was written).

    Raises:
        FileNotFoundError: no such checkpoint, or a tower source that cannot be found.
        ValueError: one sentence: the file is not a BITA checkpoint, keys are missing, unexpected or
            mis-shaped, or its OPT output layer is not the ``--language`` OPT's embedding. Nothing is written.
    """
    from rsic_core.models.checkpoints import compare_keys, read_state_dict

    if not check_only and not out:
        raise ValueError("say where to write the converted model (--out DIR), or pass --check-only")
    state = read_state_dict(checkpoint, container_key="model", strip_prefix="")
    mapped, unmapped = map_keys(state)
    config = build_config(family, state, vision, language, weights=not check_only)
    model = _meta_model(family, config)
    expected = model.state_dict()
    unmapped += [_file_key(k) for k in mapped if k not in expected]
    mapped = {k: v for k, v in mapped.items() if k in expected}
    check = compare_keys(
        mapped,
        expected,
        file_keys=len(state),
        unmapped=unmapped,
        dropped=int(POSITION_IDS in state),
        skip_missing=FROZEN,
    )
    if not check.ok:
        raise ValueError(f"{checkpoint}: " + check.sentence("the BITA checkpoint"))
    if check_only:
        return check.sentence()
    folder = _write(family, config, mapped, checkpoint, out, vision or DEFAULT_VISION, language or DEFAULT_LANGUAGE)
    return f"{check.sentence()}; wrote {folder}"


def map_keys(state: dict) -> tuple[dict, list[str]]:
    """(model key -> tensor, file keys that are no BITA key); the position-id buffer is left out."""
    mapped, unmapped = {}, []
    for key, value in state.items():
        if key == POSITION_IDS:
            continue
        if key == LM_HEAD:
            mapped["language_model.lm_head.weight"] = value
            continue
        name = key
        for old, new in RENAMES:
            if name.startswith(old):
                name = new + name[len(old) :]
        if name.startswith(TRAINED):
            mapped[name] = value
        else:
            unmapped.append(key)
    return mapped, unmapped


def _file_key(name: str) -> str:
    if name == "language_model.lm_head.weight":
        return LM_HEAD
    for old, new in RENAMES:
        if name.startswith(new):
            return old + name[len(new) :]
    return name


def ift_sizes(state: dict) -> dict:
    """The IFT's config values read off the file's tensors (BERT heads of 64)."""
    queries = state.get("query_tokens")
    ffn = state.get("Fformer.bert.encoder.layer.0.intermediate_query.dense.weight")
    if queries is None or queries.dim() != 3 or ffn is None:
        raise ValueError(
            "not a BITA checkpoint: its 'model' lacks query_tokens [1, queries, hidden] or "
            "Fformer.bert.encoder.layer.0.intermediate_query.dense.weight"
        )
    layers = {int(m.group(1)) for k in state if (m := re.match(r"Fformer\.bert\.encoder\.layer\.(\d+)\.", k))}
    hidden = int(queries.shape[-1])
    sizes = dict(hidden_size=hidden, num_hidden_layers=max(layers) + 1, intermediate_size=int(ffn.shape[0]))
    return dict(sizes, num_attention_heads=max(hidden // 64, 1), num_query_tokens=int(queries.shape[1]))


def build_config(family, state: dict, vision, language, weights: bool):
    """BitaConfig for the file's IFT and the towers' configs (``--vision``/``--language``, else the real shape)."""
    from transformers import AutoConfig, CLIPVisionConfig, OPTConfig

    from rsic_core.models.families.bita.configuration import BitaConfig, BitaIftConfig

    sizes = ift_sizes(state)
    queries = sizes.pop("num_query_tokens")
    spec = family.shapes["bita-opt-2.7b"]
    if weights or vision:
        vision_config = _open(CLIPVisionConfig.from_pretrained, vision or DEFAULT_VISION, "--vision")
        vision_config.num_hidden_layers = min(VISION_BLOCKS, vision_config.num_hidden_layers)
    else:
        vision_config = CLIPVisionConfig(image_size=spec["image_size"], **spec["vision"])
    if weights or language:
        text_config = _open(AutoConfig.from_pretrained, language or DEFAULT_LANGUAGE, "--language")
    else:
        text_config = OPTConfig(vocab_size=spec["vocab_size"], **spec["text"])
    return BitaConfig(
        vision_config=vision_config,
        ift_config=BitaIftConfig(**sizes),
        text_config=text_config,
        num_query_tokens=queries,
    )


def _open(loader, source: str, option: str):
    try:
        return loader(source)
    except OSError as e:
        first = " ".join(str(e).split())[:200]
        raise FileNotFoundError(
            f"{option} {source}: cannot be opened as a model folder or cached hub id ({first})"
        ) from None


def _meta_model(family, config):
    import torch

    with torch.device("meta"):
        return family.model_cls()(config)


def _write(family, config, trained: dict, checkpoint, out, vision: str, language: str) -> Path:
    """Load the towers from their sources, the trained part from the file, strictly; save model and processor."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, CLIPVisionModel

    from rsic_core.models.families.bita import GENERATION_DEFAULTS, image_token_id, make_processor, newline_eos

    tokenizer = newline_eos(_open(AutoTokenizer.from_pretrained, language, "--language"))
    processor = make_processor(tokenizer, config.vision_config.image_size, config.num_query_tokens)
    config.image_token_index = image_token_id(processor)
    config.text_config.eos_token_id = tokenizer.eos_token_id
    if len(tokenizer) > config.text_config.vocab_size:
        raise ValueError(
            f"--language {language}: its tokenizer ({len(tokenizer)} tokens) outgrows the model's vocabulary"
        )
    full = {}
    source = _open(CLIPVisionModel.from_pretrained, vision, "--vision")
    full.update(_vision_weights(source.state_dict(), config.vision_config.num_hidden_layers))
    del source
    source = _open(AutoModelForCausalLM.from_pretrained, language, "--language")
    embedding = source.get_input_embeddings().weight
    head = trained.pop("language_model.lm_head.weight", None)
    if head is not None and not torch.allclose(head.float(), embedding.float(), atol=1e-3):
        raise ValueError(
            f"{checkpoint}: its opt_model.lm_head.weight differs from the input embedding of --language {language}: "
            "the checkpoint was trained on another OPT"
        )
    full.update({f"language_model.{k}": v for k, v in source.state_dict().items()})
    full.update(trained)
    with torch.device("meta"):
        model = family.model_cls()(config)
    model.load_state_dict(full, strict=True, assign=True)
    model.tie_weights()
    model.generation_config.update(
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **GENERATION_DEFAULTS,
    )
    folder = Path(out).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _vision_weights(state: dict, blocks: int) -> dict:
    """CLIP's vision weights under ``vision_model.``: its first ``blocks`` blocks, without post_layernorm."""
    kept = {}
    for key, value in state.items():
        layer = re.match(r"encoder\.layers\.(\d+)\.", key)
        if key.startswith("post_layernorm.") or (layer and int(layer.group(1)) >= blocks):
            continue
        kept[f"vision_model.{key}"] = value
    return kept
