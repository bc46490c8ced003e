"""Whole-scene captioning speed and memory: demo scenes of 100, 400 and 1,600 tiles through caption_scene.

    .venv/bin/python bench/bench_scene.py
    .venv/bin/python bench/bench_scene.py --sizes 100,400 --threads 2 --batch-size 16

Each size is a demo mosaic (``rsic data demo-scene``) of ``sqrt(n)`` x ``sqrt(n)`` tiles of 224 px
(400 tiles = 4,480 x 4,480 px) captioned with the offline demo model, greedy, on the CPU. Reported
per size: captioning time (windowed reads, stretch, batches; the embedding of the captions for
search is timed apart), tiles per second, seconds per tile (constant if time grows linearly), and
the peak resident memory of the process while it ran (sampled every 20 ms) beside the size of the
scene's pixels, to show that memory is bounded by the batch and not by the scene. On the 400-tile
scene it also measures what the demo model gets right: the share of tiles whose caption names the
true class, and the precision@k of a search for each class (k = that class's tiles).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import threading
import time
from pathlib import Path


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakMemory:
    """The peak resident memory (MB) of this process while the block runs."""

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100,400,1600", help="tiles per scene, square numbers (default 100,400,1600)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--batch-size", type=int, default=8, help="tiles per generate() call (default 8)")
    args = parser.parse_args()

    import torch

    from rsic_core.data.demo.mosaic import generate_demo_scene, read_truth
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner
    from rsic_core.scenes.caption import caption_scene, embed_captions
    from rsic_core.scenes.geojson import feature_collection

    torch.set_num_threads(args.threads)
    captioner = load_captioner()
    config = CaptionConfig(batch_size=args.batch_size)
    print(
        f"demo model on {captioner.device}, {args.threads} threads, batch {args.batch_size}; "
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"{'tiles':>6} {'pixels':>11} {'caption s':>10} {'tiles/s':>8} {'s/tile':>7} {'embed s':>8} "
        f"{'peak RSS MB':>12} {'scene MB':>9} {'load':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-scene-") as tmp:
        caption_scene(generate_demo_scene(Path(tmp) / "warm", grid=1), captioner, caption_config=config)  # warm-up
        for n in [int(s) for s in args.sizes.split(",")]:
            grid = math.isqrt(n)
            scene = generate_demo_scene(Path(tmp) / str(n), grid=grid)
            side = grid * 224
            with PeakMemory() as memory:
                started = time.perf_counter()
                result = caption_scene(scene, captioner, caption_config=config, embed=False)
                seconds = time.perf_counter() - started
            started = time.perf_counter()
            embed_captions(result)
            embedding = time.perf_counter() - started
            tiles = len(result.tiles)
            print(
                f"{tiles:>6} {f'{side}x{side}':>11} {seconds:>10.1f} {tiles / seconds:>8.2f} {seconds / tiles:>7.3f} "
                f"{embedding:>8.1f} {f'{memory.peak:.0f} (+{memory.peak - memory.start:.0f})':>12} {side * side * 3 / 2**20:>9.0f} {os.getloadavg()[0]:>5.1f}"
            )
            if grid == 20:
                _quality(feature_collection(result), read_truth(scene.with_name("truth.geojson")))
            (Path(tmp) / str(n) / "scene.tif").unlink()


def _quality(collection: dict, truth: dict[str, str]) -> None:
    from rsic_core.data.demo.dataset import DEMO_CLASSES
    from rsic_core.scenes.search import named_class, precision_at_k, search_scene

    features = collection["features"]
    right = sum(named_class(f["properties"]["caption"], DEMO_CLASSES) == truth[f["id"]] for f in features)
    print(
        f"  400-tile scene: the caption names the true class on {right} of {len(features)} tiles ({right / len(features):.1%})"
    )
    precisions = []
    for cls in DEMO_CLASSES:
        k = sum(c == cls for c in truth.values())
        query = {
            "storagetanks": "storage tanks",
            "baseballfield": "baseball field",
            "tenniscourt": "tennis courts",
            "parking": "parking lot",
            "residential": "residential area",
        }.get(cls, cls)
        precisions.append((query, k, precision_at_k(search_scene(collection, query, top=k), truth, cls)))
    print(
        "  search precision@k (k = tiles of the class): "
        + ", ".join(f"'{q}' {p:.2f} (k={k})" for q, k, p in precisions)
        + f"; mean {sum(p for _, _, p in precisions) / len(precisions):.2f}"
    )


if __name__ == "__main__":
    main()
