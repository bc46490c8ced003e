"""Opening the parts of a model folder and of a LoRA adapter folder, each failure told in one sentence.

Weights are read from safetensors only. A folder or adapter whose weights are pickled
(``pytorch_model.bin``, ``adapter_model.bin``, ``*.pt``) is refused before anything reads it:
unpickling a file can run any code it holds, and caches and downloaded folders are easy to plant.
Everything else that can be wrong with a folder (config.json that is not JSON, no weights,
truncated weights, no processor files, an adapter made for other layer sizes, weights holding NaN or
infinity) is checked or caught here and raised as ``ValueError``/``FileNotFoundError`` naming the folder
(and the tensor), so the command line, the app and the demo show one line instead of a traceback.

Example::

    check_model_folder(folder)                    # before the (slow) load
    config = open_config(folder)
    model = open_weights(family.model_cls(), folder, dtype)
    model = merge_adapter(model, "runs/lora/adapter", model_name=str(folder))
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path

MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")  # what save_pretrained writes
ADAPTER_WEIGHTS = "adapter_model.safetensors"  # what peft's save_pretrained writes
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "vocab.txt")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
WHY_NOT_PICKLE = "pickle can run any code when it is loaded, so this project loads safetensors weights only"


def check_model_folder(folder: str | Path) -> None:
    """Refuse a model folder whose config, weights or processor files are missing, broken or pickled.

    Raises:
        FileNotFoundError: config.json, the weights or the processor files are missing.
        ValueError: config.json is not a JSON object with a ``model_type``, or the weights are pickled.
    """
    folder = Path(folder)
    config = read_json(folder / "config.json")
    if "model_type" not in config:
        raise ValueError(f"{folder / 'config.json'} names no model_type (not a transformers model config)")
    if not any((folder / name).is_file() for name in MODEL_WEIGHTS):
        _refuse_pickles(folder, "model")
        raise FileNotFoundError(f"{folder}: no model weights (model.safetensors) in this folder")
    if not any((folder / name).is_file() for name in PROCESSOR_FILES):
        raise FileNotFoundError(
            f"{folder}: no processor files (processor_config.json or preprocessor_config.json); "
            "save the processor beside the model with processor.save_pretrained"
        )
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise FileNotFoundError(f"{folder}: no tokenizer files (tokenizer.json or tokenizer_config.json)")


def check_adapter_folder(folder: str | Path) -> Path:
    """The adapter folder, refused when it is not a peft LoRA folder with safetensors weights.

    Raises:
        FileNotFoundError: no such folder, no adapter_config.json or no adapter weights.
        ValueError: adapter_config.json is not JSON, or the weights are pickled.
    """
    folder = Path(folder).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{folder}: not a LoRA adapter folder (no adapter_config.json)")
    read_json(folder / "adapter_config.json")
    if not (folder / ADAPTER_WEIGHTS).is_file():
        _refuse_pickles(folder, "adapter")
        raise FileNotFoundError(f"no adapter weights ({ADAPTER_WEIGHTS}) in {folder}")
    return folder


def read_json(path: Path) -> dict:
    """The JSON object in ``path``, or one sentence saying why it is not one."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a UTF-8 text file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise ValueError(f"{path} is nested too deeply to be a config") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} does not hold a JSON object (found {type(value).__name__})")
    return value


def open_config(source: str):
    """``AutoConfig.from_pretrained(source)``, its failures as one sentence naming config.json."""
    import transformers
    from huggingface_hub.errors import StrictDataclassError

    try:
        return transformers.AutoConfig.from_pretrained(source)
    except (ValueError, TypeError, KeyError, OSError, StrictDataclassError) as e:
        raise ValueError(f"{source}: config.json cannot be read as a model config ({_one_line(e)})") from None


def open_processor(source: str):
    """``AutoProcessor.from_pretrained(source)``, its failures as one sentence."""
    import transformers

    try:
        return transformers.AutoProcessor.from_pretrained(source)
    except Exception as e:  # OSError, ValueError, tokenizers' plain Exception for a broken tokenizer.json
        raise ValueError(f"{source}: the processor files cannot be read ({_one_line(e)})") from None


def open_weights(model_cls, source: str, dtype):
    """The model of class ``model_cls`` (a ``PreTrainedModel``) from safetensors weights only (``use_safetensors=True``).

    Raises:
        FileNotFoundError: no safetensors weights.
        ValueError: the weights are truncated or corrupt, do not fit config.json, or lack weights the
            model needs (transformers would fill those with random values and only log a warning).
    """
    from safetensors import SafetensorError

    try:
        with _load_report_held() as report:
            model, info = model_cls.from_pretrained(source, dtype=dtype, use_safetensors=True, output_loading_info=True)
    except SafetensorError as e:
        raise ValueError(
            f"{source}: the weights are truncated or corrupt ({e}); save or copy the model again"
        ) from None
    except OSError as e:
        raise FileNotFoundError(f"{source}: no model weights that can be loaded ({_one_line(e)})") from None
    except RuntimeError as e:
        if "mismatch" not in str(e):
            raise
        raise ValueError(f"{source}: the weights do not fit config.json (the layer sizes differ)") from None
    _refuse_nonfinite(model, source)
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ValueError(
            f"{source}: the weights lack {len(missing)} of the model's tensors ({shown}); they were saved from "
            "another architecture or are incomplete, and would be left random"
        )
    report.release()
    return model


