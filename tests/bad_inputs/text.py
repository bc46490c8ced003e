"""Bad inputs of the text side and the app's serving: planted caches, uncached embedders, the app on the network.

A planted cache file holds a pickle whose loading would create a marker file: the case passes only when
the marker never appears and the result is the one computed from the captions.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np

from tests.bad_inputs import BadInput, Outcome, cli

ROOT = Path(__file__).resolve().parents[2]
CAPTIONS = [
    "many buildings are near a green park .",
    "the river flows past the tall trees .",
    "a plane is parked beside the long runway .",
    "two boats are moored in the small harbor .",
] * 3
UNCACHED_EMBEDDER = "sentence-transformers/all-mpnet-base-v2"  # the RISC study's Geo-Sim model, not in the cache


class _Payload:
    """Unpickling this creates ``marker``: the sign that a cache file ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def planted_pickle(marker: Path) -> bytes:
    """A pickle that creates ``marker`` when it is loaded."""
    return pickle.dumps(_Payload(marker))


def planted_object_arrays(path: Path, marker: Path, names: tuple[str, ...]) -> None:
    """An ``.npz`` (or ``.npy`` for one name) whose object arrays create ``marker`` when unpickled."""
    payload = np.array([_Payload(marker)], dtype=object)
    if path.suffix == ".npy":
        np.save(path, payload, allow_pickle=True)
    else:
        np.savez(path, **{name: payload for name in names})


@contextlib.contextmanager
def _home_at(home: Path):
    """RSIC_HOME set to ``home`` for the block (the rest of the test session keeps its own)."""
    before = os.environ["RSIC_HOME"]
    os.environ["RSIC_HOME"] = str(home)
    try:
        yield home
    finally:
        os.environ["RSIC_HOME"] = before


def _config():
    from rsic_core.text.preprocess import PreprocessConfig

    return PreprocessConfig(sp_vocab_size=40, synonyms=False)


def _home(tmp: Path) -> dict:
    """A fresh RSIC_HOME holding the computed run's cache folder, and the answer to compare with."""
    from rsic_core.text.preprocess import cache_key, preprocess

    with _home_at(tmp / "home") as home:
        expected = preprocess(CAPTIONS, _config(), use_cache=False).captions
        preprocess(CAPTIONS, _config())  # writes the cache folder
        folder = home / "cache" / "preprocess" / cache_key(CAPTIONS, _config())
    return {"home": home, "folder": folder, "marker": tmp / "code-ran", "expected": expected}


def _preprocess_again(built: dict) -> Outcome:
    """Preprocess the same captions with the planted cache; the message is the note about the cache."""
    from rsic_core.text.preprocess import preprocess

    with _home_at(built["home"]):
        result = preprocess(CAPTIONS, _config())
    if built["marker"].exists():
        return Outcome("the planted cache file RAN CODE")
    if result.captions != built["expected"] or result.from_cache:
        return Outcome("the planted cache file changed the result")
    notes = result.notes or ["the planted file was not read: the run was computed again and no code ran"]
    return Outcome(notes[0])


def _plant_old_pickle(tmp: Path) -> dict:
    """A pickle where the version before data-only caches looked: ``<key>.pkl`` (CACHE_VERSION 5 and now)."""
    from rsic_core.text import preprocess as module

    built = _home(tmp)
    _remove(built["folder"])  # only the old-style file is there
    current = module.CACHE_VERSION
    try:
        for version in (5, current):
            module.CACHE_VERSION = version
            (built["folder"].parent / f"{module.cache_key(CAPTIONS, _config())}.pkl").write_bytes(
                planted_pickle(built["marker"])
            )
    finally:
        module.CACHE_VERSION = current
    return built


def _plant_object_arrays(tmp: Path) -> dict:
    built = _home(tmp)
    planted_object_arrays(built["folder"] / "arrays.npz", built["marker"], ("kept_index", "sp_ids", "sp_offsets"))
    return built


def _plant_pickled_json(tmp: Path) -> dict:
    built = _home(tmp)
    (built["folder"] / "result.json").write_bytes(planted_pickle(built["marker"]))
    return built


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder)


def _plant_pickle_as_folder(tmp: Path) -> dict:
    built = _home(tmp)
    _remove(built["folder"])
    built["folder"].write_bytes(planted_pickle(built["marker"]))
    return built


def _plant_old_format(tmp: Path) -> dict:
    built = _home(tmp)
    meta = json.loads((built["folder"] / "result.json").read_text())
    (built["folder"] / "result.json").write_text(json.dumps(meta | {"format": 5}))
    return built


def _plant_word_vectors(tmp: Path) -> dict:
    from rsic_core.text import synonyms

    words = ["plane", "runway", "harbor"]
    with _home_at(tmp / "home") as home:
        expected = synonyms.embed_words(words, use_cache=False)
        synonyms.embed_words(words)  # writes the cache file
        (cached,) = (home / "cache" / "word_vectors").glob("*.npz")
    planted_object_arrays(cached, tmp / "code-ran", ("words", "vectors"))
    return {"home": home, "words": words, "expected": expected, "marker": tmp / "code-ran"}


