"""Archive captioning speed: warm images/s in one process vs on Ray with N workers; Ray's start-up apart.

    .venv/bin/python bench/bench_ray.py
    .venv/bin/python bench/bench_ray.py --images 1000 --workers 1,2 --batch-size 8 --json bench_ray.json

Default: the offline demo model, greedy, batch 8, on the first 1,000 images of the demo dataset (generated
under $RSIC_HOME when absent: 1,200 images). Fair in code: every throughput is **warm** (model loaded and one
batch captioned before the clock starts), over the same images and batches; start-up is reported apart.

- One process: the model loaded once (timed: its start-up), then ``caption_images`` with torch's threads (all
  cores) and with one thread (what one Ray worker gets).
- Ray: ``ray.init`` (timed), then per worker count N: N of the archive engine's own actors
  (``rsic_core.archive.ray_engine.CaptionActor``, one CPU and one torch thread each) started and each given one
  one-image batch (start-up = actor start + model load + first batch), then the same batches handed out to the
  warm actors (``ray.util.ActorPool``) and timed.
- End to end: ``caption_archive`` (Ray Data, actor start-up inside, writing shards) per N, as a user's job runs;
  ``--no-archive`` leaves it out.

Efficiency per worker = warm images/s with N workers / (N x warm images/s with 1 worker). The load average is
printed at start and end (on shared cores the numbers move with it); one JSON line (``BENCH_RAY {...}``) and the
markdown rows for the README close the output. Run it without ``OMP_NUM_THREADS`` set, so that the all-threads row
uses every core. Full run (defaults): about 3-4 minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model folder or cached hub id (default: demo model)")
    parser.add_argument("--data", help="image folder or dataset (default: the demo dataset)")
    parser.add_argument("--images", type=int, default=1000, help="images to caption (default 1000)")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts, comma separated (default 1,2)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per generate() call (default 8)")
    parser.add_argument("--no-archive", action="store_true", help="leave out the end-to-end caption_archive jobs")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rsic_core.archive.sources import collect_sources
    from rsic_core.models.inference import CaptionConfig

    refs = collect_sources([args.data or str(_demo_images())])[: args.images]
    config = CaptionConfig(batch_size=args.batch_size)
    figures = {"images": len(refs), "cores": os.cpu_count(), "load_before": _load(), "model": args.model}
    print(f"{len(refs)} images, batch {args.batch_size}, {os.cpu_count()} cores, load average at start {_load()}")
    figures["local"] = _local(refs, args.model, config)
    workers = [int(w) for w in args.workers.split(",")]
    figures["ray"] = _ray(refs, args.model, config, workers, archive=not args.no_archive)
    figures["load_after"] = _load()
    _print(figures)
    print("BENCH_RAY " + json.dumps(figures))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)
    return 0


def _demo_images():
    from rsic_core.data.demo.dataset import demo_dataset_dir

    return demo_dataset_dir() / "images"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _local(refs, model: str, config) -> dict:
    """One process: images/s with torch's threads and with one thread (the model loaded once, timed apart)."""
    import torch

    from rsic_core.models.inference import caption_images
    from rsic_core.models.registry import load_captioner

    began = time.perf_counter()
    captioner = load_captioner(model, device="cpu")
    out = {"load_s": time.perf_counter() - began}
    sources = [r.source for r in refs]
    threads = torch.get_num_threads()
    for label, count in (("all_threads", threads), ("one_thread", 1)):
        torch.set_num_threads(count)
        caption_images(captioner, sources[: config.batch_size], config)  # warm-up
        began = time.perf_counter()
        results = caption_images(captioner, sources, config)
        seconds = time.perf_counter() - began
        out[label] = {"threads": count, "seconds": seconds, "images_per_s": len(results) / seconds}
        print(
            f"one process, {count} thread(s), warm: {len(results) / seconds:.1f} images/s ({seconds:.1f} s)", flush=True
        )
    torch.set_num_threads(threads)
    return out


