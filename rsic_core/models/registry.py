"""Captioning models: one interface over the VLM families of this field.

A :class:`Family` says what differs between PaliGemma/PaliGemma2, BLIP-2 (OPT) and BLIP: its
prompt, how a batch of images (and captions, for training) becomes model inputs, how generated
ids become text, and its LoRA target-module presets. :func:`load_captioner` opens a model by
Hugging Face id or local folder with the model's own processor and returns a :class:`Captioner`;
the offline demo model (:data:`DEMO_MODEL`) goes through the same ``from_pretrained`` path.

Example::

    cap = load_captioner("google/paligemma2-3b-pt-224")   # or a folder, or DEMO_MODEL
    cap.family.lora_targets                               # ("q_proj", "v_proj")

Tiny random models of each family (for tests, no download) come from :func:`build_tiny`, and
random-weight models with the real shapes (for GPU timing) from :func:`build_shape`.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rsic_core.paths import DEMO_MODEL


@dataclass(frozen=True)
class Family:
    """What a model family needs to be prompted, fed, decoded and adapted."""

    name: str  # registry key, e.g. "paligemma2"
    title: str  # for people, e.g. "PaliGemma 2"
    example: str  # a Hugging Face id of this family
    model_class: str  # transformers class that loads it
    processor_class: str  # transformers processor class
    prompt: str | None  # text given with the image; None = image only
    lora_targets: tuple[str, ...]  # default LoRA target modules (the studies' preset)
    lora_presets: dict[str, Any] = field(default_factory=dict)  # other named presets

    def encode(self, processor, images: list, captions: list[str] | None = None, prompt: str | None = None):
        """Model inputs for ``images`` (and ``labels`` covering only caption tokens when ``captions``).

        Args:
            processor: the family's processor.
            images: PIL images.
            captions (None): one target caption per image, for training.
            prompt (None): overrides the family prompt.

        Returns:
            A ``BatchFeature`` of CPU tensors.
        """
        tokenizer = processor.tokenizer
        side = tokenizer.padding_side
        tokenizer.padding_side = "left" if captions is None else "right"  # generation continues after the prompt
        try:
            return self._encode(processor, images, captions, self.prompt if prompt is None else prompt)
        finally:
            tokenizer.padding_side = side

    def _encode(self, processor, images, captions, prompt):
        if self.name in ("paligemma", "paligemma2"):
            text = [f"{processor.image_token}{prompt or ''}"] * len(images)
            kwargs = {"suffix": captions} if captions is not None else {}
            batch = processor(images=images, text=text, return_tensors="pt", padding="longest", **kwargs)
            if captions is None:
                batch.pop("token_type_ids", None)  # only the training mask needs it
            return batch
        if captions is None:
            if prompt:
                return processor(images=images, text=[prompt] * len(images), return_tensors="pt", padding="longest")
            return processor(images=images, return_tensors="pt")
        tokenizer = processor.tokenizer
        eos = tokenizer.eos_token if self.name == "blip2-opt" else ""
        texts = [f"{prompt} {c}" if prompt else c for c in captions]
        batch = processor(images=images, text=[t + eos for t in texts], return_tensors="pt", padding="longest")
        labels = batch["input_ids"].clone()
        labels[batch["attention_mask"] == 0] = -100
        image_token = getattr(processor, "image_token", None)
        if image_token is not None:
            labels[labels == tokenizer.convert_tokens_to_ids(str(getattr(image_token, "content", image_token)))] = -100
        if prompt:  # right-padded rows all start with the same prompt: only the caption counts
            prefix = processor(images=images[:1], text=[prompt], return_tensors="pt")["input_ids"].shape[1]
            labels[:, : prefix - (self.name == "blip")] = -100  # BLIP: the prompt's closing [SEP] is not in the row
        batch["labels"] = labels
        return batch

    def decode(self, processor, sequences, prompt_length: int) -> list[str]:
        """Captions from ``generate`` output (the prompt, when one was given, is cut off)."""
        if self.name == "blip" and prompt_length:
            prompt_length -= 1  # BLIP's generate drops the prompt's closing [SEP]
        texts = processor.tokenizer.batch_decode(sequences[:, prompt_length:], skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "paligemma",
            "PaliGemma",
            "google/paligemma-3b-pt-224",
            "PaliGemmaForConditionalGeneration",
            "PaliGemmaProcessor",
            "caption en",
            ("q_proj", "v_proj"),
            {"all-linear": "all-linear", "language-only": r".*language_model.*\.(q_proj|v_proj)"},
        ),
        Family(
            "paligemma2",
            "PaliGemma 2",
            "google/paligemma2-3b-pt-224",
            "PaliGemmaForConditionalGeneration",
            "PaliGemmaProcessor",
            "caption en",
            ("q_proj", "v_proj"),
            {"all-linear": "all-linear", "language-only": r".*language_model.*\.(q_proj|v_proj)"},
        ),
        Family(
            "blip2-opt",
            "BLIP-2 (OPT)",
            "Salesforce/blip2-opt-2.7b",
            "Blip2ForConditionalGeneration",
            "Blip2Processor",
            None,
            ("q_proj", "k_proj", "query", "key"),
            {"all-linear": "all-linear", "language-only": ["q_proj", "k_proj"]},
        ),
        Family(
            "blip",
            "BLIP",
            "Salesforce/blip-image-captioning-base",
            "BlipForConditionalGeneration",
            "BlipProcessor",
            None,
            ("query", "value"),
            {"all-linear": "all-linear"},
        ),
    )
}


def family_of(config) -> Family:
    """The family of a transformers config (``config.json`` of a model)."""
    model_type = getattr(config, "model_type", None)
    if model_type == "paligemma":
        text_type = getattr(getattr(config, "text_config", None), "model_type", "gemma")
        return FAMILIES["paligemma2" if text_type == "gemma2" else "paligemma"]
    if model_type == "blip-2":
        return FAMILIES["blip2-opt"]
    if model_type == "blip":
        return FAMILIES["blip"]
    raise ValueError(
        f"model type {model_type!r} is not a captioning family this project supports "
        f"({', '.join(f.title for f in FAMILIES.values())})"
    )


@dataclass
class Captioner:
    """A loaded captioning model with its processor and family."""

    family: Family
    model: Any  # a transformers PreTrainedModel, in eval mode on ``device``
    processor: Any  # the model's own processor
    name: str  # what it was loaded from (hub id or folder)
    device: str  # "cpu", "cuda", "cuda:1"...
    dtype: Any  # torch dtype of the weights
    adapter: str | None = None  # LoRA adapter folder merged into the weights, if any

    @property
    def lora_targets(self) -> tuple[str, ...]:
        return self.family.lora_targets

    @property
    def prompt(self) -> str | None:
        return self.family.prompt

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, folder: str | Path) -> Path:
        """Write model and processor with ``save_pretrained`` (loadable by :func:`load_captioner`)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)
        return folder


