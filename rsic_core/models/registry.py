"""The registered model families, and opening or building a model of one of them.

Each family lives in its own module of :mod:`rsic_core.models.families` (a subclass of
:class:`~rsic_core.models.base.Family`); this module is the only one that imports them, and
:data:`FAMILIES` lists them. Adding a family is one new file there plus one line below;
:func:`register_family` adds one at run time (tests, plugins). :func:`family_of` asks each family
whether a transformers config is one of its own. :func:`load_captioner` opens a model by Hugging
Face id or local folder with the model's own processor and returns a
:class:`~rsic_core.models.base.Captioner`, each part checked by :mod:`rsic_core.models.loading`
(safetensors weights only: pickled ``.bin`` models and adapters are refused); the offline demo
model (:data:`~rsic_core.paths.DEMO_MODEL`) goes through the same ``from_pretrained`` path.

Example::

    cap = load_captioner("google/paligemma2-3b-pt-224")   # or a folder, or DEMO_MODEL
    cap.family.lora_targets                               # ("q_proj", "v_proj")

Tiny random models of each family (for tests, no download) come from :func:`build_tiny`, and
random-weight models with the real shapes (for GPU timing) from :func:`build_shape`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path

from rsic_core.models import loading
from rsic_core.models.base import Captioner, Family, choose_device, choose_dtype
from rsic_core.models.families import bita, blip, blip2, paligemma, puret
from rsic_core.models.tiny import DEFAULT_CORPUS
from rsic_core.offline import hub_unreachable
from rsic_core.paths import DEMO_MODEL, UCM_MODEL, shipped_model

_LOADING = threading.Lock()  # one model load at a time in a process (app sessions, threads)

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (paligemma.PaliGemma(), paligemma.PaliGemma2(), blip2.Blip2Opt(), blip.Blip(), bita.Bita(), puret.PureT())
}


def register_family(family: Family) -> Family:
    """Add ``family`` to :data:`FAMILIES` (for tests and plugins); its detection must not overlap another's.

    Raises:
        ValueError: a family of that name is already registered.
    """
    if family.name in FAMILIES:
        raise ValueError(f"a family named {family.name!r} is already registered ({FAMILIES[family.name]!r})")
    FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> Family:
    """Remove the family registered as ``name`` and return it."""
    return FAMILIES.pop(get_family(name).name)


def register_families() -> None:
    """Let transformers' Auto classes open the folders of every family (see :meth:`Family.register`)."""
    for family in FAMILIES.values():
        family.register()


def get_family(name: str) -> Family:
    """The registered family called ``name`` (e.g. "paligemma2").

    Raises:
        ValueError: no family has that name (the message lists the names).
    """
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def family_of(config) -> Family:
    """The family of a transformers config (``config.json`` of a model).

    Raises:
        ValueError: no registered family, or more than one, recognises the config.
    """
    found = [f for f in FAMILIES.values() if f.matches(config)]
    if len(found) > 1:
        raise ValueError(f"families {', '.join(f.name for f in found)} all claim this {config.model_type!r} config")
    if not found:
        raise ValueError(
            f"model type {getattr(config, 'model_type', None)!r} is not a captioning family this project supports "
            f"({', '.join(f.title for f in FAMILIES.values())})"
        )
    return found[0]