def _embed_again(built: dict) -> Outcome:
    from rsic_core.text import synonyms

    with _home_at(built["home"]):
        vectors = synonyms.embed_words(built["words"])
    if built["marker"].exists():
        return Outcome("the planted word-vector cache RAN CODE")
    if not np.allclose(vectors, built["expected"], atol=1e-5):
        return Outcome("the planted word-vector cache changed the vectors")
    return Outcome("the planted word-vector cache was not read: the vectors were computed again and no code ran")


def _predictions(tmp: Path) -> Path:
    path = tmp / "predictions.jsonl"
    rows = [{"image_id": "a.png", "prediction": "a plane on a runway", "references": ["a plane is on the runway"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _preprocess_with_embedder(tmp: Path) -> Outcome:
    """``rsic preprocess --syn-embedder``: the synonym step is skipped and its note says why."""
    from rsic_core.data.demo.dataset import demo_dataset_dir

    out = tmp / "out"
    outcome = cli(["preprocess", demo_dataset_dir(), "--out", out, "--syn-embedder", UNCACHED_EMBEDDER, "--no-cache"])
    report = json.loads((out / "preprocess_report.json").read_text())
    notes = [n for s in report["steps"] if s["name"] == "synonyms" for n in s["notes"]]
    return Outcome(notes[0] if notes else "", outcome.exit_code, outcome.output)


def _make_app_on_the_network(tmp: Path) -> Outcome:
    """``make app HOST=0.0.0.0`` with a stand-in streamlit: the warning it prints first."""
    venv = tmp / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "streamlit").write_text('#!/bin/sh\necho "streamlit $*"\n')
    (venv / "bin" / "streamlit").chmod(0o755)
    (venv / ".setup-done").touch()  # newer than requirements.txt: make runs no set-up
    out = subprocess.run(
        ["make", "--no-print-directory", "app", f"VENV={venv}", "HOST=0.0.0.0", "PORT=8599"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    warning = next((line for line in out.stderr.splitlines() if line.startswith("warning:")), "")
    return Outcome(warning, out.returncode, out.stdout + out.stderr)


IGNORED = r"ignored an unreadable cache folder and computed the run again"
CASES = [
    BadInput(
        "preprocess: a pickle planted at the old cache path <key>.pkl",
        _plant_old_pickle,
        _preprocess_again,
        r"not read: the run was computed again and no code ran",
    ),
    BadInput(
        "preprocess: the cache's arrays.npz replaced by pickled object arrays",
        _plant_object_arrays,
        _preprocess_again,
        IGNORED + r".*allow_pickle=False",
    ),
    BadInput(
        "preprocess: the cache's result.json replaced by a pickle",
        _plant_pickled_json,
        _preprocess_again,
        IGNORED,
    ),
    BadInput(
        "preprocess: a pickle file planted where the cache folder goes",
        _plant_pickle_as_folder,
        _preprocess_again,
        IGNORED,
    ),
    BadInput(
        "preprocess: a cache folder of an older format",
        _plant_old_format,
        _preprocess_again,
        IGNORED + r".*another version",
    ),
    BadInput(
        "synonyms: the word-vector cache replaced by pickled object arrays",
        _plant_word_vectors,
        _embed_again,
        r"not read: the vectors were computed again and no code ran",
    ),
    BadInput(
        "rsic score --embedder: a hub id that is not in the local cache, offline",
        _predictions,
        lambda p: cli(["score", p, "--metrics", "geo_sim", "--embedder", UNCACHED_EMBEDDER, "--out", p.parent / "r"]),
        r"not in the local Hugging Face cache, and the hub cannot be reached.*local folder.*packaged all-MiniLM",
        exit_code=2,
        keep=lambda p: p.parent,
    ),
    BadInput(
        "rsic score --embedder: a folder that does not exist",
        _predictions,
        lambda p: cli(
            ["score", p, "--metrics", "geo_sim", "--embedder", p.parent / "no-model", "--out", p.parent / "r"]
        ),
        r"no such folder",
        exit_code=2,
        keep=lambda p: p.parent,
    ),
    BadInput(
        "rsic preprocess --syn-embedder: a hub id that is not in the local cache, offline",
        lambda tmp: tmp,
        _preprocess_with_embedder,
        r"synonym clustering skipped.*not in the local Hugging Face cache",
        exit_code=0,
    ),
    BadInput(
        "make app HOST=0.0.0.0: serving on the network",
        lambda tmp: tmp,
        _make_app_on_the_network,
        r"anyone who can reach this address can use the app, with no login",
        exit_code=0,
    ),
]
