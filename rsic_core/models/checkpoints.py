"""Reading the authors' released checkpoints safely, and checking their keys against a model.

A family's ``convert()`` (:meth:`~rsic_core.models.base.Family.convert`) reads the authors' file with
:func:`read_state_dict`, renames its keys to the project's module names, and asks :func:`compare_keys`
whether the renamed tensors fit the model exactly before loading them strictly. Nothing here
unpickles freely: ``torch.load(weights_only=True)`` reads plain tensors, numbers, strings, lists and
dicts (legacy and zip formats alike) and refuses any other pickled object.

API::

    state = read_state_dict("caption_model_27.pth")                      # PureT: bare state_dict, "module." removed
    state = read_state_dict("checkpoint_best.pth", container_key="model", strip_prefix="")   # BITA
    mapped, unmapped = my_mapping(state)                                  # family code: file key -> model key
    check = compare_keys(mapped, model.state_dict(), file_keys=len(state), unmapped=unmapped)
    check.ok, check.sentence()       # True, "513 of 513 keys mapped"
    # or: False, "the checkpoint does not fit the model: 1 missing (decoder.generator.bias), ..."

``model.state_dict()`` may come from a model built on the meta device: shapes and kinds of number (integer
or floating point) are compared, and the file's own tensors must hold no NaN or infinity.
A file that holds only part of a model (BITA keeps only its trained parameters) passes the other
part's prefixes as ``skip_missing``. Every failure is one sentence: :class:`FileNotFoundError` for
a missing file, :class:`ValueError` for anything else (not a torch file, refused pickled objects,
not a dict, no ``container_key``, a value that is not a tensor).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SHOWN = 3  # names shown per kind of problem in a sentence


def read_state_dict(
    path: str | Path, container_key: str | None = None, strip_prefix: str = "module."
) -> dict[str, object]:
    """The tensors of a released checkpoint, keyed by name, with ``strip_prefix`` removed.

    Args:
        path: a file written by ``torch.save`` (zip or the legacy pre-1.6 format).
        container_key (None): the key of a wrapper dict that holds the state dict (e.g. "model");
            None = the file is the state dict itself.
        strip_prefix ("module."): removed from every key that starts with it (DataParallel's prefix);
            "" keeps the keys as they are.

    Returns:
        Key -> CPU tensor (zip files are memory-mapped, so a large file is not read into memory at once).

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: one sentence: not a PyTorch file, holds pickled objects other than tensors, is not
            a dict, lacks ``container_key``, or holds a value that is not a tensor.
    """
    import pickle

    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError:  # torch's weights-only refusal; its text advises weights_only=False: never shown
        raise ValueError(pickle_refusal(path)) from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a PyTorch checkpoint that can be read ({_first_line(e)})") from None
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{path}: holds a {type(loaded).__name__}, not a dict of tensors (a state_dict)")
    if container_key is not None:
        if container_key not in loaded:
            found = ", ".join(map(str, list(loaded)[:5])) or "nothing"
            raise ValueError(f"{path}: has no {container_key!r} entry holding the weights (its keys: {found})")
        loaded = loaded[container_key]
        if not isinstance(loaded, Mapping):
            raise ValueError(f"{path}: its {container_key!r} entry is a {type(loaded).__name__}, not a state_dict")
    state = {}
    for key, value in loaded.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor (not a state_dict)")
        name = str(key)
        state[name[len(strip_prefix) :] if strip_prefix and name.startswith(strip_prefix) else name] = value
    return state


def pickle_refusal(path: str | Path) -> str:
    """Why ``torch.load(path, weights_only=True)`` refused a file, in one sentence that never advises unpickling.

    The refused globals are named when the file is a zip checkpoint (``get_unsafe_globals_in_checkpoint``
    lists them without unpickling anything); a file that is no checkpoint at all is said to be one.
    """
    import torch

    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path) if zipfile.is_zipfile(path) else None
    except Exception:  # a broken zip: nothing more to learn from it
        unsafe = None
    if unsafe:
        return (
            f"{path}: refused: the file holds pickled objects other than tensors, numbers and dicts "
            f"({', '.join(unsafe[:SHOWN])}); unpickling them could run any code, so it is never done"
        )
    return (
        f"{path}: refused: not a PyTorch checkpoint of plain tensors (torch.load with weights_only=True reads "
        "tensors, numbers and dicts only; unpickling anything else could run code)"
    )


def checkpoint_refusal(folder: str | Path) -> str:
    """Why a run's Trainer checkpoint (optimizer, scheduler, RNG state) was refused by a weights-only load.

    Names the files holding pickled objects other than tensors and the NumPy state the Trainer allows.
    """
    import torch

    planted = []
    for file in sorted(Path(folder).glob("*")):
        if file.suffix in (".pt", ".pth") and zipfile.is_zipfile(file):  # not training_args.bin: never loaded
            try:
                found = torch.serialization.get_unsafe_globals_in_checkpoint(file)
            except Exception:  # a broken zip: the load below names it
                continue
            if any(not g.startswith("numpy") for g in found):
                planted.append(f"{file.name}: {', '.join(g for g in found if not g.startswith('numpy'))}")
    named = f" ({'; '.join(planted[:SHOWN])})" if planted else ""
    return (
        f"{folder}: refused: the checkpoint holds pickled objects other than tensors{named}; unpickling them could "
        "run any code, so it is never done: delete this checkpoint folder (the run resumes from an earlier one) "
        "or train afresh with --overwrite"
    )


@dataclass
class KeyCheck:
    """How a mapped checkpoint fits a model: counts, and every key that does not fit."""

    mapped: int  # file keys that landed on a model tensor of the same shape (or were knowingly dropped)
    file_keys: int  # keys in the file
    expected: int  # tensors the model expects (after ``skip_missing``)
    missing: list[str] = field(default_factory=list)  # model tensors the file does not give
    unexpected: list[str] = field(default_factory=list)  # file keys with no place in the model
    mis_shaped: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # (key, file shape, model shape)
    mis_typed: list[tuple[str, str, str]] = field(default_factory=list)  # (key, file dtype, model dtype): int vs float
    non_finite: list[str] = field(default_factory=list)  # file tensors holding NaN or infinity

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mis_shaped or self.mis_typed or self.non_finite)

    def sentence(self, what: str = "the checkpoint") -> str:
        """ "513 of 513 keys mapped", or one sentence naming the first few missing/unexpected/mis-shaped keys."""
        if self.ok:
            return f"{self.mapped} of {self.file_keys} keys mapped"
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing ({_names(self.missing)})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected ({_names(self.unexpected)})")
        if self.mis_shaped:
            shown = [f"{k}: {list(a)} in the file, {list(b)} in the model" for k, a, b in self.mis_shaped[:SHOWN]]
            more = f" and {len(self.mis_shaped) - SHOWN} more" if len(self.mis_shaped) > SHOWN else ""
            parts.append(f"{len(self.mis_shaped)} mis-shaped ({'; '.join(shown)}{more})")
        if self.mis_typed:
            shown = [f"{k}: {a} in the file, {b} in the model" for k, a, b in self.mis_typed[:SHOWN]]
            more = f" and {len(self.mis_typed) - SHOWN} more" if len(self.mis_typed) > SHOWN else ""
            parts.append(f"{len(self.mis_typed)} of another kind of number ({'; '.join(shown)}{more})")
        if self.non_finite:
            parts.append(f"{len(self.non_finite)} holding NaN or infinite values ({_names(self.non_finite)})")
        return f"{what} does not fit the model ({self.mapped} of {self.file_keys} keys mapped): " + ", ".join(parts)


def compare_keys(
    mapped: Mapping[str, object],
    expected: Mapping[str, object],
    file_keys: int | None = None,
    unmapped: Sequence[str] = (),
    dropped: int = 0,
    skip_missing: Sequence[str] = (),
    sources: Mapping[str, str] | None = None,
) -> KeyCheck:
    """Compare a renamed checkpoint with a model's ``state_dict()``: shapes, kinds of number, finite values.

    The model's tensors may be on the meta device (only their shapes and dtypes are read); the file's
    tensors are checked for NaN and infinity (one pass over memory-mapped data).

    Args:
        mapped: model key -> tensor (or anything with ``.shape``) from the file, after renaming.
        expected: the model's ``state_dict()``.
        file_keys (None): how many keys the file holds (default: mapped + unmapped + dropped).
        unmapped (()): file keys the renaming did not recognise (reported as unexpected).
        dropped (0): file keys knowingly left out because the model rebuilds them (e.g. attention-mask
            buffers); they count as mapped.
        skip_missing (()): model key prefixes the file is not meant to hold (frozen towers loaded elsewhere).
        sources (None): model key -> the file key it came from, where one file key gives several model
            tensors (a fused ``qkv`` split in three); counts are of file keys. Default: one to one.

    Returns:
        A :class:`KeyCheck`.
    """
    wanted = {k: v for k, v in expected.items() if not any(k.startswith(p) for p in skip_missing)}
    missing = sorted(k for k in wanted if k not in mapped)
    unexpected = list(unmapped) + sorted(k for k in mapped if k not in expected)
    mis_shaped = [
        (k, tuple(v.shape), tuple(expected[k].shape))
        for k, v in mapped.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    fitting_keys = [k for k in mapped if k in expected and tuple(mapped[k].shape) == tuple(expected[k].shape)]
    mis_typed, non_finite = _number_problems(mapped, expected, fitting_keys)
    origin = (lambda k: sources.get(k, k)) if sources else (lambda k: k)  # noqa: E731
    misfits = {origin(k) for k, _, _ in mis_shaped} | {origin(k) for k in mapped if k not in expected}
    misfits |= {origin(k) for k, _, _ in mis_typed} | {origin(k) for k in non_finite}
    fitting = {origin(k) for k in mapped if k in expected} - misfits
    total = file_keys if file_keys is not None else len({origin(k) for k in mapped}) + len(unmapped) + dropped
    good = len(fitting) + dropped
    return KeyCheck(good, total, len(wanted), missing, unexpected, mis_shaped, mis_typed, non_finite)


def _number_problems(mapped: Mapping, expected: Mapping, keys: list[str]) -> tuple[list, list[str]]:
    """File tensors of another kind of number than the model's (integers for float weights), and those holding
    NaN or infinity: a converter that checked shapes only wrote such weights into a model that captions ""."""
    import torch

    from rsic_core.models.loading import all_finite

    mis_typed, non_finite = [], []
    for key in keys:
        value, target = mapped[key], expected[key]
        if not (isinstance(value, torch.Tensor) and isinstance(target, torch.Tensor)):
            continue  # shapes given without tensors (the caller compares shapes only)
        if (value.is_floating_point(), value.is_complex()) != (target.is_floating_point(), target.is_complex()):
            mis_typed.append((key, str(value.dtype).removeprefix("torch."), str(target.dtype).removeprefix("torch.")))
        elif not value.is_meta and not all_finite(value):
            non_finite.append(key)
    return mis_typed, non_finite


def _names(keys: Sequence[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