def load_captioner(
    name_or_path: str | Path | None = None, adapter: str | Path | None = None, device: str | None = None, dtype=None
) -> Captioner:
    """Open a captioning model by Hugging Face id or local folder.

    Args:
        name_or_path (None): a folder written by ``save_pretrained``, a Hugging Face id already in
            the local cache (or downloadable when online), or None/"demo" for :data:`~rsic_core.paths.DEMO_MODEL` ("ucm": :data:`~rsic_core.paths.UCM_MODEL`).
        adapter (None): a LoRA adapter folder (peft ``save_pretrained``) to merge into the weights.
        device (None): "cpu", "cuda"...; default CUDA when available.
        dtype (None): "bf16", "fp16", "fp32"; default bf16 on CUDA (fp16 without bf16), fp32 on CPU.

    Returns:
        The :class:`~rsic_core.models.base.Captioner`, in eval mode on ``device``.

    Raises:
        FileNotFoundError: the folder does not exist, lacks weights or processor files, or a hub id
            cannot be reached offline.
        ValueError: the model is not of a supported family, a part of the folder is broken or its
            weights are pickled (see :mod:`rsic_core.models.loading`), the adapter does not fit the
            model, or the device is unknown.
    """
    device = choose_device(device)
    name = shipped_model(name_or_path)
    source = resolve_model_source(name)
    if Path(source).is_dir():
        loading.check_model_folder(source)
    if adapter:
        loading.check_adapter_folder(adapter)  # before the slow part
    register_families()
    config = loading.open_config(source)
    family = family_of(config)
    dtype = choose_dtype(device, dtype)
    processor = loading.open_processor(source)
    processor.tokenizer.padding_side = "left"  # generation continues after the prompt
    with _LOADING:  # from_pretrained patches torch globally while it builds: two threads at once get meta tensors
        model = loading.open_weights(family.model_cls(), source, dtype)
        if adapter:
            model = loading.merge_adapter(model, adapter, model_name=name)
        model.to(device).eval()
    return Captioner(family, model, processor, name, device, dtype, str(adapter) if adapter else None)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_model_source(name: str) -> str:
    """A local folder for ``name``: the folder itself, or the cached snapshot of a hub id.

    A hub id missing from the cache is returned as is only when the hub answers; offline
    (``HF_HUB_OFFLINE=1`` or no route to it) this fails at once instead of retrying for half a minute.

    Raises:
        FileNotFoundError: one sentence saying what was tried and how to use a local folder instead.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{path}: this folder holds no config.json (not a model saved with save_pretrained)"
            )
        return str(path)
    if path == DEMO_MODEL:
        raise FileNotFoundError(
            f"{path}: the demo model is missing; build it with `rsic demo-model train --out {path}`"
        )
    if path == UCM_MODEL:
        raise FileNotFoundError(
            f"{path}: the UCM model is missing; README, 'The real-photo model', says how to build it"
        )
    if not _HUB_ID.match(name):
        raise FileNotFoundError(f"{name}: no such model folder (and not a Hugging Face id like owner/name)")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, local_files_only=True)
    except Exception:  # not in the local cache (LocalEntryNotFoundError and friends)
        pass
    if hub_unreachable():
        raise FileNotFoundError(
            f"{name}: no such folder, not in the local Hugging Face cache, and the hub cannot be reached (offline); "
            "download it where there is network (`hf download " + name + "`) and pass its local folder instead"
        )
    return name


def build_tiny(
    family: str,
    captions: Iterable[str] | None = None,
    image_size: int = 32,
    vocab_size: int = 300,
    vision: dict | None = None,
    text: dict | None = None,
    extra: dict | None = None,
    seed: int = 0,
    model_vocab_size: int | None = None,
    device: str | None = "cpu",
    dtype=None,
) -> Captioner:
    """A random model of ``family`` with the family's processor, built from configs (no download).

    Args:
        family: a key of :data:`FAMILIES`.
        captions (None): sentences to train the tokenizer on (default: a few scene captions).
        image_size (32): input resolution.
        vocab_size (300): tokenizer vocabulary size.
        vision / text / extra (None): config overrides of the family's ``tiny_sizes`` for the vision
            tower, the language model and the rest (BLIP-2: ``num_query_tokens``, ``qformer``).
        seed (0): weight initialisation seed.
        model_vocab_size (None): embedding rows (default: the tokenizer's length).
        device ("cpu") / dtype (None): where to build; see :func:`~rsic_core.models.base.choose_dtype`.

    Returns:
        A :class:`~rsic_core.models.base.Captioner` in eval mode; ``.save(folder)`` writes it for
        :func:`load_captioner`.
    """
    import torch

    spec = get_family(family)
    spec.register()
    base_vision, base_text, base_extra = spec.tiny_sizes
    vision = {**base_vision, "image_size": image_size, **(vision or {})}
    text = {**base_text, **(text or {})}
    extra = {**base_extra, **(extra or {})}
    spec.check_sizes(vision, text, extra)  # before anything is built: a model that cannot work is refused
    tokenizer = spec.tiny_tokenizer(list(captions or DEFAULT_CORPUS), vocab_size)
    processor = spec.tiny_processor(tokenizer, vision, extra)
    ids = dict(
        vocab_size=model_vocab_size or len(processor.tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = spec.tiny_config(processor, vision, {**text, **ids}, extra)
    device = choose_device(device)
    dtype = choose_dtype(device, dtype)
    torch.manual_seed(seed)
    with torch.device(device):
        model = spec.model_cls()._from_config(config, dtype=dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    processor.tokenizer.padding_side = "left"
    return Captioner(spec, model.eval(), processor, f"tiny-{family}", device, dtype)


def shapes() -> dict[str, Family]:
    """Real-shape name -> the family that declares it (e.g. "blip2-opt-2.7b")."""
    return {shape: f for f in FAMILIES.values() for shape in f.shapes}


def build_shape(shape: str, device: str | None = None, dtype=None, vocab_size: int | None = None) -> Captioner:
    """A random-weight model with the real shapes of ``shape`` (a key of :func:`shapes`), for timing and counting.

    Args:
        shape: e.g. "blip2-opt-2.7b" (:func:`shapes` lists them).
        device (None): "cpu", "cuda"...; "meta" builds it without allocating any weight (for counting).
        dtype (None): see :func:`~rsic_core.models.base.choose_dtype`.
        vocab_size (None): the vocabulary as the shape's spec counts it (default: the spec's ``vocab_size``).
    """
    owners = shapes()
    if shape not in owners:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(owners)}")
    family = owners[shape]
    spec = family.shapes[shape]
    captioner = build_tiny(
        family.name,
        image_size=spec["image_size"],
        vision=spec["vision"],
        text=spec["text"],
        extra=spec["extra"],
        model_vocab_size=vocab_size or spec["vocab_size"],
        device=device,
        dtype=dtype,
    )
    captioner.name = f"{shape} (random weights)"
    return captioner
