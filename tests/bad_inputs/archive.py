"""Bad inputs of the Ray engine (``rsic caption --engine ray``): options it cannot use, a cluster that does not answer.

Each case is refused before Ray starts or any archive folder is made, so the cases cost no Ray start-up.
The cases where Ray runs but cannot place a worker are in ``tests/test_archive.py`` (they share its Ray).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tests.bad_inputs import BadInput, Outcome, cli
from tests.bad_inputs.data import png_file


def _image(tmp: Path) -> Path:
    return png_file(tmp / "tiles" / "a.png")


def _ray(*options: str):
    def run(image: Path) -> Outcome:
        return cli(["caption", image, "--engine", "ray", *options, "--out", image.parents[1] / "archive"])

    return run


def _closed_port() -> int:
    """A local port nothing listens on (taken and released; connecting to it is refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _no_cluster(image: Path) -> Outcome:
    return _ray("--address", f"127.0.0.1:{_closed_port()}")(image)


def _auto_of_a_dead_cluster(image: Path) -> Outcome:
    """``--address auto`` where Ray's record of the cluster (here RAY_ADDRESS) names one that is gone."""
    before = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = f"127.0.0.1:{_closed_port()}"
    try:
        return _ray("--address", "auto")(image)
    finally:
        if before is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = before


CASES = [
    BadInput(
        "rsic caption --engine ray: --cpus-per-worker inf",
        _image,
        _ray("--cpus-per-worker", "inf"),
        r"ray_cpus_per_worker \(--cpus-per-worker\) must be a finite number more than 0 \(got inf\)$",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --engine ray: --gpus-per-worker nan",
        _image,
        _ray("--gpus-per-worker", "nan"),
        r"ray_gpus_per_worker \(--gpus-per-worker\) must be a finite number 0 or more \(got nan\)$",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --engine ray: --address where no Ray cluster answers",
        _image,
        _no_cluster,
        r"--address 127\.0\.0\.1:\d+: nothing answers there within 10 s \(Connection refused\); start the cluster",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --engine ray: --address auto where the cluster Ray knows of is gone",
        _image,
        _auto_of_a_dead_cluster,
        r"--address auto \(the cluster at [\d.]+:\d+\): nothing answers there within 10 s",
        exit_code=2,
    ),
    BadInput(
        "rsic caption --engine ray: --address ray://HOST:PORT where nothing answers",
        _image,
        lambda image: _ray("--address", f"ray://127.0.0.1:{_closed_port()}")(image),
        r"--address ray://127\.0\.0\.1:\d+: nothing answers there within 10 s",
        exit_code=2,
    ),
]
