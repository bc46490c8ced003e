"""Bad inputs of the models and ``rsic caption``: broken model and adapter folders, pickles, devices, --out, token limits.

Every model folder is a tiny PaliGemma saved with ``save_pretrained`` (built once per test session),
then broken one way per case.
"""

from __future__ import annotations

import atexit
import json
import pickle
import shutil
import tempfile
from pathlib import Path

from tests.bad_inputs import NOTE, BadInput, Outcome, cli, shown_lines

_BUILT: dict[str, Path] = {}


def _saved(kind: str) -> Path:
    """A tiny model ("model", "short": a 40-token context) or adapter ("adapter", "wide-adapter"), built once."""
    if kind not in _BUILT:
        from peft import LoraConfig, get_peft_model

        from rsic_core.models.registry import build_tiny

        folder = Path(tempfile.mkdtemp(prefix=f"rsic-bad-{kind}-"))
        atexit.register(shutil.rmtree, folder, True)
        if kind in ("model", "short"):
            text = {"max_position_embeddings": 40} if kind == "short" else None
            build_tiny("paligemma", text=text).save(folder)
        else:
            base = build_tiny("paligemma", text={"hidden_size": 64} if kind == "wide-adapter" else None)
            get_peft_model(base.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(folder)
        _BUILT[kind] = folder
    return _BUILT[kind]


def _copy(kind: str, tmp: Path, name: str | None = None) -> Path:
    return Path(shutil.copytree(_saved(kind), tmp / (name or kind)))


def _image(tmp: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (40, 40), (30, 120, 60)).save(tmp / "scene.png")
    return tmp / "scene.png"


def break_model_folder(folder: Path, breakage: str) -> None:
    """Damage a saved model folder the way ``breakage`` (a key of :data:`MODEL_BREAKAGES`) says."""
    config, weights = folder / "config.json", folder / "model.safetensors"
    if breakage == "config.json not JSON":
        config.write_text("{model_type: paligemma")
    elif breakage == "config.json a list":
        config.write_text("[1, 2]")
    elif breakage == "config.json without model_type":
        config.write_text("{}")
    elif breakage == "config.json nested 100000 deep":
        config.write_text("[" * 100_000 + "]" * 100_000)
    elif breakage in ("config.json with a wrong value", "weights of other sizes"):
        values = json.loads(config.read_text())
        values["text_config"]["hidden_size"] = "wide" if breakage == "config.json with a wrong value" else 64
        config.write_text(json.dumps(values))
    elif breakage == "no config.json":
        config.unlink()
    elif breakage == "no weights":
        weights.unlink()
    elif breakage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif breakage == "pickled weights (pytorch_model.bin)":
        weights.unlink()
        (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": [1.0]}))
    elif breakage == "no processor files":
        (folder / "processor_config.json").unlink()
    elif breakage == "no tokenizer files":
        (folder / "tokenizer.json").unlink()
        (folder / "tokenizer_config.json").unlink()
    elif breakage == "broken tokenizer.json":
        (folder / "tokenizer.json").write_text('{"version": "1.0", "trunc')
    elif breakage == "weights holding NaN":
        poison(weights)
    else:
        raise KeyError(breakage)


MODEL_BREAKAGES = {  # breakage -> the sentence expected
    "config.json not JSON": r"config.json is not valid JSON \(line 1, column 2",
    "config.json a list": r"config.json does not hold a JSON object",
    "config.json without model_type": r"config.json names no model_type",
    "config.json nested 100000 deep": r"config.json is nested too deeply",
    "config.json with a wrong value": r"config.json cannot be read as a model config .*hidden_size",
    "no config.json": r"holds no config.json",
    "no weights": r"no model weights \(model.safetensors\)",
    "truncated weights": r"the weights are truncated or corrupt",
    "weights of other sizes": r"the weights do not fit config.json",
    "pickled weights (pytorch_model.bin)": r"pickled \(pytorch_model.bin\) and are refused: pickle can run any code",
    "no processor files": r"no processor files",
    "no tokenizer files": r"no tokenizer files",
    "broken tokenizer.json": r"the processor files cannot be read",
    "weights holding NaN": r"the weights hold NaN or infinite values \(\S+\); the model cannot caption",
}


def poison(weights: Path, value: float = float("nan")) -> None:
    """Write ``value`` into the first floating-point tensor of a safetensors file (what a diverged run saves)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(weights), framework="pt") as opened:
        metadata, tensors = opened.metadata(), {k: opened.get_tensor(k) for k in opened.keys()}
    name = next(k for k, t in tensors.items() if t.is_floating_point())
    tensors[name].view(-1)[0] = value
    save_file(tensors, str(weights), metadata=metadata)


def _broken_model(breakage: str):
    def build(tmp: Path) -> dict:
        folder = _copy("model", tmp)
        break_model_folder(folder, breakage)
        return {"image": _image(tmp), "model": folder}

    return build


def _caption(*options):
    """Run ``rsic caption IMAGE --model MODEL OPTIONS`` on what build returned (options name its keys as {key})."""

    def run(built: dict) -> Outcome:
        argv = ["caption", built["image"], "--model", built.get("model", "demo")]
        return cli(argv + [str(o).format(**built) for o in options])

    return run


def _with_model(**extra):
    def build(tmp: Path) -> dict:
        return {"image": _image(tmp), "model": _saved("model"), "tmp": tmp, **{k: f(tmp) for k, f in extra.items()}}

    return build


def _adapter(change):
    def make(tmp: Path) -> Path:
        folder = _copy("adapter", tmp)
        change(folder)
        return folder

    return make


def _pickled_adapter(folder: Path) -> None:
    (folder / "adapter_model.safetensors").unlink()
    (folder / "adapter_model.bin").write_bytes(pickle.dumps({"weights": [1.0]}))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _notes_file(tmp: Path) -> Path:
    (tmp / "kept").mkdir()
    (tmp / "kept" / "notes.txt").write_text("my notes, not predictions\n")
    return tmp / "kept" / "notes.txt"


def _partial_left(tmp: Path) -> Path:
    (tmp / "kept").mkdir()
    (tmp / "kept" / "preds.jsonl.partial").write_text('{"image": "a.jpg", "caption": "a lake"}\n')
    return tmp / "kept" / "preds.jsonl"


def _four_band_tiff(tmp: Path) -> Path:
    import numpy as np
    import rasterio

    bands = np.random.default_rng(0).integers(200, 4000, size=(4, 32, 32), dtype=np.uint16)
    with rasterio.open(tmp / "scene.tif", "w", driver="GTiff", width=32, height=32, count=4, dtype="uint16") as f:
        f.write(bands)
    return tmp / "scene.tif"


def _note(built: dict) -> Outcome:
    """The ``rsic: note:`` line of a run that worked (exit 0) but capped the token limits."""
    outcome = _caption("--gen-max-new-tokens", 2000, "--gen-min-new-tokens", 2000)(built)
    notes = [line for line in shown_lines(outcome.output) if line.startswith(NOTE)]
    return Outcome("\n".join(notes), outcome.exit_code, outcome.output, stray=outcome.message)


CASES = [
    BadInput(
        f"rsic caption: a model folder with {breakage}",
        _broken_model(breakage),
        _caption(),
        expected,
        exit_code=2,
    )
    for breakage, expected in MODEL_BREAKAGES.items()
] + [
    BadInput(
        "rsic caption --out a folder",
        _with_model(),
        _caption("--out", "{tmp}"),
        r"--out .* is a folder; name a file in it",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --out a path under a file",
        _with_model(out=_notes_file),
        _caption("--out", "{out}/preds.jsonl"),
        r"cannot be written: .*notes.txt is a file, not a folder",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --out an existing file that is not predictions",
        _with_model(out=_notes_file),
        _caption("--out", "{out}"),
        r"notes.txt exists and is not a predictions file of rsic caption",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --out beside the .partial file of a stopped run",
        _with_model(out=_partial_left),
        _caption("--out", "{out}"),
        r"preds.jsonl.partial exists: another rsic caption is writing .* or one was stopped",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --device foo",
        _with_model(),
        _caption("--device", "foo"),
        r"unknown device 'foo'; use cpu, cuda, cuda:N, mps or auto",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --device cuda:99",
        _with_model(),
        _caption("--device", "cuda:99"),
        r"device 'cuda:99' (was asked for but CUDA is not available|does not exist)",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter with pickled weights (adapter_model.bin)",
        _with_model(adapter=_adapter(_pickled_adapter)),
        _caption("--adapter", "{adapter}"),
        r"adapter weights are pickled \(adapter_model.bin\) and are refused: pickle can run any code",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter whose weights hold infinity (saved by a diverged run)",
        _with_model(adapter=_adapter(lambda f: poison(f / "adapter_model.safetensors", float("inf")))),
        _caption("--adapter", "{adapter}"),
        r"adapter .*adapter: the weights hold NaN or infinite values \(\S+lora_\S+\)",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter a folder without weights",
        _with_model(adapter=_adapter(lambda f: (f / "adapter_model.safetensors").unlink())),
        _caption("--adapter", "{adapter}"),
        r"no adapter weights \(adapter_model.safetensors\) in .*adapter$",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter with truncated weights",
        _with_model(adapter=_adapter(lambda f: _truncate(f / "adapter_model.safetensors"))),
        _caption("--adapter", "{adapter}"),
        r"adapter_model.safetensors: the adapter weights are truncated or corrupt",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter whose adapter_config.json is not JSON",
        _with_model(adapter=_adapter(lambda f: (f / "adapter_config.json").write_text("{"))),
        _caption("--adapter", "{adapter}"),
        r"adapter_config.json is not valid JSON",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter made for other layer sizes",
        _with_model(adapter=lambda tmp: _copy("wide-adapter", tmp)),
        _caption("--adapter", "{adapter}"),
        r"adapter .*wide-adapter does not fit model .*: it was trained on a model with other layer sizes "
        r"\(.*\[4, 64\] in the adapter, \[4, 32\] in the model\)",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --adapter a folder that is not an adapter",
        _with_model(adapter=lambda tmp: _copy("model", tmp)),
        _caption("--adapter", "{adapter}"),
        r"not a LoRA adapter folder \(no adapter_config.json\)",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --image-bands that are not band numbers",
        _with_model(),
        _caption("--image-bands", "4,x,2"),
        r"image_bands: bands must be 1-based band numbers such as 4,3,2 \(got '4,x,2'\)",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --image-bands 7,3,2 on a 4-band image",
        lambda tmp: {"image": _four_band_tiff(tmp), "model": _saved("model")},
        _caption("--image-bands", "7,3,2"),
        r"scene.tif: there is no band 7: the image has 4 bands \(numbered 1-4\)",
        exit_code=1,
    ),
    BadInput(
        "rsic caption --gen-min-new-tokens greater than --gen-max-new-tokens",
        _with_model(),
        _caption("--gen-min-new-tokens", 2000),
        r"gen_min_new_tokens \(2000\) is greater than gen_max_new_tokens \(30\)",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --gen-min-new-tokens -1",
        _with_model(),
        _caption("--gen-min-new-tokens", -1),
        r"gen_min_new_tokens must be 0 or more",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --gen-max-new-tokens 2000 --gen-min-new-tokens 2000 (past the model's context)",
        lambda tmp: {"image": _image(tmp), "model": _saved("short")},
        _note,
        r"rsic: note: gen_max_new_tokens 2000 and gen_min_new_tokens 2000 capped at \d+: "
        r"the model's context holds 40 tokens and the prompt takes \d+",
        exit_code=0,
    ),
]


def _model_new(*options):
    return lambda tmp: cli(["model", "new", "paligemma", "--out", tmp / "new-model", *options])


def _release(change):
    """The released PureT file's keys and shapes (stride-0 tensors, a few kB) with one tensor changed by ``change``."""

    def build(tmp: Path) -> Path:
        import torch

        from tests.support.puret import reference_state

        state = reference_state()
        key = "module.encoder.layers.0.ff_layer.fc1.weight"
        state[key] = change(state[key])
        torch.save(state, tmp / "caption_model_27.pth")
        return tmp / "caption_model_27.pth"

    return build


def _demo(argv: list[str]) -> Outcome:
    """``python demo.py ARGV`` in this process (the Gradio demo's own command line)."""
    import contextlib
    import io
    import re
    import sys

    from tests.bad_inputs import BESIDES, _user_stderr

    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    import demo

    out, err = io.StringIO(), io.StringIO()
    with _user_stderr(err), contextlib.redirect_stdout(out):
        code = demo.main(argv)
    message = "\n".join(line for line in shown_lines(err.getvalue()) if not any(re.fullmatch(b, line) for b in BESIDES))
    return Outcome(message=message, exit_code=code, output=out.getvalue() + err.getvalue())


SIZE_CASES = [  # options that make a model that cannot work: refused before anything is built or written
    BadInput(
        "rsic model new --image-size 7 (smaller than a patch)",
        lambda tmp: tmp,
        _model_new("--image-size", 7),
        r"--image-size 7 does not fit a PaliGemma model: the vision tower needs 8 to 2048 px",
        exit_code=2,
    ),
    BadInput(
        "rsic model new --image-size 100000",
        lambda tmp: tmp,
        _model_new("--image-size", 100_000),
        r"--image-size 100000 does not fit a PaliGemma model: the vision tower needs 8 to 2048 px",
        exit_code=2,
    ),
    BadInput(
        "rsic model new --vision with a width of 0",
        lambda tmp: tmp,
        _model_new("--vision", '{"hidden_size": 0}'),
        r"--vision: hidden_size must be a whole number of 1 or more \(got 0\)",
        exit_code=2,
    ),
    BadInput(
        "rsic model new --text with 0 layers",
        lambda tmp: tmp,
        _model_new("--text", '{"num_hidden_layers": 0}'),
        r"--text: num_hidden_layers must be a whole number of 1 or more \(got 0\)",
        exit_code=2,
    ),
]

CONVERT_CASES = [  # a converter that checked shapes only wrote models that caption ""
    BadInput(
        "rsic convert puret: a tensor holding NaN",
        _release(lambda t: torch_full(t, float("nan"))),
        lambda path: cli(["convert", "puret", path, "--check-only"]),
        r"caption_model_27.pth does not fit the model .*1 holding NaN or infinite values "
        r"\(encoder.layers.0.ff_layer.fc1.weight\)",
        exit_code=2,
    ),
    BadInput(
        "rsic convert puret: integer weights where the model has floats",
        _release(lambda t: t.long()),
        lambda path: cli(["convert", "puret", path, "--check-only"]),
        r"1 of another kind of number \(encoder.layers.0.ff_layer.fc1.weight: int64 in the file, float32 in the model\)",
        exit_code=2,
    ),
]

DEMO_CASES = [
    BadInput(
        "demo.py --port 70000",
        lambda tmp: tmp,
        lambda tmp: _demo(["--port", "70000", "--model", "demo"]),
        r"^demo: error: --port 70000 is not a port number \(1 to 65535\)$",
        exit_code=2,
    ),
]


def torch_full(like, value: float):
    """A stride-0 tensor of ``like``'s shape holding ``value`` (a few bytes on disk)."""
    import torch

    return torch.full((1,), value, dtype=like.dtype).expand(like.shape)


CASES += SIZE_CASES + CONVERT_CASES + DEMO_CASES
