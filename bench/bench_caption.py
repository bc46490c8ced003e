"""Captioning speed: plain transformers generate() beside the project's default path, in one run.

    .venv/bin/python bench/bench_caption.py
    .venv/bin/python bench/bench_caption.py --tiny-shape blip2-opt-2.7b --device cuda --dtype bf16 --batch-sizes 1,32

Default: the offline demo model on CPU, batch 1 and 16, greedy and beam 5, on demo test images.
``--tiny-shape`` builds random weights with the real shapes (timing does not depend on the
weights) and fixes the caption length at ``--max-new-tokens`` (20, as in the anchors).

Per setting, the same images two ways: *plain* = the processor, ``model.generate`` with the dynamic
KV cache, ``batch_decode`` (what anyone writes first); *project* = ``caption_images`` with its defaults
(on CUDA: static KV cache and transformers' compiled decoding step where the model supports them, the
next batch read and preprocessed in a thread; on CPU the same as plain plus image checks and decoding).
Each path is warmed up on one batch first (the compile happens there) and then timed; the table gives
ms per image, peak memory of each path (CUDA: ``max_memory_allocated``; CPU: the process's resident
high-water mark, which only grows), the speed-up and how many captions the two paths agree on. The
header names the device, the library versions and the date.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from rsic_core.models.registry import shapes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model folder or cached hub id (default: demo model)")
    parser.add_argument("--tiny-shape", choices=sorted(shapes()), help="random weights, real shapes")
    parser.add_argument("--device", help="cpu or cuda (default: CUDA when available)")
    parser.add_argument("--dtype", help="bf16, fp16, fp32 (default: bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--batch-sizes", default="1,16", help="comma-separated (default 1,16)")
    parser.add_argument("--beams", default="1,5", help="comma-separated beam widths (default 1,5)")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="longest caption (default 20)")
    parser.add_argument("--batches", type=int, default=2, help="timed batches per setting (default 2)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()

    import torch

    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import build_shape, load_captioner

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tiny_shape:
        captioner = build_shape(args.tiny_shape, device=args.device, dtype=args.dtype)
    else:
        captioner = load_captioner(args.model, device=args.device, dtype=args.dtype)
    fixed = args.max_new_tokens if args.tiny_shape else 0  # random weights: fixed length, like the anchors
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    images = _images(max(batch_sizes) * args.batches)
    print(environment(captioner.device))
    print(
        f"{captioner.name} ({captioner.family.title}, {captioner.num_parameters() / 1e6:.1f} M parameters) "
        f"on {captioner.device} {str(captioner.dtype).replace('torch.', '')}, threads {torch.get_num_threads()}, "
        f"{args.max_new_tokens} new tokens{' (fixed)' if fixed else ''}"
    )
    print(
        f"{'beams':>5} {'batch':>5} {'plain ms/img':>13} {'peak GiB':>9} {'project ms/img':>15} {'peak GiB':>9}"
        f" {'speed-up':>9} {'same captions':>14}  project switches"
    )
    for beams in [int(b) for b in args.beams.split(",")]:
        for batch in batch_sizes:
            config = CaptionConfig(
                gen_num_beams=beams, gen_max_new_tokens=args.max_new_tokens, gen_min_new_tokens=fixed, batch_size=batch
            )
            subset = images[: batch * args.batches]
            plain, plain_peak, plain_captions = _measure(lambda s, c=config: _plain(captioner, s, c), captioner, subset)
            ours, our_peak, our_captions = _measure(lambda s, c=config: _project(captioner, s, c), captioner, subset)
            same = sum(a == b for a, b in zip(plain_captions, our_captions))
            print(
                f"{beams:>5} {batch:>5} {plain * 1000:>13.1f} {plain_peak:>9.2f} {ours * 1000:>15.1f} {our_peak:>9.2f}"
                f" {plain / ours:>8.2f}x {same:>6} of {len(subset):<5}  {switches(captioner, config)}"
            )


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


def _measure(run, captioner, images) -> tuple[float, float, list[str]]:
    """Seconds per image after a one-batch warm-up, peak memory (GiB) and the captions."""
    import torch

    cuda = str(captioner.device).startswith("cuda")
    run(images[: max(len(images) // 2, 1)])  # warm-up (and compile) on one batch
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    captions = run(images)
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / len(images)
    return seconds, _peak(cuda), captions


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
    main()
