"""The app as `make app` serves it: on this machine only by default, a warning when it is put on the network,
and many browser sessions at once.

The app is started by `make app` itself (with a stand-in virtual environment whose ``streamlit`` is this
one), so the test follows the Makefile's command line, whatever it becomes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import tomllib

from tests.support.serving import free_port, wait_for_streamlit

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 20
HOME_PAGE_TEXT = b"offline demo dataset"  # what the home page says first

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _stand_in_venv(folder: Path, streamlit: str) -> Path:
    """A virtual environment folder for `make VENV=...`: set up already, with ``bin/streamlit`` = ``streamlit``."""
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "streamlit").write_text(f"#!/bin/sh\n{streamlit}\n")
    (folder / "bin" / "streamlit").chmod(0o755)
    (folder / ".setup-done").touch()  # newer than requirements.txt: make runs no set-up
    return folder


def _make_app(venv: Path, *variables: str) -> list[str]:
    return ["make", "--no-print-directory", "app", f"VENV={venv}", *variables]


def _non_loopback_addresses() -> list[str]:
    """This machine's IPv4 addresses other than 127.x (from `ip`, else from the host name)."""
    found: list[str] = []
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=10).stdout
        found = re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        found.append(socket.gethostbyname(socket.gethostname()))
    except OSError:
        pass
    return sorted({a for a in found if not a.startswith("127.")})


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def made_app(demo_dir, tmp_path_factory):
    """`make app PORT=...` running (demo dataset generated first, so that the page renders at once)."""
    folder = tmp_path_factory.mktemp("make-app")
    venv = _stand_in_venv(folder / "venv", f'exec "{Path(sys.executable).with_name("streamlit")}" "$@"')
    port = free_port()
    log = folder / "make.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            _make_app(venv, f"PORT={port}"),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,  # make and streamlit in one process group, stopped together
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_streamlit(url, log, "`make app`")
        yield {"url": url, "port": port, "log": log}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_make_app_answers_on_this_machine_only(made_app):
    assert urllib.request.urlopen(f"{made_app['url']}/", timeout=10).status == 200
    assert "warning" not in made_app["log"].read_text()
    addresses = _non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback address to try the app from")
    reachable = [a for a in addresses if _answers(a, made_app["port"])]
    assert not reachable, f"the app answers on the network at {reachable}"


def test_a_bare_streamlit_run_also_stays_on_this_machine():
    """`streamlit run app.py` without `make` reads .streamlit/config.toml."""
    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        assert tomllib.load(f)["server"]["address"] == "127.0.0.1"


@pytest.mark.parametrize(
    "variables, address, warned",
    [((), "127.0.0.1", False), (("HOST=localhost",), "localhost", False), (("HOST=0.0.0.0",), "0.0.0.0", True)],
)
def test_make_app_on_the_network_is_explicit_and_warned(tmp_path, variables, address, warned):
    venv = _stand_in_venv(tmp_path / "venv", 'echo "streamlit $*"')
    out = subprocess.run(_make_app(venv, *variables, "PORT=8599"), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"--server.address {address} --server.port 8599" in out.stdout
    assert ("anyone who can reach this address can use the app" in out.stderr) == warned, out.stderr
    if warned:
        assert "reverse proxy with authentication" in out.stderr and "st.login" in out.stderr


async def _browser_session(port: int) -> tuple[bool, bytes]:
    """What a browser tab does: open the app's websocket, ask for a script run, read until it finishes."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    uri = f"ws://127.0.0.1:{port}/_stcore/stream"
    async with websockets.connect(uri, subprotocols=["streamlit"], max_size=None, open_timeout=60) as ws:
        request = BackMsg()
        request.rerun_script.query_string = ""
        request.rerun_script.page_script_hash = ""
        await ws.send(request.SerializeToString())
        received = b""
        while True:
            data = await asyncio.wait_for(ws.recv(), 120)
            received += data
            message = ForwardMsg()
            message.ParseFromString(data)
            if message.WhichOneof("type") == "script_finished":
                return message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY, received


def test_twenty_concurrent_browser_sessions_are_served(made_app):
    pytest.importorskip("websockets")

    async def sessions():
        return await asyncio.gather(*(_browser_session(made_app["port"]) for _ in range(SESSIONS)))

    with concurrent.futures.ThreadPoolExecutor(SESSIONS) as pool:  # the page and health check, also at once
        pages = [pool.submit(urllib.request.urlopen, made_app["url"] + path, timeout=60) for path in ["/"] * SESSIONS]
        health = [pool.submit(urllib.request.urlopen, made_app["url"] + "/_stcore/health", timeout=60)]
        results = asyncio.run(sessions())
        assert all(f.result().status == 200 for f in pages + health)
    assert [finished for finished, _ in results] == [True] * SESSIONS
    assert all(HOME_PAGE_TEXT in received for _, received in results), "a session did not get the home page"
