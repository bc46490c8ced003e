"""Whole-scene captioning speed, memory and accuracy: demo scenes of 100-1,600 tiles, or real-photo mosaics.

    .venv/bin/python bench/bench_scene.py
    .venv/bin/python bench/bench_scene.py --sizes 100,400 --threads 2 --batch-size 16
    .venv/bin/python bench/bench_scene.py --scene real --data ../shared/data/ucm-captions --model ucm

``--scene synthetic`` (default): each size is a demo mosaic (``rsic data demo-scene``) of ``sqrt(n)`` x
``sqrt(n)`` tiles of 224 px (400 tiles = 4,480 x 4,480 px), captioned by the demo model unless
``--model`` names another. ``--scene real``: each size is a mosaic of real photos of ``--split`` (default
val) of ``--data`` (``rsic data mosaic``: 256 px UCM photos as they are, every class), captioned by the
ucm model unless ``--model`` names another; sizes default to 64 and 196 tiles (UCM val holds 208
square photos). Greedy, on the CPU. Reported per size: captioning time (windowed reads, stretch,
batches; the embedding of the captions for search is timed apart), tiles per second, seconds per tile
(constant if time grows linearly), and the peak resident memory of the process while it ran (sampled
every 20 ms) beside the size of the scene's pixels, to show that memory is bounded by the batch and not
by the scene. On the 400-tile demo scene, and on every real mosaic, it also measures what the model gets
right: the share of tiles whose caption names the true class (read as the Map and Compare pages read it,
:func:`rsic_core.scenes.search.caption_classes`, among the classes of the model's card), and the
precision@k of a search for each class (k = that class's tiles).
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
        "--scene", choices=("synthetic", "real"), default="synthetic", help="demo mosaics or real photos"
    )
    parser.add_argument(
        "--data", help="the dataset of the real photos (--scene real), e.g. ../shared/data/ucm-captions"
    )
    parser.add_argument("--split", default="val", help="split of the real photos (default val)")
    parser.add_argument("--model", help="model name or folder (default: demo for synthetic, ucm for real)")
    parser.add_argument("--sizes", help="tiles per scene, square numbers (default 100,400,1600; real: 64,196)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--batch-size", type=int, default=8, help="tiles per generate() call (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    args = parser.parse_args()
    real = args.scene == "real"
    if real and not args.data:
        parser.error("--scene real needs --data, the dataset whose photos make the scene")

    import torch

    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner
    from rsic_core.scenes.caption import SceneConfig, caption_scene, embed_captions
    from rsic_core.scenes.geojson import feature_collection

    torch.set_num_threads(args.threads)
    captioner = load_captioner(args.model or ("ucm" if real else None))
    config = CaptionConfig(batch_size=args.batch_size)
    make = _real_scenes(args) if real else _synthetic_scenes(args)
    tile = 256 if real else 224
    sizes = [int(s) for s in (args.sizes or ("64,196" if real else "100,400,1600")).split(",")]
    print(
        f"{captioner.name} on {captioner.device}, {args.scene} scenes of {tile} px tiles, {args.threads} threads, "
        f"batch {args.batch_size}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"{'tiles':>6} {'pixels':>11} {'caption s':>10} {'tiles/s':>8} {'s/tile':>7} {'embed s':>8} "
        f"{'peak RSS MB':>12} {'scene MB':>9} {'load':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-scene-") as tmp:
        scene_config = SceneConfig(tile=tile)
        caption_scene(make(Path(tmp) / "warm", 1), captioner, scene_config, caption_config=config)  # warm-up
        for n in sizes:
            grid = math.isqrt(n)
            scene = make(Path(tmp) / str(n), grid)
            side = grid * tile
            with PeakMemory() as memory:
                started = time.perf_counter()
                result = caption_scene(scene, captioner, scene_config, caption_config=config, embed=False)
                seconds = time.perf_counter() - started
            started = time.perf_counter()
            embed_captions(result)
            embedding = time.perf_counter() - started
            tiles = len(result.tiles)
            print(
                f"{tiles:>6} {f'{side}x{side}':>11} {seconds:>10.1f} {tiles / seconds:>8.2f} {seconds / tiles:>7.3f} "
                f"{embedding:>8.1f} {f'{memory.peak:.0f} (+{memory.peak - memory.start:.0f})':>12} {side * side * 3 / 2**20:>9.0f} {os.getloadavg()[0]:>5.1f}"
            )
            if real or grid == 20:
                _quality(feature_collection(result), scene.with_name("truth.geojson"), real)
            scene.unlink()


def _synthetic_scenes(args):
    from rsic_core.data.demo.mosaic import generate_demo_scene

    return lambda folder, grid: generate_demo_scene(folder, grid=grid, seed=args.seed)


def _real_scenes(args):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.mosaic import photo_mosaic

    dataset = load_dataset(args.data)
    return lambda folder, grid: photo_mosaic(dataset, folder, split=args.split, grid=grid, seed=args.seed)


DEMO_QUERIES = {  # the demo classes as a person would search them
    "storagetanks": "storage tanks",
    "baseballfield": "baseball field",
    "tenniscourt": "tennis courts",
    "parking": "parking lot",
    "residential": "residential area",
}


def _quality(collection: dict, truth_path: Path, real: bool) -> None:
    from rsic_core.data.mosaic import read_truth
    from rsic_core.scenes.search import caption_classes, precision_at_k, search_scene
    from rsic_core.scoring.confusion import class_words

    truth = read_truth(truth_path)
    features = collection["features"]
    found = caption_classes(
        [f["properties"]["caption"] for f in features], collection["rsic_scene"]["model"], truth.values()
    )
    right = sum(named == truth[f["id"]] for named, f in zip(found.named, features))
    print(
        f"  {len(features)}-tile scene: the caption names the true class on {right} of {len(features)} tiles "
        f"({right / len(features):.1%}; classes: {found.origin})"
    )
    precisions = []
    for cls in sorted(set(truth.values())):
        k = sum(c == cls for c in truth.values())
        query = " ".join(class_words(cls)) if real else DEMO_QUERIES.get(cls, cls)
        precisions.append((query, k, precision_at_k(search_scene(collection, query, top=k), truth, cls)))
    print(
        "  search precision@k (k = tiles of the class): "
        + ", ".join(f"'{q}' {p:.2f} (k={k})" for q, k, p in precisions)
        + f"; mean {sum(p for _, _, p in precisions) / len(precisions):.2f}"
    )


if __name__ == "__main__":
    main()