def choose_device(device: str | None = None) -> str:
    """``device`` if given, else CUDA when available, else CPU."""
    import torch

    if device and device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use --device cpu")
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


DTYPES = {
    "fp32": "float32",
    "float32": "float32",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
}


def choose_dtype(device: str, dtype=None):
    """``dtype`` if given ("bf16", "fp16", "fp32" or a torch dtype); else bf16 on CUDA where supported, fp16 on
    other CUDA GPUs, fp32 on CPU."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype and dtype != "auto":
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; use one of bf16, fp16, fp32")
        return getattr(torch, DTYPES[dtype])
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_captioner(
    name_or_path: str | Path | None = None, adapter: str | Path | None = None, device: str | None = None, dtype=None
) -> Captioner:
    """Open a captioning model by Hugging Face id or local folder.

    Args:
        name_or_path (None): a folder written by ``save_pretrained``, a Hugging Face id already in
            the local cache (or downloadable when online), or None/"demo" for :data:`DEMO_MODEL`.
        adapter (None): a LoRA adapter folder (peft ``save_pretrained``) to merge into the weights.
        device (None): "cpu", "cuda"...; default CUDA when available.
        dtype (None): "bf16", "fp16", "fp32"; default bf16 on CUDA (fp16 without bf16), fp32 on CPU.

    Returns:
        The :class:`Captioner`, in eval mode on ``device``.

    Raises:
        FileNotFoundError: the folder does not exist, or a hub id cannot be reached offline.
        ValueError: the model is not of a supported family.
    """
    import transformers

    name = str(name_or_path) if name_or_path not in (None, "", "demo") else str(DEMO_MODEL)
    source = resolve_model_source(name)
    config = transformers.AutoConfig.from_pretrained(source)
    family = family_of(config)
    device = choose_device(device)
    dtype = choose_dtype(device, dtype)
    processor = transformers.AutoProcessor.from_pretrained(source)
    processor.tokenizer.padding_side = "left"  # generation continues after the prompt
    model = getattr(transformers, family.model_class).from_pretrained(source, dtype=dtype)
    if adapter:
        model = _merge_adapter(model, adapter)
    model.to(device).eval()
    return Captioner(family, model, processor, name, device, dtype, str(adapter) if adapter else None)


def _merge_adapter(model, adapter: str | Path):
    from peft import PeftModel

    folder = Path(adapter).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{folder}: not a LoRA adapter folder (no adapter_config.json)")
    return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()


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
    if not _HUB_ID.match(name):
        raise FileNotFoundError(f"{name}: no such model folder (and not a Hugging Face id like owner/name)")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, local_files_only=True)
    except Exception:  # not in the local cache (LocalEntryNotFoundError and friends)
        pass
    if _hub_offline():
        raise FileNotFoundError(
            f"{name}: no such folder, not in the local Hugging Face cache, and the hub cannot be reached (offline); "
            "download it where there is network (`hf download " + name + "`) and pass its local folder instead"
        )
    return name


def _hub_offline() -> bool:
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=3):
            return False
    except OSError:
        return True


def build_tiny(family: str, **kwargs) -> Captioner:
    """A tiny random model of ``family`` built from configs (see :func:`rsic_core.models.tiny.build_tiny`)."""
    from rsic_core.models import tiny as tiny_models

    return tiny_models.build_tiny(family, **kwargs)


def build_shape(shape: str, **kwargs) -> Captioner:
    """Random weights with real shapes (see :func:`rsic_core.models.tiny.build_shape`)."""
    from rsic_core.models import tiny as tiny_models

    return tiny_models.build_shape(shape, **kwargs)
