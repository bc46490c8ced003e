"""Issue 20's user flow in headless Chromium on real UCM-captions photos: load the data in the sidebar, save
preprocessed captions, train a LoRA run on the raw captions and one on the saved set from the Train page while
their validation scores come in, evaluate the zero-shot model on Compare, and find the three runs on Runs.

    .venv/bin/pytest tests/test_browser_flow.py

A small copy of UCM-captions (2 photos of each of the 21 classes in train and in val, copied: the loader opens
no link that leads outside a dataset folder), the demo model as the base, 6 steps validated every 3: about
3 minutes on 2 busy cores. Skipped where ../shared/data/ucm-captions is absent (never under CI=true).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.serving import CHROMIUM, CHROMIUM_FLAGS, free_port, wait_for_streamlit
from tests.support.shared import shared_path

ROOT = Path(__file__).resolve().parents[1]
PER_CLASS = 2  # photos of each class in each split
RUN_FORM = {  # the Train form as the user fills it: a few steps that visibly move a LoRA on the demo model
    "LoRA targets": "all-linear",
    "LoRA rank r": "16",
    "LoRA alpha": "32",
    "Learning rate": "3e-3",
    "Batch per device": "4",
    "Gradient accumulation": "1",
    "Max steps (-1: use epochs)": "6",
    "Validate every N steps (0: never)": "3",
    "Validation images": "6",
}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def small_ucm(ucm: Path, folder: Path) -> Path:
    """``PER_CLASS`` photos of every class of UCM-captions ``ucm`` in each split, with their entries, in ``folder``."""
    data = json.loads((ucm / "dataset_ucm.json").read_text())
    taken, kept = Counter(), []
    for entry in data["images"]:
        key = ((int(Path(entry["filename"]).stem) - 1) // 100, entry["split"])  # UCM's N.jpg: class (N-1)//100
        if taken[key] < PER_CLASS:
            taken[key] += 1
            kept.append(entry)
    (folder / "images").mkdir(parents=True)
    for entry in kept:
        shutil.copy(ucm / "images" / entry["filename"], folder / "images" / entry["filename"])
    (folder / "dataset_ucm.json").write_text(json.dumps({**data, "images": kept}))
    return folder


def settled(page) -> None:
    """Wait until the page's script has finished (a widget clicked while it runs can be drawn anew and close)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=120_000)


def choose(page, label: str, option: str, within=None) -> None:
    """Pick ``option`` in the selectbox ``label`` (of the part of the page ``within``, default all of it)."""
    (within or page).get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


CELLS = """table => ({
    columns: Number(table.getAttribute("aria-colcount")),
    cells: [...table.querySelectorAll("tr")].flatMap(row => [...row.querySelectorAll("th, td")].map(cell =>
        [Number(row.getAttribute("aria-rowindex")), Number(cell.getAttribute("aria-colindex")), cell.textContent]))
})"""  # read at once: the Train page draws its tables anew every 2 seconds


def table_rows(page, frame) -> list[dict]:
    """The rows of a Streamlit table as {column: text}. Its grid puts only the columns in view into the page,
    so a wide table is scrolled sideways, as a user does, until every column was seen."""
    cells: dict[tuple[int, int], str] = {}
    for _ in range(30):
        seen = frame.locator("table[role=grid]").evaluate(CELLS)
        cells.update({(r, c): text for r, c, text in seen["cells"]})
        if all((1, c) in cells for c in range(1, seen["columns"] + 1)):
            break
        frame.hover()
        page.mouse.wheel(600, 0)
        page.wait_for_timeout(300)
    rows, columns = max(r for r, _ in cells), max(c for _, c in cells)
    header = [cells.get((1, c), "") for c in range(1, columns + 1)]
    return [{h: cells.get((r, c), "") for c, h in enumerate(header, 1)} for r in range(2, rows + 1)]


