"""What every model family provides, and the loaded model it comes with.

A :class:`Family` holds everything one family knows: how to recognise it in a transformers config,
how images (and captions, for training) become model inputs with caption-only labels, how generated
ids become text, its LoRA target presets and towers, the layer lists pruning may cut, and the
builders of tiny and real-shape models. Each family is one module of ``rsic_core.models.families``
that subclasses :class:`Family`; ``rsic_core.models.registry`` imports and registers them, and the
rest of the code asks the family object, never its name.

Why a base class with class attributes and overridable methods (not a dataclass of values with
``if name == ...`` branches, nor a Protocol): the data of a family (names, presets, towers, sizes)
is declared as class attributes, the behaviour that differs is a method override, and what most
families share (a decoder fed ``prompt + caption`` whose labels are its own ids, as BLIP, BLIP-2
and GIT are) is the default. A new family is one small subclass that overrides only what differs
from that default, and an error in a declared name is found where it is declared.

Example::

    family = captioner.family
    batch = family.encode(captioner.processor, images, captions)     # labels cover only the captions
    family.towers["language"], family.prunable.get("qformer")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100  # label of a position that carries no loss
MAX_IMAGE_SIZE = 2048  # px: the real families use 224-896; 2048 with 8 px patches is already 65,536 image tokens


class Family:
    """A captioning model family: subclass it, set the attributes, override what differs.

    Attributes:
        name: registry key, e.g. "paligemma2".
        title: for people, e.g. "PaliGemma 2".
        example: a Hugging Face id of this family.
        model_type: ``config.model_type`` of its checkpoints (used by the default :meth:`matches`).
        model_class / processor_class: transformers classes that load the model and its processor (a
            family whose model is not in transformers overrides :meth:`model_cls` and :meth:`register`).
        prompt: text given with the image; None = image only.
        lora_targets: default LoRA target modules (the studies' preset): names, or one regular expression
            (peft matches a string against the full module name) where names alone would reach another tower.
        lora_presets: other named presets (peft ``target_modules`` values).
        towers: tower -> module prefix (names as transformers lays the model out).
        prunable: tower -> (path of its layer list, sub-configs of ``model.config`` whose
            ``num_hidden_layers`` follows it; "" names ``model.config`` itself).
        shapes: real-shape name -> spec (``image_size``, ``vocab_size``, ``vision``, ``text``,
            ``extra``) for random-weight timing models.
        tiny_sizes: (vision, text, extra) config sizes of a tiny model.
        tokenizer_template: post-processing template of the tiny tokenizer, e.g. ``"<bos> $A <eos>"``.
        caption_eos: append the tokenizer's EOS to training captions (when its template does not).
        bridge_tower: the tower between vision and language that ``prune_qformer_layers`` cuts (BLIP-2's
            Q-Former; BITA's Interactive Fourier Transformer), a key of :attr:`prunable`.
        frozen_towers: towers (keys of :attr:`towers`) that full training (``train_mode="full"``) leaves
            frozen, as the family's own recipe does (PureT: its Swin backbone).
        convert_options: option -> help of ``rsic convert <name>``, for a family whose authors released a
            checkpoint in their own format (see :meth:`convert`); empty = nothing to convert.
    """

    name: str
    title: str
    example: str
    model_type: str
    model_class: str
    processor_class: str
    prompt: str | None = None
    lora_targets: tuple[str, ...] | str = ()
    lora_presets: dict[str, Any] = {"all-linear": "all-linear"}
    towers: dict[str, str] = {}
    prunable: dict[str, tuple[str, tuple[str, ...]]] = {}
    shapes: dict[str, dict] = {}
    tiny_sizes: tuple[dict, dict, dict] = ({}, {}, {})
    tokenizer_template: str | None = None
    caption_eos: bool = False
    bridge_tower: str = "qformer"
    frozen_towers: tuple[str, ...] = ()
    convert_options: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def register(self) -> None:
        """Make ``AutoConfig``/``AutoProcessor`` know this family's own classes (a no-op for transformers' own).

        The registry calls it for every family before it reads a folder's ``config.json``; a family
        whose config, model and processor are written in this project (PureT, BITA) registers them
        with ``AutoConfig.register``/``AutoProcessor.register`` here, so that ``from_pretrained``
        opens its folders without ``trust_remote_code``. It must be cheap to call again.
        """

    def model_cls(self):
        """The ``PreTrainedModel`` class that loads (``from_pretrained``) and builds (``_from_config``) this family."""
        import transformers

        return getattr(transformers, self.model_class)

    def tiny_tokenizer(self, captions: list[str], vocab_size: int):
        """The tokenizer of a tiny model, trained on ``captions`` (default: byte-level BPE with :attr:`tokenizer_template`)."""
        from rsic_core.models.tiny import train_tokenizer

        return train_tokenizer(captions, vocab_size, self.tokenizer_template)

    def matches(self, config) -> bool:
        """Whether a transformers config (``config.json`` of a model) is of this family."""
        return getattr(config, "model_type", None) == self.model_type

    def encode(
        self,
        processor,
        images: list,
        captions: list[str] | None = None,
        prompt: str | None = None,
        padding_side: str | None = None,
    ):
        """Model inputs for ``images`` (and ``labels`` covering only caption tokens when ``captions``).

        Args:
            processor: the family's processor.
            images: PIL images.
            captions (None): one target caption per image, for training.
            prompt (None): overrides the family prompt.
            padding_side (None): "left" or "right"; default left for generation (it continues after
                the prompt) and right for training. With "left" every caption ends its row.

        Returns:
            A ``BatchFeature`` of CPU tensors.
        """
        side = padding_side or ("left" if captions is None else "right")
        if side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right' (got {side!r})")
        tokenizer = processor.tokenizer
        before = tokenizer.padding_side
        tokenizer.padding_side = side
        try:
            return self.build_inputs(processor, images, captions, self.prompt if prompt is None else prompt)
        finally:
            tokenizer.padding_side = before

    def build_inputs(self, processor, images: list, captions: list[str] | None, prompt: str | None):
        """What :meth:`encode` returns, with the tokenizer's padding side already set.

        The default serves decoders fed ``prompt + caption`` as one text (BLIP, BLIP-2, GIT): labels
        are the input ids with pad, image and prompt tokens masked.
        """
        if captions is None:
            if prompt:
                return processor(images=images, text=[prompt] * len(images), return_tensors="pt", padding="longest")
            return processor(images=images, return_tensors="pt")
        eos = processor.tokenizer.eos_token if self.caption_eos else ""
        texts = [(f"{prompt} {c}" if prompt else c) + eos for c in captions]
        batch = processor(images=images, text=texts, return_tensors="pt", padding="longest")
        batch["labels"] = caption_labels(batch, processor, self.prompt_tokens(processor, images, prompt))
        return batch

    def prompt_tokens(self, processor, images: list, prompt: str | None) -> int:
        """How many tokens of a training row come before the caption (image tokens, BOS, prompt)."""
        if not prompt:
            return 0  # image and BOS tokens are masked by id
        ids = processor(images=images[:1], text=[prompt], return_tensors="pt")["input_ids"][0]
        return len(ids) - int(ids[-1] == processor.tokenizer.eos_token_id)  # a closing EOS is not in the row

    def decode(self, processor, sequences, prompt_length: int) -> list[str]:
        """Captions from ``generate`` output (the prompt, when one was given, is cut off)."""
        texts = processor.tokenizer.batch_decode(sequences[:, prompt_length:], skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]

    def max_text_tokens(self, config) -> int | None:
        """How many positions the language model holds (prompt, image tokens and caption together).

        The default reads ``max_position_embeddings`` of ``config.text_config`` (or of ``config`` itself);
        None when the config does not say. A family whose decoder states its context elsewhere overrides this.
        """
        text_config = getattr(config, "text_config", None) or config
        value = getattr(text_config, "max_position_embeddings", None)
        return int(value) if isinstance(value, int) and value > 0 else None

    def tower_of(self, module_name: str) -> str:
        """The tower a module belongs to ("other" when none of :attr:`towers` fits)."""
        name = module_name.removeprefix("base_model.model.")
        for tower, prefix in self.towers.items():
            if name == prefix or name.startswith(prefix + "."):
                return tower
        return "other"

    def frozen_towers_of(self, config) -> tuple[str, ...]:
        """The towers full training leaves frozen for a model with this ``config`` (default :attr:`frozen_towers`).

        A family whose config says per model what is frozen (BITA's ``freeze_vision``/``freeze_language``, PureT's
        ``freeze_backbone``: a tiny model built from scratch trains them) overrides this.
        """
        return tuple(self.frozen_towers)

    def convert(self, checkpoint: str | Path, out: str | Path | None, check_only: bool = False, **options) -> str:
        """Turn the authors' released checkpoint into a model folder that ``load_captioner`` opens.

        Args:
            checkpoint: the authors' file, read with ``torch.load(weights_only=True)`` (never unpickled freely).
            out: the model folder to write (None with ``check_only``).
            check_only (False): build the architecture on the meta device, map the file's keys and
                report, writing nothing.
            **options: the family's :attr:`convert_options` (e.g. a vocabulary file, the frozen towers' source).

        Returns:
            One line for people, e.g. "513 of 513 keys mapped".

        Raises:
            ValueError: keys are missing, unexpected or mis-shaped (one sentence naming them).
        """
        raise NotImplementedError(f"{self.title} has no released checkpoint format to convert")

    def smallest_image_size(self, vision: dict, extra: dict) -> int:
        """The smallest input side (px) that gives the vision tower one cell: its patch (families with a deeper grid
        override this)."""
        patch = vision.get("patch_size", 1)
        return int(patch[0] if isinstance(patch, (list, tuple)) else patch)

    def check_sizes(self, vision: dict, text: dict, extra: dict) -> None:
        """Refuse sizes that build a model that cannot work: a size of 0, an image smaller than a patch or too large.

        Raises:
            ValueError: one sentence naming the option, the size and the range the architecture allows.
        """
        for option, sizes in (("--vision", vision), ("--text", text), ("--extra", extra)):
            for key, value in sizes.items():
                values = value if isinstance(value, (list, tuple)) else [value]
                is_size = (
                    any(p in key for p in ("size", "dim", "num_", "heads", "layers", "depths")) and "shift" not in key
                )
                wrong = [v for v in values if isinstance(v, bool) or (isinstance(v, int) and v < 1)]
                if is_size and wrong:
                    raise ValueError(f"{option}: {key} must be a whole number of 1 or more (got {value!r})")
        size, smallest = vision.get("image_size"), self.smallest_image_size(vision, extra)
        if not isinstance(size, int) or isinstance(size, bool) or not smallest <= size <= MAX_IMAGE_SIZE:
            raise ValueError(
                f"--image-size {size!r} does not fit a {self.title} model: the vision tower needs {smallest} to "
                f"{MAX_IMAGE_SIZE} px (a smaller image fills less than one patch or window; a larger one runs out of memory)"
            )

    def tiny_processor(self, tokenizer, vision: dict, extra: dict):
        """The family's processor around ``tokenizer`` for images of ``vision["image_size"]``."""
        raise NotImplementedError(f"{self.title} has no tiny model builder")

    def tiny_config(self, processor, vision: dict, text: dict, extra: dict):
        """The model config for ``vision``/``text``/``extra`` sizes (``text`` holds vocab and token ids)."""
        raise NotImplementedError(f"{self.title} has no tiny model builder")

    def grounding_methods(self) -> tuple[str, ...]:
        """The methods of :mod:`rsic_core.models.grounding` that explain this family's captions, default first."""
        return ()

    def grounding_maps(self, captioner, inputs: dict, sequences, positions: list[int], method: str):
        """One map over the image grid per generated token, for :func:`rsic_core.models.grounding.explain_image`.

        Args:
            captioner: the loaded model (eager attention is on during the call).
            inputs: what :meth:`encode` gave for the one image, on the model's device.
            sequences: ``generate``'s output, ``[1, length]``.
            positions: indices in ``sequences[0]`` of the tokens to explain.
            method: one of :meth:`grounding_methods`.

        Returns:
            A float tensor ``[len(positions), rows, cols]``: the map of each token over the model's image grid.
        """
        raise NotImplementedError(f"{self.title} models cannot show where they looked")


