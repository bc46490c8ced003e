"""The packaged sentence embedder loads offline without making the whole process offline; a hub id that is
not in the local cache fails at once, with what to do, when the hub is out of reach."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rsic_core.text.embeddings import STUDY_GEO_SIM_MODEL, load_embedder

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")

# Runs in a fresh Python whose environment leaves the hub online: every DNS lookup and connection
# is refused and recorded, so a load that tries the network shows up in "attempts".
_LOAD_WITH_NETWORK_REFUSED = """
import json, os, socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2])[:200])
    raise OSError("network refused by the test")
socket.getaddrinfo = socket.create_connection = socket.socket.connect = socket.socket.connect_ex = refuse
from rsic_core.text.embeddings import load_embedder
vectors = load_embedder(None).encode(["a plane is parked near the runway"], normalize_embeddings=True)
print(json.dumps({"attempts": attempts, "offline_set": [v for v in %r if v in os.environ], "dims": len(vectors[0])}))
"""


def test_loading_the_packaged_embedder_leaves_the_environment_alone(monkeypatch):
    for variable in OFFLINE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    model = load_embedder.__wrapped__(None)  # the uncached loader: a real load in this test
    assert not [v for v in OFFLINE_VARIABLES if v in os.environ], "load_embedder made the whole process offline"

    plane, airplane, forest = model.encode(
        ["a plane is parked near the runway", "an airplane stands beside the runway", "a dense green forest"],
        normalize_embeddings=True,
    )
    assert plane.shape == (384,) and np.isfinite(plane).all()
    assert float(plane @ airplane) > float(plane @ forest) + 0.2


def test_the_packaged_embedder_never_asks_the_hub():
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    code = _LOAD_WITH_NETWORK_REFUSED % (OFFLINE_VARIABLES,)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {"attempts": [], "offline_set": [], "dims": 384}


def test_an_uncached_hub_id_fails_at_once_offline_saying_what_to_do():
    """HF_HUB_OFFLINE=1 (conftest): the study's mpnet is not in the local cache here."""
    start = time.perf_counter()
    with pytest.raises(ValueError) as refused:
        load_embedder.__wrapped__(STUDY_GEO_SIM_MODEL)
    message = str(refused.value)
    print(f"refused in {time.perf_counter() - start:.2f} s")  # was 74 s of retries with the hub out of reach
    assert "not in the local Hugging Face cache, and the hub cannot be reached" in message
    assert f"hf download {STUDY_GEO_SIM_MODEL}" in message and "packaged all-MiniLM-L6-v2" in message
    assert "\n" not in message


def test_a_missing_folder_is_named_as_such(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        load_embedder.__wrapped__(str(tmp_path / "my-embedder"))


# The packaged MiniLM laid out as a hub snapshot in a Hugging Face cache of its own; the hub is online
# (no offline variable) but every connection is refused and recorded.
_LOAD_FROM_THE_HUB_CACHE = """
import json, socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2])[:200])
    raise OSError("network refused by the test")
socket.getaddrinfo = socket.create_connection = socket.socket.connect = socket.socket.connect_ex = refuse
from rsic_core.text.embeddings import load_embedder
vectors = load_embedder("someone/minilm").encode(["a plane is parked near the runway"], normalize_embeddings=True)
try:
    load_embedder("someone/not-cached")
    refused = ""
except ValueError as e:
    refused = str(e)
print(json.dumps({"attempts": attempts, "dims": len(vectors[0]), "refused": refused}))
"""


def test_a_cached_hub_id_loads_from_the_cache_and_an_uncached_one_fails_when_the_hub_is_out_of_reach(tmp_path):
    from rsic_core.text.embeddings import default_embedder_path

    snapshot = tmp_path / "hub" / "models--someone--minilm" / "snapshots" / "0123abc"
    shutil.copytree(default_embedder_path(), snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0123abc")
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES}
    env |= {
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_FROM_THE_HUB_CACHE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["dims"] == 384
    assert "not in the local Hugging Face cache, and the hub cannot be reached" in found["refused"]
    assert len(found["attempts"]) == 1, found["attempts"]  # one quick reachability check, no retries
