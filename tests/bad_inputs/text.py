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


ARGS = ["--sp-vocab-size", "40", "--no-synonyms"]  # a quick run: SentencePiece on CAPTIONS, no embedder


def _captions_dataset(tmp: Path) -> Path:
    """A Karpathy dataset ``tmp/data`` of one image per caption of CAPTIONS."""
    from tests.bad_inputs.data import png_file

    data = tmp / "data"
    entries = [{"filename": f"{i}.png", "split": "train", "sentences": [{"raw": c}]} for i, c in enumerate(CAPTIONS)]
    for entry in entries:
        png_file(data / entry["filename"])
    (data / "dataset_caps.json").write_text(json.dumps({"images": entries, "dataset": "caps"}))
    return data


def _home(tmp: Path) -> dict:
    """A dataset of CAPTIONS, a fresh RSIC_HOME holding the cache folder of ``rsic preprocess DATA ARGS``."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.text.preprocess import PreprocessConfig, cache_key, preprocess

    data = _captions_dataset(tmp)
    captions = [c for r in load_dataset(data).records for c in r.captions]
    config = PreprocessConfig(sp_vocab_size=40, synonyms=False)
    with _home_at(tmp / "home") as home:
        preprocess(captions, config)  # writes the cache folder
        folder = home / "cache" / "preprocess" / cache_key(captions, config)
    return {"home": home, "data": data, "folder": folder, "marker": tmp / "code-ran", "tmp": tmp}


def _preprocess_again(built: dict) -> Outcome:
    """``rsic preprocess`` over the planted cache: the note it prints about the cache, else its "computed" line.

    The planted file must not have run code, and the captions written must be those of a run without cache.
    """
    with _home_at(built["home"]):
        outcome = cli(["preprocess", built["data"], "--out", built["tmp"] / "out", *ARGS])
    assert not built["marker"].exists(), "the planted cache file RAN CODE"
    reference = cli(["preprocess", built["data"], "--out", built["tmp"] / "fresh", "--no-cache", *ARGS])
    written = [json.loads(f.read_text()) for f in sorted(built["tmp"].glob("*/dataset_caps_processed.json"))]
    assert len(written) == 2 and written[0] == written[1], "the planted cache file changed the captions"
    lines = outcome.output.splitlines()
    said = [line for line in lines if line.startswith("note:")] or [line for line in lines if " s; wrote " in line]
    stray = outcome.message + reference.message
    return Outcome("\n".join(said), outcome.exit_code, outcome.output + reference.output, stray)


def _plant_old_pickle(tmp: Path) -> dict:
    """A pickle where the version before data-only caches looked: ``<key>.pkl`` (CACHE_VERSION 5 and now)."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.text import preprocess as module

    built = _home(tmp)
    _remove(built["folder"])  # only the old-style file is there
    captions = [c for r in load_dataset(built["data"]).records for c in r.captions]
    current = module.CACHE_VERSION
    try:
        for version in (5, current):
            module.CACHE_VERSION = version
            key = module.cache_key(captions, module.PreprocessConfig(sp_vocab_size=40, synonyms=False))
            (built["folder"].parent / f"{key}.pkl").write_bytes(planted_pickle(built["marker"]))
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


WORDS = ["plane", "runway", "harbor", "boats", "river", "trees"]


def _plant_word_vectors(tmp: Path) -> dict:
    from rsic_core.text import synonyms

    with _home_at(tmp / "home") as home:
        synonyms.embed_words(WORDS)  # writes the cache file
        (cached,) = (home / "cache" / "word_vectors").glob("*.npz")
    planted_object_arrays(cached, tmp / "code-ran", ("words", "vectors"))
    return {"home": home, "marker": tmp / "code-ran"}


def _cluster_again(built: dict) -> Outcome:
    """Cluster the words of CAPTIONS over the planted word-vector cache: the synonym step's note.

    The planted file must not have run code, and the vectors must be those of a run without cache.
    """
    from rsic_core.text import synonyms

    with _home_at(built["home"]):
        result = synonyms.cluster_synonyms(CAPTIONS, min_samples=2, use_wordnet=False)
    assert not built["marker"].exists(), "the planted word-vector cache RAN CODE"
    fresh = synonyms.embed_words(list(result.words), use_cache=False)
    assert np.allclose(result.embeddings, fresh, atol=1e-5), "the planted word-vector cache changed the vectors"
    return Outcome("\n".join(result.notes))