def image_token_id(processor) -> int | None:
    """The id of the processor's image placeholder token (PaliGemma's ``<image>``, BLIP-2's), None without one."""
    image_token = getattr(processor, "image_token", None)
    if image_token is None:
        return None
    return processor.tokenizer.convert_tokens_to_ids(str(getattr(image_token, "content", image_token)))


def caption_labels(batch, processor, prompt_tokens: int = 0):
    """``input_ids`` with pad, image and the first ``prompt_tokens`` real tokens of each row set to -100.

    Counting real (attended) tokens finds the prompt on either padding side, also where the
    processor puts image tokens before the pads (BLIP-2).
    """
    labels = batch["input_ids"].clone()
    attention = batch["attention_mask"]
    labels[attention == 0] = IGNORE_INDEX
    image_id = image_token_id(processor)
    if image_id is not None:
        labels[labels == image_id] = IGNORE_INDEX
    if prompt_tokens:
        labels[attention.cumsum(dim=1) <= prompt_tokens] = IGNORE_INDEX
    return labels


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
    def lora_targets(self) -> tuple[str, ...] | str:
        return self.family.lora_targets

    @property
    def prompt(self) -> str | None:
        return self.family.prompt

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, folder: str | Path) -> Path:
        """Write model and processor with ``save_pretrained`` (loadable by ``registry.load_captioner``)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)
        return folder


def choose_device(device: str | None = None) -> str:
    """``device`` if given ("cpu", "cuda", "cuda:1", "mps", "meta"), else CUDA when available, else CPU.

    Raises:
        ValueError: one sentence for a device torch does not know, or one this machine does not have.
    """
    import torch

    if not device or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda, cuda:N, mps or auto") from None
    if kind.type in ("cpu", "meta"):
        return device
    backend = torch.backends.mps if kind.type == "mps" else getattr(torch, kind.type, None)
    if kind.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use --device cpu")
    if backend is None or not hasattr(backend, "is_available") or not backend.is_available():
        raise ValueError(f"device {device!r} is not available on this machine; use cpu, cuda, cuda:N, mps or auto")
    count = torch.cuda.device_count() if kind.type == "cuda" else None
    if count is not None and kind.index is not None and kind.index >= count:
        raise ValueError(f"device {device!r} does not exist: this machine has {count} CUDA device(s), cuda:0 first")
    return device


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
