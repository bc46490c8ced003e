"""The packaged sentence embedder loads offline without making the whole process offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from rsic_core.text.embeddings import load_embedder

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