def train(page, name: str, caption_set: str | None, expect) -> list[dict]:
    """Fill in the Train form (raw captions, or ``caption_set``), start the run, wait until it completes; its
    validation scores."""
    choose(page, "Training captions", caption_set or "raw (the dataset's own)")
    choose(page, "Evaluate at the end on", "val")  # the shared UCM copy has no test split
    for label, value in {**RUN_FORM, "Run name": name}.items():
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_label(label, exact=True).press("Tab")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile(f"-{name}$"), timeout=30_000)
    trains_on = page.get_by_text("Trains on ucm-small, split train", exact=False)
    expect(trains_on).to_contain_text(f"captions {caption_set}" if caption_set else "split train; validates on val")
    expect(page.get_by_text(re.compile(r"^(queued|running): "))).to_be_visible(timeout=30_000)  # not the last run's
    expect(page.get_by_text("completed: 6 steps")).to_be_visible(timeout=240_000)
    expect(page.get_by_text("Validation scores (x100) on 6 of 42 images", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(2)  # the loss, the validation scores
    frame = page.get_by_test_id("stDataFrame").first  # the validation table
    expect(frame.locator("tr")).to_have_count(3)  # its header, steps 3 and 6
    return table_rows(page, frame)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_train_on_saved_captions_and_compare_with_raw_and_zero_shot(tmp_path):
    from playwright.sync_api import sync_playwright

    data = small_ucm(shared_path("data", "ucm-captions"), tmp_path / "data" / "ucm-small")
    home = tmp_path / "home"
    env = {**os.environ, "RSIC_HOME": str(home), "RSIC_DATA_ROOTS": str(data.parent), "OMP_NUM_THREADS": "1"}
    env.pop("RSIC_RUNS", None)
    port, log = free_port(), tmp_path / "server.log"
    command = [str(Path(sys.executable).with_name("streamlit")), "run", "app.py", "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_streamlit(url, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            try:
                user_flow(page, url, data)
            finally:
                page.screenshot(path=str(tmp_path / "flow.png"))  # the last page seen, for a person to look at
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "flow.png").stat().st_size > 10_000


def user_flow(page, url: str, data: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url, wait_until="domcontentloaded")
    box = page.get_by_role("textbox", name="Dataset folder or annotation file")
    expect(box).to_be_visible(timeout=90_000)
    box.fill(str(data))
    box.press("Enter")
    page.get_by_role("button", name="Load", exact=True).click()
    expect(page.get_by_text("Dataset: ucm-captions-trainval", exact=False).first).to_be_visible(timeout=60_000)

    page.get_by_role("link", name="Caption statistics").click()
    expect(page.get_by_role("heading", name="Guard")).to_be_visible(timeout=120_000)
    settled(page)
    page.get_by_text("Save these captions").first.click()  # the expander
    name = page.get_by_label("Set name", exact=True)
    expect(name).to_be_visible(timeout=30_000)
    set_name = name.input_value()
    page.get_by_role("button", name="Save these captions").click()
    expect(page.get_by_text(f"Saved caption set {set_name} to", exact=False)).to_be_visible(timeout=60_000)

    page.get_by_role("link", name="Train", exact=True).click()
    expect(page.get_by_role("button", name="Start training")).to_be_visible(timeout=90_000)
    validations = {
        "raw": train(page, "raw", None, expect),
        "preprocessed": train(page, "preprocessed", set_name, expect),
    }
    for name, (first, last) in validations.items():
        assert (first["step"], last["step"]) == ("3", "6"), validations
        assert any(first[m] != last[m] for m in ("BLEU-1", "BLEU-4", "CIDEr")), f"{name}: the scores move"

    page.get_by_role("link", name="Compare", exact=True).click()
    expect(page.get_by_role("heading", name="Compare predictions and references")).to_be_visible(timeout=60_000)
    settled(page)
    page.get_by_text("Evaluate a model on the loaded dataset").click()
    # every val image, as in the training runs' final evaluation: the same images, comparable scores
    choose(page, "Split", "val (42 images)", within=page.get_by_test_id("stForm"))
    page.get_by_role("button", name="Evaluate", exact=True).click()
    run = page.get_by_role("combobox", name="Run")
    expect(run).to_have_value(
        re.compile(r"^demo-zero-shot-ucm-captions-trainval-val · .*\(zero-shot\)"), timeout=240_000
    )
    expect(page.get_by_text("42 of 42 images")).to_be_visible(timeout=30_000)
    run.click()
    options = page.get_by_role("option")
    expect(options).to_have_count(3)
    expect(options.filter(has_text="captions raw")).to_have_count(1)
    options.filter(has_text=f"captions {set_name}").click()  # the run on the saved set, beside the others
    expect(run).to_have_value(re.compile(f"^preprocessed · .* · captions {re.escape(set_name)} · "), timeout=30_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="CIDEr")).to_be_visible()
    settled(page)
    expect(page.get_by_text("not on the loaded dataset")).to_have_count(0)  # it is: the folder the sidebar loaded

    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible(timeout=60_000)
    frame = page.get_by_test_id("stDataFrame").first
    expect(frame.locator("tr")).to_have_count(4, timeout=30_000)  # its header and the three runs
    rows = {row["run"]: row for row in table_rows(page, frame)}
    assert {run: (row["kind"], row["status"], row["captions"]) for run, row in rows.items()} == {
        "raw": ("training", "completed", "raw"),
        "preprocessed": ("training", "completed", set_name),
        "demo-zero-shot-ucm-captions-trainval-val": ("evaluation", "scored", ""),
    }, rows
    for row in rows.values():  # every run scored on the same 42 val images
        assert row["images"] == "42" and float(row["CIDEr"]) >= 0 and float(row["BLEU-1"]) > 0, row
    expect(page.get_by_text("scored on different image sets")).to_have_count(0)
    expect(page.get_by_test_id("stPlotlyChart")).to_be_visible()
