"""The app as a user sees it: `streamlit run app.py`, opened in headless Chromium (Debian's)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.scoring import write_labelled_run
from tests.support.serving import CHROMIUM, CHROMIUM_FLAGS, OVERFLOW_JS, free_port, wait_for_streamlit
from tests.support.shared import SHARED, shared_path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = SHARED / "data"  # real UCM-captions samples, where present

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def _serve(tmp_path_factory):
    """A freshly started `streamlit run app.py` on a free port; yields its URL."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (the set-up installs Debian's chromium where root can)")
    port = free_port()
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
            env={  # the tests' datasets live there, and the real samples beside the project
                **os.environ,
                "RSIC_DATA_ROOTS": os.pathsep.join((str(tmp_path_factory.getbasetemp()), str(SHARED_DATA))),
            },
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_streamlit(url, log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def served_app(demo_dir, tmp_path_factory):
    with _serve(tmp_path_factory) as url:
        yield url


def test_a_page_opened_first_by_its_link_runs_inside_the_app(demo_dir, tmp_path_factory):
    """On a fresh server, /train opened before / still has the app's sidebar (a `pages/` folder would not)."""
    from playwright.sync_api import expect, sync_playwright

    with _serve(tmp_path_factory) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/train", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Train a LoRA adapter")).to_be_visible(timeout=90_000)
        expect(page.get_by_text("Dataset folder or annotation file").first).to_be_visible(timeout=30_000)
        expect(page.get_by_role("link", name="Dataset explorer")).to_be_visible()
        browser.close()


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


def test_the_favicon_is_the_apps_own_and_nothing_is_fetched_from_elsewhere(served_app):
    from urllib.parse import urlparse

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(served_app, wait_until="domcontentloaded")
        expect(page.get_by_text("No problems found.")).to_be_visible(timeout=90_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('link[rel~=icon]')].some(l => l.href.includes('/media/'))"
        )
        icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href).pop()")
        served_icon = page.request.get(icon).body()
        browser.close()
    assert {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))} == {"127.0.0.1"}, requests
    assert served_icon == (ROOT / "assets" / "favicon.png").read_bytes()


def test_details_of_a_lower_row_open_in_a_dialog_in_view(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(served_app, wait_until="domcontentloaded")
        page.get_by_role("link", name="Dataset explorer").click()
        details = page.get_by_role("button", name="Details")
        expect(details).to_have_count(24, timeout=60_000)
        last = details.nth(23)  # the fourth row: below the fold
        last.scroll_into_view_if_needed()
        last.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible(timeout=30_000)
        expect(dialog.get_by_role("listitem")).to_have_count(5)  # the five captions
        box = dialog.bounding_box()
        assert 0 <= box["y"] and box["y"] + 100 < 900, box  # where the user is, not off-screen
        page.screenshot(path=str(tmp_path / "details.png"))
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0, timeout=30_000)
        details.nth(0).click()
        expect(page.get_by_role("dialog")).to_be_visible(timeout=30_000)
        page.get_by_role("dialog").get_by_test_id("stBaseButton-secondary").filter(has_text="Close").click()
        expect(page.get_by_role("dialog")).to_have_count(0, timeout=30_000)
        browser.close()


def test_cancel_on_the_train_page_clears_a_refused_start_and_says_cancelled(served_app, tiny_model_dir):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(served_app, wait_until="domcontentloaded")
        page.get_by_role("link", name="Train").click()
        start = page.get_by_role("button", name="Start training")
        expect(start).to_be_visible(timeout=90_000)
        for label, value in (
            ("Model", str(tiny_model_dir)),
            ("Max steps (-1: use epochs)", "2000"),
            ("Batch per device", "2"),
            ("Gradient accumulation", "1"),
        ):
            page.get_by_label(label, exact=True).fill(value)
            page.get_by_label(label, exact=True).press("Tab")
        start.click()
        expect(page.get_by_text("running: step", exact=False)).to_be_visible(timeout=180_000)
        start.click()  # a second run while the first runs: refused
        refused = page.get_by_text("is still running", exact=False)
        expect(refused).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Cancel run").click()
        expect(refused).to_have_count(0, timeout=30_000)
        expect(page.get_by_text("cancelled at step", exact=False).first).to_be_visible(timeout=120_000)
        expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
        browser.close()


