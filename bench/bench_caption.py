"""Captioning speed: ms per image through caption_images beside a plain generate() loop.

    .venv/bin/python bench/bench_caption.py
    .venv/bin/python bench/bench_caption.py --tiny-shape blip2-opt-2.7b --device cuda --dtype bf16 --batch-sizes 1,32

Default: the offline demo model on CPU, batch 1 and 16, greedy and beam 5, on demo test images.
``--tiny-shape`` builds random weights with the real shapes (timing does not depend on the
weights) and fixes the caption length at ``--max-new-tokens`` (20, as in the anchors).
The plain loop runs the processor and ``model.generate`` on the same images with the same
settings; ``caption_images`` adds image loading, error handling and decoding.
"""

from __future__ import annotations

import argparse
import time


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

    from rsic_core.models.inference import CaptionConfig, caption_images, generation_kwargs
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
    print(
        f"{captioner.name} ({captioner.family.title}, {captioner.num_parameters() / 1e6:.1f} M parameters) "
        f"on {captioner.device} {str(captioner.dtype).replace('torch.', '')}, threads {torch.get_num_threads()}"
    )
    print(f"{'beams':>5} {'batch':>5} {'caption_images ms/img':>22} {'generate() ms/img':>18} {'images/s':>9}")
    for beams in [int(b) for b in args.beams.split(",")]:
        for batch in batch_sizes:
            config = CaptionConfig(
                gen_num_beams=beams, gen_max_new_tokens=args.max_new_tokens, gen_min_new_tokens=fixed, batch_size=batch
            )
            subset = images[: batch * args.batches]
            caption_images(captioner, subset[:batch], config)  # warm-up
            ours = _timed(lambda s=subset, c=config: caption_images(captioner, s, c), captioner.device) / len(subset)
            plain = _timed(
                lambda s=subset, b=batch, c=config: _plain_loop(captioner, s, b, generation_kwargs(c)), captioner.device
            )
            plain /= len(subset)
            print(f"{beams:>5} {batch:>5} {ours * 1000:>22.1f} {plain * 1000:>18.1f} {1 / ours:>9.1f}")


def _plain_loop(captioner, images, batch: int, kwargs: dict) -> None:
    """The minimum anyone does: processor, generate, batch_decode."""
    import torch

    processor, model = captioner.processor, captioner.model
    for start in range(0, len(images), batch):
        inputs = captioner.family.encode(processor, images[start : start + batch])
        inputs = {
            k: (v.to(captioner.device, captioner.dtype) if v.is_floating_point() else v.to(captioner.device))
            for k, v in inputs.items()
        }
        with torch.inference_mode():
            out = model.generate(**inputs, **kwargs)
        processor.tokenizer.batch_decode(out, skip_special_tokens=True)


def _timed(fn, device: str) -> float:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def _images(n: int) -> list:
    """``n`` demo test images as PIL images (loaded once, so both paths time the model, not the disk)."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.data.images import load_image

    records = load_dataset(demo_dataset_dir()).select(split="test") or load_dataset(demo_dataset_dir()).records
    return [load_image(records[i % len(records)].path) for i in range(n)]


if __name__ == "__main__":
    main()