def _ray(refs, model: str, config, worker_counts: list[int], archive: bool = True) -> dict:
    """Ray start-up, then per worker count: warm actors' start-up and warm throughput, and the end-to-end job."""
    import ray

    began = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    out = {"init_s": time.perf_counter() - began, "jobs": {}}
    print(f"ray.init: {out['init_s']:.1f} s", flush=True)
    try:
        for workers in worker_counts:
            job = _warm_actors(refs, model, config, workers)
            if archive:
                job |= _archive_job(refs, model, config, workers)
            out["jobs"][workers] = job
    finally:
        ray.shutdown()
    return out


def _warm_actors(refs, model: str, config, workers: int) -> dict:
    """``workers`` captioning actors started (timed), then the batches handed to them warm (timed)."""
    import numpy as np
    import ray
    from ray.util import ActorPool

    from rsic_core.archive.ray_engine import CaptionActor

    keys = [r.key for r in refs]
    batches = [{"image": np.array(keys[i : i + config.batch_size])} for i in range(0, len(keys), config.batch_size)]
    remote = ray.remote(num_cpus=1)(CaptionActor)
    began = time.perf_counter()
    actors = [remote.remote(model, None, config.__dict__.copy(), "cpu", None, 1) for _ in range(workers)]
    ray.get([a.__call__.remote({"image": np.array(keys[:1])}) for a in actors])  # loaded, one image captioned
    startup = time.perf_counter() - began
    began = time.perf_counter()
    rows = list(ActorPool(actors).map_unordered(lambda a, b: a.__call__.remote(b), batches))
    seconds = time.perf_counter() - began
    for actor in actors:
        ray.kill(actor)
    captioned = sum(len(r["image"]) for r in rows)
    failed = sum(e is not None for r in rows for e in r["error"])
    print(
        f"ray, {workers} workers: start-up {startup:.1f} s, then warm {captioned / seconds:.1f} images/s "
        f"({seconds:.1f} s, {failed} failed)",
        flush=True,
    )
    return {"startup_s": startup, "seconds": seconds, "images_per_s": captioned / seconds, "failed": failed}


def _archive_job(refs, model: str, config, workers: int) -> dict:
    """The end-to-end ``caption_archive`` job (Ray Data; actor start-up and shard writing inside)."""
    from rsic_core.archive.ray_engine import EngineConfig, caption_archive

    with tempfile.TemporaryDirectory(prefix="bench-ray-") as folder:
        full = caption_archive(refs, folder, model, config=config, engine=EngineConfig(ray_num_workers=workers))
    print(
        f"ray, {workers} workers, caption_archive end to end: {full.captioned / full.seconds:.1f} images/s", flush=True
    )
    return {"archive_s": full.seconds, "archive_images_per_s": full.captioned / full.seconds}


def _print(figures: dict) -> None:
    jobs = figures["ray"]["jobs"]
    one = jobs.get(1, {}).get("images_per_s")
    local = figures["local"]
    print()
    print("| engine | start-up s | warm images/s | warm s | efficiency per worker | end-to-end images/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label in ("all_threads", "one_thread"):
        run = local[label]
        print(
            f"| one process, {run['threads']} thread{'s' if run['threads'] > 1 else ''} | {local['load_s']:.1f} "
            f"| {run['images_per_s']:.1f} | {run['seconds']:.1f} | | |"
        )
    for workers, job in jobs.items():
        efficiency = f"{job['images_per_s'] / (workers * one):.2f}" if one else ""
        end = f"{job['archive_images_per_s']:.1f}" if "archive_images_per_s" in job else ""
        print(
            f"| Ray, {workers} worker{'s' if workers > 1 else ''} | {job['startup_s']:.1f} "
            f"| {job['images_per_s']:.1f} | {job['seconds']:.1f} | {efficiency} | {end} |"
        )
    print(
        f"ray.init {figures['ray']['init_s']:.1f} s (apart from the start-up column); "
        f"load average at start {figures['load_before']}, at end {figures['load_after']}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
