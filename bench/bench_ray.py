"""Archive captioning speed: images/s in one process vs on Ray with 1 and 2 workers, Ray's start-up cost.

    .venv/bin/python bench/bench_ray.py
    .venv/bin/python bench/bench_ray.py --images 1000 --workers 1,2 --batch-size 8 --json bench_ray.json

Default: the offline demo model, greedy, batch 8, on the first 1,000 images of the demo dataset (generated
under $RSIC_HOME when absent: 1,200 images). One process: ``caption_images`` with torch's threads (all
cores) and with one thread (what one Ray worker gets). Ray: a local ``ray.init`` with the machine's
cores (timed: the start-up), then per worker count a small job (2 images per worker: actor start and
model load) and the full job into a fresh archive folder (``caption_archive``, shards of 256).
Efficiency per added worker = images/s with N workers / (N x images/s with 1 worker). The load
average is printed before and after: on shared cores the numbers move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model folder or cached hub id (default: demo model)")
    parser.add_argument("--data", help="image folder or dataset (default: the demo dataset)")
    parser.add_argument("--images", type=int, default=1000, help="images to caption (default 1000)")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts, comma separated (default 1,2)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per generate() call (default 8)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rsic_core.archive.sources import collect_sources
    from rsic_core.models.inference import CaptionConfig

    refs = collect_sources([args.data or str(_demo_images())])[: args.images]
    config = CaptionConfig(batch_size=args.batch_size)
    figures = {"images": len(refs), "cores": os.cpu_count(), "load_before": os.getloadavg(), "model": args.model}
    print(f"{len(refs)} images, batch {args.batch_size}, {os.cpu_count()} cores, load {_load()}")
    figures["local"] = _local(refs, args.model, config)
    figures["ray"] = _ray(refs, args.model, config, [int(w) for w in args.workers.split(",")])
    figures["load_after"] = os.getloadavg()
    _print(figures)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)


def _demo_images():
    from rsic_core.data.demo.dataset import demo_dataset_dir

    return demo_dataset_dir() / "images"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
        print(f"one process, {count} threads: {len(results) / seconds:.1f} images/s ({seconds:.1f} s)", flush=True)
    torch.set_num_threads(threads)
    return out


def _ray(refs, model: str, config, worker_counts: list[int]) -> dict:
    """Ray start-up, then per worker count a small job (actor start-up) and the full job."""
    import ray

    from rsic_core.archive.ray_engine import EngineConfig, caption_archive

    began = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    out = {"init_s": time.perf_counter() - began, "jobs": {}}
    print(f"ray.init: {out['init_s']:.1f} s", flush=True)
    try:
        for workers in worker_counts:
            engine = EngineConfig(ray_num_workers=workers)
            with tempfile.TemporaryDirectory(prefix="bench-ray-") as folder:
                small = caption_archive(refs[: 2 * workers], f"{folder}/small", model, config=config, engine=engine)
                full = caption_archive(refs, f"{folder}/full", model, config=config, engine=engine)
            job = {
                "small_job_s": small.seconds,
                "seconds": full.seconds,
                "images_per_s": full.captioned / full.seconds,
                "failed": full.failed,
                "shards": full.shards,
            }
            out["jobs"][workers] = job
            print(
                f"ray, {workers} workers: {job['images_per_s']:.1f} images/s ({full.seconds:.1f} s; "
                f"a {2 * workers}-image job took {small.seconds:.1f} s)",
                flush=True,
            )
    finally:
        ray.shutdown()
    return out


def _print(figures: dict) -> None:
    jobs = figures["ray"]["jobs"]
    one = jobs.get(1, {}).get("images_per_s")
    print()
    print(f"{'engine':<28} {'images/s':>9} {'seconds':>8} {'efficiency':>10}")
    for label in ("all_threads", "one_thread"):
        run = figures["local"][label]
        print(
            f"{'one process, ' + str(run['threads']) + ' threads':<28} {run['images_per_s']:9.1f} {run['seconds']:8.1f}"
        )
    for workers, job in jobs.items():
        efficiency = f"{job['images_per_s'] / (workers * one):10.2f}" if one else ""
        print(f"{f'ray, {workers} workers':<28} {job['images_per_s']:9.1f} {job['seconds']:8.1f} {efficiency}")
    print(f"ray.init {figures['ray']['init_s']:.1f} s; load average before {figures['load_before']}, after {_load()}")


if __name__ == "__main__":
    main()
