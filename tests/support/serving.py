"""Helpers of the tests that serve the app or the Gradio demo: a free port, waiting for the server, Chromium's flags."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's, which the set-up installs
CHROMIUM_FLAGS = [  # headless on a machine without network: no background connections to be refused
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_streamlit(url: str, log: Path, what: str = "streamlit", seconds: float = 90) -> None:
    """Return once the Streamlit server at ``url`` says it is healthy; fail the test with its log otherwise."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{what} did not answer on {url}: {log.read_text()[-2000:]}")