def _predictions(tmp: Path) -> Path:
    path = tmp / "predictions.jsonl"
    rows = [{"image_id": "a.png", "prediction": "a plane on a runway", "references": ["a plane is on the runway"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _preprocess_with_embedder(data: Path) -> Outcome:
    """``rsic preprocess --syn-embedder``: the synonym step is skipped and its note says why."""
    out = data.parent / "out"
    outcome = cli(["preprocess", data, "--out", out, "--syn-embedder", UNCACHED_EMBEDDER, "--no-cache", *ARGS[:2]])
    report = json.loads((out / "preprocess_report.json").read_text())
    notes = [n for s in report["steps"] if s["name"] == "synonyms" for n in s["notes"]]
    return Outcome(notes[0] if notes else "", outcome.exit_code, outcome.output, stray=outcome.message)


def _stand_in_venv(tmp: Path) -> Path:
    """A venv folder whose streamlit only echoes its arguments, set up as far as make can tell."""
    venv = tmp / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "streamlit").write_text('#!/bin/sh\necho "streamlit $*"\n')
    (venv / "bin" / "streamlit").chmod(0o755)
    (venv / ".setup-done").touch()  # newer than requirements.txt: make runs no set-up
    return venv


def _make_app_on_the_network(venv: Path) -> Outcome:
    """``make app HOST=0.0.0.0`` with a stand-in streamlit: its warning's first line (the rest is indented advice)."""
    out = subprocess.run(
        ["make", "--no-print-directory", "app", f"VENV={venv}", "HOST=0.0.0.0", "PORT=8599"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    warning = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    other = [line for line in out.stderr.splitlines() if not line.startswith(("warning:", "  "))]
    return Outcome("\n".join(warning), out.returncode, out.stdout + out.stderr, stray="\n".join(other))


IGNORED = r"^note: ignored an unreadable cache folder and computed the run again"
CACHE = ("home/cache", "out", "fresh")  # a run writes its cache and its two caption sets
CASES = [
    BadInput(
        "rsic preprocess: a pickle planted at the old cache path <key>.pkl",
        _plant_old_pickle,
        _preprocess_again,
        r"^computed in [\d.]+ s; wrote ",  # the old path is never read: no note, the run is computed
        exit_code=0,
        writes=CACHE,
    ),
    BadInput(
        "rsic preprocess: the cache's arrays.npz replaced by pickled object arrays",
        _plant_object_arrays,
        _preprocess_again,
        IGNORED + r".*allow_pickle=False",
        exit_code=0,
        writes=CACHE,
    ),
    BadInput(
        "rsic preprocess: the cache's result.json replaced by a pickle",
        _plant_pickled_json,
        _preprocess_again,
        IGNORED,
        exit_code=0,
        writes=CACHE,
    ),
    BadInput(
        "rsic preprocess: a pickle file planted where the cache folder goes",
        _plant_pickle_as_folder,
        _preprocess_again,
        IGNORED,
        exit_code=0,
        writes=CACHE,
    ),
    BadInput(
        "rsic preprocess: a cache folder of an older format",
        _plant_old_format,
        _preprocess_again,
        IGNORED + r".*another version",
        exit_code=0,
        writes=CACHE,
    ),
    BadInput(
        "synonyms: the word-vector cache replaced by pickled object arrays",
        _plant_word_vectors,
        _cluster_again,
        r"^ignored an unreadable word-vector cache and embedded the words again \(.*allow_pickle=False",
        writes=("home/cache",),
    ),
    BadInput(
        "rsic score --embedder: a hub id that is not in the local cache, offline",
        _predictions,
        lambda p: cli(["score", p, "--metrics", "geo_sim", "--embedder", UNCACHED_EMBEDDER, "--out", p.parent / "r"]),
        r"not in the local Hugging Face cache, and the hub cannot be reached.*local folder.*packaged all-MiniLM",
        exit_code=2,
    ),
    BadInput(
        "rsic score --embedder: a folder that does not exist",
        _predictions,
        lambda p: cli(
            ["score", p, "--metrics", "geo_sim", "--embedder", p.parent / "no-model", "--out", p.parent / "r"]
        ),
        r"no such folder",
        exit_code=2,
    ),
    BadInput(
        "rsic preprocess --syn-embedder: a hub id that is not in the local cache, offline",
        _captions_dataset,
        _preprocess_with_embedder,
        r"synonym clustering skipped.*not in the local Hugging Face cache",
        exit_code=0,
        writes=("out",),
    ),
    BadInput(
        "make app HOST=0.0.0.0: serving on the network",
        _stand_in_venv,
        _make_app_on_the_network,
        r"anyone who can reach this address can use the app, with no login",
        exit_code=0,
    ),
]