def test_evaluate_real_ucm_data_and_keep_the_runs_folder_across_pages(served_app, tmp_path):
    """A user loads the real UCM sample, evaluates the demo model on a few images, and moves between the run pages."""
    import re

    from playwright.sync_api import expect, sync_playwright

    sample = shared_path("data", "ucm-sample")
    runs = tmp_path / "runs"
    titles = {"Compare": "Compare predictions and references", "Runs": "Runs", "Efficiency": "Efficiency"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(served_app, wait_until="domcontentloaded")
        box = page.get_by_role("textbox", name="Dataset folder or annotation file")
        expect(box).to_be_visible(timeout=90_000)
        box.fill(str(sample))
        box.press("Enter")
        page.get_by_role("button", name="Load", exact=True).click()
        expect(page.get_by_text("Dataset: ucm-sample")).to_be_visible(timeout=60_000)

        page.get_by_role("link", name="Compare").click()
        folder = page.get_by_role("textbox", name="Runs folder")
        expect(folder).to_be_visible(timeout=60_000)
        folder.fill(str(runs))
        folder.press("Enter")
        expect(page.get_by_text("No runs yet")).to_be_visible(timeout=30_000)
        page.get_by_role("spinbutton", name="Images").fill("3")
        page.get_by_role("button", name="Evaluate", exact=True).click()
        run = page.get_by_role("combobox", name="Run")
        expect(run).to_have_value(re.compile(r"ucm-sample/test · demo · \(zero-shot\)"), timeout=300_000)
        expect(page.get_by_text("3 of 3 images")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "compare.png"))

        for name in ["Runs", "Efficiency", "Compare", "Runs", "Efficiency", "Compare"]:  # every hop keeps the folder
            page.get_by_role("link", name=name, exact=True).click()
            expect(page.get_by_role("heading", name=titles[name])).to_be_visible(timeout=60_000)
            expect(page.get_by_role("textbox", name="Runs folder")).to_have_value(str(runs), timeout=30_000)
            expect(page.get_by_text("No runs yet")).to_have_count(0)
        browser.close()
    [made] = list(runs.iterdir())
    assert made.name.endswith("demo-zero-shot-ucm-sample-test") and (made / "metrics.json").is_file()
    assert (tmp_path / "compare.png").stat().st_size > 10_000


def test_the_scene_map_draws_the_scene_and_its_tiles(served_app, demo_scene_geojson, tmp_path):
    """The Map page in Chromium: the demo scene's picture and tiles on the WebGL canvas, a caption on hover, a
    search table, and nothing fetched from elsewhere (no web basemap)."""
    from urllib.parse import urlparse

    import numpy as np
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{served_app}/map", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Scene map")).to_be_visible(timeout=90_000)
        expect(page.get_by_text("64 of 64 tiles captioned").first).to_be_visible(timeout=120_000)
        chart = page.locator("[data-testid='stDeckGlJsonChart']")
        expect(chart.locator("canvas").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(3000)  # the picture decodes, deck.gl draws
        chart.screenshot(path=str(tmp_path / "map.png"))
        box = chart.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(page.locator(".deck-tooltip").filter(has_text="an aerial image of")).to_be_visible(timeout=30_000)
        search = page.get_by_role("textbox", name="Search the captions")
        search.fill("storage tanks")
        search.press("Enter")
        expect(page.locator("[data-testid='stDataFrame']")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
        chart.screenshot(path=str(tmp_path / "map-search.png"))
        browser.close()
    shot = np.asarray(Image.open(tmp_path / "map.png").convert("RGB"))
    centre = shot[shot.shape[0] // 4 : 3 * shot.shape[0] // 4, shot.shape[1] // 4 : 3 * shot.shape[1] // 4]
    assert len(np.unique(centre.reshape(-1, 3), axis=0)) > 2000, "the scene's picture is drawn (not a blank canvas)"
    highlighted = np.asarray(Image.open(tmp_path / "map-search.png").convert("RGB")).astype(int)
    yellow = (highlighted[..., 0] > 200) & (highlighted[..., 1] > 200) & (highlighted[..., 2] < 80)
    assert yellow.sum() > 500, "the top tiles of the search are outlined"
    assert {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))} == {"127.0.0.1"}, requests


def test_labels_read_whole_at_1440_px(served_app, tmp_path):
    """Issue 21's cut-off labels, each seen in Chromium at 1440 px: Compare's class chips, heatmap word pills, the
    confusion heatmap's labels, the synonym toggle's label, and the Model comparison's n/a note under its table."""
    from playwright.sync_api import expect, sync_playwright

    runs = write_labelled_run(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{served_app}/compare", wait_until="domcontentloaded")
        folder = page.get_by_role("textbox", name="Runs folder")
        expect(folder).to_be_visible(timeout=90_000)
        folder.fill(str(runs))
        folder.press("Enter")
        expect(page.get_by_text("5 of 5 images")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("radio", name="white", exact=True)).to_have_count(1, timeout=30_000)
        assert page.evaluate(OVERFLOW_JS) == []  # the long caption's pills wrap inside its column
        classes = page.get_by_role("combobox", name="Class")
        for name in ("mediumresidential", "sparseresidential", "denseresidential"):
            classes.click()
            page.get_by_role("option", name=name, exact=True).click()
            page.keyboard.press("Escape")
        expect(page.get_by_text("3 of 5 images")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Scene confusion").click()
        expect(page.locator(".js-plotly-plot .xtick text").first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)  # plotly's automargin redraw
        assert page.evaluate(OVERFLOW_JS) == []  # three whole chips; the three-class column's label in the figure

        page.get_by_role("link", name="Synonym clusters").click()
        expect(page.get_by_text("Keep plural and singular apart")).to_be_visible(timeout=90_000)
        assert page.evaluate(OVERFLOW_JS) == []

        page.get_by_role("link", name="Efficiency").click()
        page.get_by_role("tab", name="Model comparison").click()
        note = page.get_by_text("n/a in a study column", exact=False)
        expect(note).to_be_in_viewport(timeout=60_000)
        table = page.locator("[data-testid='stDataFrame']").last.bounding_box()
        box = note.bounding_box()
        assert table["y"] + table["height"] <= box["y"] < table["y"] + table["height"] + 60  # right under the table
        assert box["x"] + box["width"] <= 1440
        browser.close()
