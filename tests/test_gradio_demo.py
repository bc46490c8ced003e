"""The Gradio demo: serves on localhost, captions an upload, refuses a broken one, says when no share link."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.captioning import CAPTIONS, colour_images
from tests.support.serving import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served(taught_model_dir):
    sys.path.insert(0, str(ROOT))
    import demo

    app = demo.build_demo(str(taught_model_dir))
    message = demo.launch(app, port=free_port())
    yield app, message
    app.close()


def test_the_demo_serves_on_localhost_and_captions_an_upload(served, tmp_path):
    from gradio_client import Client, handle_file

    app, message = served
    assert app.local_url.startswith("http://127.0.0.1:") and message == f"Serving locally at {app.local_url}"
    assert "RSIC Studio caption demo" in urllib.request.urlopen(app.local_url, timeout=30).read().decode()
    colour_images()[2].save(tmp_path / "blue.png")
    client = Client(app.local_url, verbose=False)
    _preview, caption, timing = client.predict(handle_file(str(tmp_path / "blue.png")), 5, 30, api_name="/caption")
    assert caption == CAPTIONS["blue"] and timing.endswith("ms on cpu")


def test_a_multi_band_16_bit_upload_is_captioned_and_the_note_says_how_it_was_shown(served, tmp_path):
    import numpy as np
    import rasterio
    from gradio_client import Client, handle_file

    app, _ = served
    bands = np.random.default_rng(0).integers(200, 4000, size=(4, 48, 48), dtype=np.uint16)
    with rasterio.open(tmp_path / "scene.tif", "w", driver="GTiff", width=48, height=48, count=4, dtype="uint16") as f:
        f.write(bands)
    client = Client(app.local_url, verbose=False)
    _preview, caption, timing = client.predict(handle_file(str(tmp_path / "scene.tif")), 1, 30, api_name="/caption")
    assert caption and "ms on cpu · 16-bit, 4 bands: showed bands 1,2,3 (the first three)" in timing


def test_a_broken_upload_gets_a_message_not_a_crash(served, tmp_path, capfd):
    from gradio_client import Client, handle_file

    app, _ = served
    (tmp_path / "broken.jpg").write_bytes(b"not an image at all")
    client = Client(app.local_url, verbose=False)
    capfd.readouterr()
    with pytest.raises(Exception, match="broken.jpg: not a readable image"):
        client.predict(handle_file(str(tmp_path / "broken.jpg")), 1, 30, api_name="/caption")
    assert "Traceback" not in "".join(capfd.readouterr())  # a gr.Error, not a logged crash
    colour_images()[0].save(tmp_path / "red.png")  # still serving afterwards
    assert client.predict(handle_file(str(tmp_path / "red.png")), 1, 30, api_name="/caption")[1] == CAPTIONS["red"]


def test_an_upload_and_a_click_give_one_error_for_a_broken_file(served, tmp_path):
    import gradio as gr

    app, _ = served
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    handlers = [f for f in app.fns.values() if f.inputs and isinstance(f.inputs[0], gr.File)]  # upload and click
    errors = []
    for handler in handlers:
        try:
            handler.fn(str(broken), *[c.value for c in handler.inputs[1:]])
        except gr.Error as e:
            errors.append(e.message)
    assert len(handlers) == 2 and errors == ["broken.jpg: not a readable image (unknown format or corrupt file)"]


def test_share_offline_says_no_link_and_keeps_serving(taught_model_dir):
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "demo.py", "--model", str(taught_model_dir), "--share", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines, deadline = [], time.time() + 240
        while time.time() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "serving locally" in line.lower():
                break
        output = "".join(lines)
        assert "No public share link could be created" in output, output[-2000:]
        assert "public share link: anyone who can reach it" not in output  # no link, no warning about one
        assert f"http://127.0.0.1:{port}" in output
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read().decode()
        assert "RSIC Studio caption demo" in page
        assert process.poll() is None  # still running
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_exposure_warning_only_beyond_this_machine():
    sys.path.insert(0, str(ROOT))
    import demo

    assert demo.exposure_warning("127.0.0.1", False) is None and demo.exposure_warning("localhost", False) is None
    assert demo.exposure_warning("::1", False) is None
    assert "serving on 0.0.0.0: anyone who can reach it" in demo.exposure_warning("0.0.0.0", False)
    assert "serving on a public share link:" in demo.exposure_warning("127.0.0.1", True)
    assert "a public share link and 10.0.0.5" in demo.exposure_warning("10.0.0.5", True)


def _upload_handler(app):
    import gradio as gr

    return next(f for f in app.fns.values() if f.inputs and isinstance(f.inputs[0], gr.File) and len(f.outputs) == 4)


def test_the_demo_model_says_what_it_knows_on_an_upload_that_is_no_demo_scene(demo_dir, served, tmp_path):
    import shutil

    sys.path.insert(0, str(ROOT))
    import demo

    colour_images()[0].save(tmp_path / "red.png")
    show = _upload_handler(demo.build_demo("demo")).fn
    notice = show(str(tmp_path / "red.png"))[-1]
    assert notice.visible and "knows only the 12 synthetic scene classes of the offline demo dataset" in notice.value
    assert "choose the ucm model (real aerial photos)" in notice.value
    scene = next((demo_dir / "images").glob("*.jpg"))
    (tmp_path / "upload").mkdir()
    shutil.copyfile(scene, tmp_path / "upload" / scene.name)  # a demo image, as an upload brings it
    assert show(str(tmp_path / "upload" / scene.name))[-1].visible is False

    app, _ = served  # a real (taught) model: nothing to say
    assert _upload_handler(app).fn(str(tmp_path / "red.png"))[-1].visible is False