class _HeldRecords(logging.Filter):
    """Holds back the records of a logger; :meth:`release` logs them after all."""

    def __init__(self, logger: logging.Logger):
        super().__init__()
        self.logger, self.records = logger, []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return False

    def release(self) -> None:
        for record in self.records:
            self.logger.handle(record)
        self.records = []


@contextlib.contextmanager
def _load_report_held():
    """transformers' LOAD REPORT (a table of every mismatched or missing tensor) held back during the block.

    A load this module refuses says why in one sentence, so the table is dropped; a load that goes on
    logs it with :meth:`_HeldRecords.release` (e.g. the tensors of the file the model does not use).
    """
    logger = logging.getLogger("transformers.modeling_utils")
    held = _HeldRecords(logger)
    logger.addFilter(held)
    try:
        yield held
    finally:
        logger.removeFilter(held)


@contextlib.contextmanager
def quiet_peft():
    """peft with this project's transformers: no "`is_gradient_checkpointing` is deprecated" FutureWarning.

    peft 0.21 reads the attribute that transformers 5 renamed, on every adapter it wraps or loads; the
    warning is about the pair of versions requirements.txt pins, nothing a user can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def merge_adapter(model, adapter: str | Path, model_name: str):
    """``model`` with the LoRA adapter folder merged into its weights (peft), checked first.

    Raises:
        FileNotFoundError / ValueError: see :func:`check_adapter_folder`; also an adapter made for a
            model with other layer sizes or other module names, or truncated adapter weights.
    """
    from peft import PeftModel
    from safetensors import SafetensorError

    folder = check_adapter_folder(adapter)
    try:
        bad = first_nonfinite([folder / ADAPTER_WEIGHTS])
    except SafetensorError as e:
        raise ValueError(f"{folder / ADAPTER_WEIGHTS}: the adapter weights are truncated or corrupt ({e})") from None
    if bad:
        raise ValueError(
            f"adapter {folder}: the weights hold NaN or infinite values ({bad}); a run that diverged saved them, "
            "and merged into the model they would caption nothing"
        )
    try:
        with quiet_peft():
            return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    except SafetensorError as e:
        raise ValueError(f"{folder / ADAPTER_WEIGHTS}: the adapter weights are truncated or corrupt ({e})") from None
    except RuntimeError as e:
        if "size mismatch" not in str(e):
            raise
        raise ValueError(
            f"adapter {folder} does not fit model {model_name}: it was trained on a model with other layer sizes "
            f"({_first_mismatch(str(e))})"
        ) from None
    except ValueError as e:  # e.g. "Target modules {...} not found in the base model. Please check ..."
        reason = _one_line(e).split(". ")[0].rstrip(".")
        raise ValueError(f"adapter {folder} does not fit model {model_name}: {reason}") from None


def first_nonfinite(files) -> str | None:
    """The name of the first floating-point tensor holding NaN or infinity in safetensors ``files``, or None.

    Each tensor is read from the memory-mapped file and checked by :func:`all_finite` (one pass over the weights).
    """
    from safetensors import safe_open

    for file in files:
        with safe_open(str(file), framework="pt") as opened:
            for name in opened.keys():
                tensor = opened.get_tensor(name)
                if not all_finite(tensor):
                    return name
    return None


def all_finite(tensor) -> bool:
    """Whether a tensor holds no NaN or infinity (integers always do): its min and max in one pass.

    ``torch.aminmax`` reads the tensor once and allocates nothing (NaN propagates to both ends), about ten times
    faster on CPU than ``torch.isfinite(t).all()``, which writes a boolean tensor first.
    """
    import math

    import torch

    if not tensor.is_floating_point() or tensor.numel() == 0:
        return True
    try:
        low, high = torch.aminmax(tensor)
    except (RuntimeError, NotImplementedError):  # a dtype without a CPU kernel (float8)
        return bool(torch.isfinite(tensor.float()).all())
    return math.isfinite(low.item()) and math.isfinite(high.item())


def _refuse_nonfinite(model, source) -> None:
    """Refuse a loaded model whose weights hold NaN or infinity (it would caption "" or garbage), naming the tensor."""
    for name, tensor in model.named_parameters():
        if not all_finite(tensor.detach()):
            raise ValueError(
                f"{source}: the weights hold NaN or infinite values ({name}); the model cannot caption: "
                "train or convert it again"
            )


def _refuse_pickles(folder: Path, what: str) -> None:
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file())
    if pickled:
        raise ValueError(
            f"{folder}: the {what} weights are pickled ({', '.join(pickled[:3])}) and are refused: {WHY_NOT_PICKLE} "
            "(convert them where you trust the file: load, then save_pretrained writes safetensors)"
        )


def _first_mismatch(text: str) -> str:
    """``q_proj.lora_A: [4, 64] in the adapter, [4, 32] in the model`` from torch's size-mismatch report."""
    import re

    found = re.search(
        r"size mismatch for (\S+): copying a param with shape torch\.Size\((\[[^]]*\])\) from checkpoint, "
        r"the shape in current model is torch\.Size\((\[[^]]*\])\)",
        text,
    )
    if not found:
        return "the shapes differ"
    name = found.group(1).removeprefix("base_model.model.").replace(".default", "")
    return f"{name}: {found.group(2)} in the adapter, {found.group(3)} in the model"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."
