"""Captioning speed: plain transformers generate() beside the project's default path, alternated, with spread.

    .venv/bin/python bench/bench_caption.py --threads 1
    .venv/bin/python bench/bench_caption.py --threads 1 --batches 10 --batch-sizes 1,16 --beams 1,5 --json caption.json
    .venv/bin/python bench/bench_caption.py --tiny-shape blip2-opt-2.7b --device cuda --dtype bf16 --batch-sizes 1,32

Default: the offline demo model on CPU, batch 1 and 16, greedy and beam 5, on demo test images.
``--tiny-shape`` builds random weights with the real shapes (timing does not depend on the
weights) and fixes the caption length at ``--max-new-tokens`` (20, as in the anchors).

Per setting, the same images two ways: *plain* = the processor, ``model.generate`` with the dynamic
KV cache, ``batch_decode`` (what anyone writes first); *project* = ``caption_images`` with its defaults
(on CUDA: static KV cache and transformers' compiled decoding step where the model supports them, the
next batch read and preprocessed in a thread; on CPU the same as plain plus image checks and decoding).
Fair in code: both paths are warmed up on one batch first (the compile happens there); then ``--batches``
batches (default 10) are timed one at a time, each batch by both paths, in alternating order (plain first,
then project first, ...), so a drift in machine load hits both alike. The table gives the median ms per image
and the spread (interquartile range) of each path, and says "same speed" unless the two ranges do not overlap.
Peak memory: CUDA ``max_memory_allocated`` per path; on CPU the process's resident high-water mark (one
figure: it only grows). The header names the device, the library versions, the date and the load average
(printed again at the end); one JSON line (``BENCH_CAPTION {...}``) and markdown rows for the README close it.
Full run (defaults, CPU demo model, ``--threads 1``): about 1 minute on an idle core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    from rsic_core.models.registry import shapes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model folder or cached hub id (default: demo model)")
    parser.add_argument("--tiny-shape", choices=sorted(shapes()), help="random weights, real shapes")
    parser.add_argument("--device", help="cpu or cuda (default: CUDA when available)")
    parser.add_argument("--dtype", help="bf16, fp16, fp32 (default: bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--batch-sizes", default="1,16", help="comma-separated (default 1,16)")
    parser.add_argument("--beams", default="1,5", help="comma-separated beam widths (default 1,5)")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="longest caption (default 20)")
    parser.add_argument("--batches", type=int, default=10, help="timed batches per path and setting (default 10)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.batches < 1:
        parser.error("--batches must be at least 1")

    import torch

    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import build_shape, load_captioner

    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = _load()
    if args.tiny_shape:
        captioner = build_shape(args.tiny_shape, device=args.device, dtype=args.dtype)
    else:
        captioner = load_captioner(args.model, device=args.device, dtype=args.dtype)
    fixed = args.max_new_tokens if args.tiny_shape else 0  # random weights: fixed length, like the anchors
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    images = _images(max(batch_sizes) * (args.batches + 1))
    print(environment(captioner.device) + f"  load average {load_start}")
    print(
        f"{captioner.name} ({captioner.family.title}, {captioner.num_parameters() / 1e6:.1f} M parameters) "
        f"on {captioner.device} {str(captioner.dtype).replace('torch.', '')}, threads {torch.get_num_threads()}, "
        f"{args.max_new_tokens} new tokens{' (fixed)' if fixed else ''}, {args.batches} timed batches per path, "
        "alternating order"
    )
    print(
        f"{'beams':>5} {'batch':>5} {'plain ms/img (IQR)':>22} {'project ms/img (IQR)':>22} {'peak GiB':>11}"
        f" {'verdict':>15} {'same captions':>14}  project switches"
    )
    rows = []
    for beams in [int(b) for b in args.beams.split(",")]:
        for batch in batch_sizes:
            config = CaptionConfig(
                gen_num_beams=beams, gen_max_new_tokens=args.max_new_tokens, gen_min_new_tokens=fixed, batch_size=batch
            )
            paths = {
                "plain": lambda s, c=config: _plain(captioner, s, c),
                "project": lambda s, c=config: _project(captioner, s, c),
            }
            row = {"beams": beams, "batch": batch, **_alternate(paths, captioner, images, batch, args.batches)}
            row["verdict"] = verdict(row["plain"], row["project"])
            row["switches"] = switches(captioner, config)
            rows.append(row)
            plain, ours = row["plain"], row["project"]
            print(
                f"{beams:>5} {batch:>5} {_cell(plain):>22} {_cell(ours):>22} "
                f"{plain['peak_gib']:>5.2f}/{ours['peak_gib']:<5.2f} {row['verdict']:>15} "
                f"{row['same']:>6} of {row['images']:<5}  {row['switches']}"
            )
    load_end = _load()
    print(f"load average at end: {load_end}")
    print()
    print(
        "| beams | batch | plain `generate()` ms/image, median (IQR) | `caption_images` ms/image, median (IQR) | verdict |"
    )
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['beams']} | {row['batch']} | {_cell(row['plain'])} | {_cell(row['project'])} | {row['verdict']} |"
        )
    summary = {
        "device": str(captioner.device),
        "model": captioner.name,
        "threads": torch.get_num_threads(),
        "batches": args.batches,
        "load_start": load_start,
        "load_end": load_end,
        "rows": rows,
    }
    print("BENCH_CAPTION " + json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cell(stats: dict) -> str:
    return f"{stats['median']:.1f} ({stats['q1']:.1f}–{stats['q3']:.1f})"


def verdict(plain: dict, project: dict) -> str:
    """ "same speed" unless the two interquartile ranges (ms per image) do not overlap."""
    if project["q3"] < plain["q1"]:
        return f"project {plain['median'] / project['median']:.2f}x faster"
    if plain["q3"] < project["q1"]:
        return f"plain {project['median'] / plain['median']:.2f}x faster"
    return "same speed"


def quartiles(values: list[float]) -> dict:
    """Median and interquartile range of ``values`` (numpy's linear interpolation), and min-max."""
    import numpy as np

    q1, median, q3 = (float(x) for x in np.percentile(values, [25, 50, 75]))
    return {"median": median, "q1": q1, "q3": q3, "min": float(min(values)), "max": float(max(values))}


def environment(device: str) -> str:
    """One line: date, device (GPU name), torch / transformers / peft versions."""
    import datetime

    import peft
    import torch
    import transformers

    where = torch.cuda.get_device_name(device) if str(device).startswith("cuda") else "CPU"
    return (
        f"{datetime.datetime.now().isoformat(timespec='minutes')}  {where}  torch {torch.__version__}  "
        f"transformers {transformers.__version__}  peft {peft.__version__}"
    )


def switches(captioner, config) -> str:
    from rsic_core.models import generation_speed

    kwargs = generation_speed.speed_kwargs(captioner, config)
    cache = kwargs.get("cache_implementation", "dynamic")
    compiled = generation_speed.compiling(captioner, config)
    return f"cache {cache}, compile {'on' if compiled else 'off'}, prefetch {generation_speed.prefetching(captioner, config)}"


def _plain(captioner, images, config) -> list[str]:
    """The minimum anyone does: processor, generate (dynamic cache), batch_decode."""
    import torch

    from rsic_core.models.inference import generation_kwargs

    processor, model, captions = captioner.processor, captioner.model, []
    for start in range(0, len(images), config.batch_size):
        inputs = captioner.family.encode(processor, images[start : start + config.batch_size])
        inputs = {
            k: (v.to(captioner.device, captioner.dtype) if v.is_floating_point() else v.to(captioner.device))
            for k, v in inputs.items()
        }
        with torch.inference_mode():
            out = model.generate(**inputs, **generation_kwargs(config))
        captions += captioner.family.decode(
            processor, out, inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
        )
    return captions


def _project(captioner, images, config) -> list[str]:
    from rsic_core.models.inference import caption_images

    return [r.caption for r in caption_images(captioner, images, config)]


def _alternate(paths: dict, captioner, images: list, batch: int, batches: int) -> dict:
    """Warm each path on one batch, then time ``batches`` batches per path, one at a time, alternating which goes first.

    Returns:
        Per path: median, IQR and min-max of ms per image and peak memory (GiB); ``same`` = captions the paths
        agree on, ``images`` = images timed.
    """
    import torch

    cuda = str(captioner.device).startswith("cuda")
    names = list(paths)
    for name in names:
        paths[name](images[:batch])  # warm-up (and compile) on the first batch, which is not timed
    times: dict[str, list[float]] = {name: [] for name in names}
    peaks = dict.fromkeys(names, 0.0)
    captions: dict[str, list[str]] = {name: [] for name in names}
    for i in range(batches):
        chunk = images[(i + 1) * batch : (i + 2) * batch]
        for name in names if i % 2 == 0 else names[::-1]:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            began = time.perf_counter()
            captions[name] += paths[name](chunk)
            if cuda:
                torch.cuda.synchronize()
            times[name].append(1000 * (time.perf_counter() - began) / len(chunk))
            peaks[name] = max(peaks[name], _peak(cuda))
    out = {name: {**quartiles(times[name]), "ms_per_image": times[name], "peak_gib": peaks[name]} for name in names}
    out["same"] = sum(a == b for a, b in zip(*(captions[n] for n in names)))
    out["images"] = batch * batches
    return out


def _peak(cuda: bool) -> float:
    import resource

    import torch

    if cuda:
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process high-water mark (KiB -> GiB)


def _images(n: int) -> list:
    """``n`` demo test images as PIL images (loaded once, so both paths time the model, not the disk)."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.data.images import load_image

    records = load_dataset(demo_dataset_dir()).select(split="test") or load_dataset(demo_dataset_dir()).records
    return [load_image(records[i % len(records)].path) for i in range(n)]


if __name__ == "__main__":
    raise SystemExit(main())
