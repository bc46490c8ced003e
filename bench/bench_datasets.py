"""Dataset-layer figures: indexing a RISC-size dataset, generating the demo, one gallery page.

    .venv/bin/python bench/bench_datasets.py

Targets (issue #2, 2 CPU cores): index 44,521 images / 222,605 captions in at most 2 s; generate
1,000 demo images in at most 30 s; render one gallery page of 24 thumbnails in at most 1 s warm.
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RSIC_HOME", tempfile.mkdtemp(prefix="rsic-bench-"))

from PIL import Image  # noqa: E402

from rsic_core.data.datasets import load_dataset  # noqa: E402
from rsic_core.data.demo.dataset import generate_demo_dataset  # noqa: E402

RISC_IMAGES = 44_521


def make_risc(root: Path) -> Path:
    """captions.csv with 44,521 rows x 5 captions, and a resized/ folder of (hard-linked) jpgs."""
    resized = root / "resized"
    resized.mkdir(parents=True)
    Image.new("RGB", (224, 224), (80, 110, 70)).save(root / "one.jpg")
    words = "many green trees are around the white buildings near a long river with some boats".split()
    with open(root / "captions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "split", "image", *[f"caption_{k}" for k in range(1, 6)]])
        for i in range(RISC_IMAGES):
            source = ("NWPU", "RSICD", "UCM")[i % 3]
            split = "train" if i % 10 < 8 else ("val" if i % 10 == 8 else "test")
            name = f"{source}_{i}.jpg"
            os.link(root / "one.jpg", resized / name)
            w.writerow([source, split, name, *[" ".join(words[k : k + 8 + i % 5]) for k in range(5)]])
    return root


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_index(tmp: Path) -> float:
    root = make_risc(tmp / "risc")
    ds = load_dataset(root)
    assert len(ds) == RISC_IMAGES and ds.num_captions == 5 * RISC_IMAGES and not ds.problems
    return best_of(lambda: load_dataset(root))


def bench_generate(tmp: Path) -> float:
    start = time.perf_counter()
    generate_demo_dataset(tmp / "demo1000", n_images=1000, seed=0)
    return time.perf_counter() - start


def bench_gallery() -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("views/explorer.py")
    at.run()  # cold: thumbnails made and cached
    assert len(at.get("image")) == 24, "gallery did not show 24 thumbnails"
    warm = []
    for _ in range(5):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    return statistics.median(warm)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = [
            ("index RISC-size dataset (44,521 images, 222,605 captions)", bench_index(tmp), 2.0),
            ("generate 1,000 demo images (224x224, 2 workers)", bench_generate(tmp), 30.0),
            ("render one gallery page of 24 thumbnails, warm (median of 5)", bench_gallery(), 1.0),
        ]
    print(f"{'what':64} {'seconds':>8} {'target':>7}")
    for what, seconds, target in rows:
        print(f"{what:64} {seconds:8.2f} {target:7.1f} {'ok' if seconds <= target else 'OVER'}")


if __name__ == "__main__":
    main()
