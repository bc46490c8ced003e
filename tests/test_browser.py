"""The app as a user sees it: `streamlit run app.py`, opened in headless Chromium (Debian's)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_app(demo_dir, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (the set-up installs Debian's chromium where root can)")
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("streamlit")),
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "RSIC_DATA_ROOTS": str(tmp_path_factory.getbasetemp()),
            },  # the tests' datasets live there
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not answer on {url}: {log.read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gallery_in_a_real_browser(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(served_app, wait_until="domcontentloaded")
        expect(page.get_by_text("offline demo dataset", exact=False).first).to_be_visible(timeout=90_000)

        page.get_by_role("link", name="Dataset explorer").click()
        expect(page.get_by_role("heading", name="Dataset explorer")).to_be_visible(timeout=60_000)
        thumbnails = page.locator("[data-testid='stImage'] img")
        expect(thumbnails).to_have_count(24, timeout=60_000)
        page.wait_for_function(  # the thumbnails really decode in the browser
            "() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
            ".every(img => img.complete && img.naturalWidth > 0)",
            timeout=60_000,
        )
        page.screenshot(path=str(tmp_path / "explorer.png"), full_page=False)
        browser.close()
    assert (tmp_path / "explorer.png").stat().st_size > 10_000


def test_sidebar_loads_a_dataset_path_and_reports_a_bad_one(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    (tmp_path / "mine").mkdir()
    for name, colour in (("a.png", (200, 30, 30)), ("b.png", (30, 30, 200))):
        Image.new("RGB", (64, 64), colour).save(tmp_path / "mine" / name)
    (tmp_path / "mine" / "captions.csv").write_text("image,caption\na.png,a red square\nb.png,a blue square\n")
    (tmp_path / "other").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / "other" / "c.png")
    (tmp_path / "other" / "captions.csv").write_text("image,caption\nc.png,a black square\n")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(served_app, wait_until="domcontentloaded")
        box = page.get_by_role("textbox", name="Dataset folder or annotation file")
        expect(box).to_be_visible(timeout=90_000)

        box.fill(str(tmp_path / "nowhere"))
        box.press("Enter")
        page.get_by_role("button", name="Load", exact=True).click()
        expect(page.get_by_text("no such file or folder")).to_be_visible(timeout=30_000)

        box.fill(str(tmp_path / "mine"))
        box.press("Enter")
        page.get_by_role("button", name="Load", exact=True).click()
        expect(page.get_by_text("Dataset: mine")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="Dataset explorer").click()
        expect(page.get_by_text("2 of 2 images match")).to_be_visible(timeout=30_000)

        box.fill(str(tmp_path / "other"))  # a second load in a row is taken too
        box.press("Enter")
        page.get_by_role("button", name="Load", exact=True).click()
        expect(page.get_by_text("1 of 1 images match")).to_be_visible(timeout=30_000)
        expect(box).to_have_value(str(tmp_path / "other"))

        page.get_by_role("button", name="Back to the demo dataset").click()
        expect(box).to_have_value("", timeout=30_000)
        expect(page.get_by_text("Demo dataset (offline, generated)")).to_be_visible(timeout=30_000)
        browser.close()
