"""``rsic caption`` and ``rsic demo-model``: caption images with a model, rebuild the demo model.

rsic caption scene1.jpg scenes/ --model google/paligemma2-3b-pt-224 --adapter runs/lora --gen-num-beams 5 --out preds.jsonl
rsic demo-model train --out assets/demo_model
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rsic_core.cli.arguments import HelpFormatter, add_dataclass_arguments, alias_epilog, dataclass_from_args


def register(subparsers) -> None:
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.training.demo_model import DemoModelConfig

    p = subparsers.add_parser(
        "caption",
        help="caption images with a model (writes JSONL)",
        epilog=alias_epilog(CaptionConfig),
        formatter_class=HelpFormatter,
    )
    p.add_argument("images", nargs="+", help="image files or folders of images (jpg, png, tif...)")
    p.add_argument("--model", default="demo", help="Hugging Face id or model folder (default: the offline demo model)")
    p.add_argument("--adapter", help="LoRA adapter folder to apply")
    p.add_argument("--out", help="JSONL file to write (default: print to stdout)")
    p.add_argument("--device", help="cpu, cuda... (default: CUDA when available)")
    p.add_argument("--dtype", help="bf16, fp16 or fp32 (default: bf16 on CUDA, fp32 on CPU)")
    add_dataclass_arguments(p, CaptionConfig)
    p.set_defaults(func=_caption)

    demo = subparsers.add_parser("demo-model", help="the offline demo model").add_subparsers(
        dest="demo_command", required=True
    )
    p = demo.add_parser("train", help="train the demo model on the demo dataset (7-15 min on 2 cores)")
    p.add_argument("--out", default="assets/demo_model", help="folder to write (default assets/demo_model)")
    p.add_argument("--dataset", help="demo dataset folder (default: the generated one, 1200 images, seed 0)")
    add_dataclass_arguments(p, DemoModelConfig)
    p.set_defaults(func=_train_demo)


def progress_printer(unit: str = "", stream=None):
    """A ``progress(done, total)`` callback printing ``done/total unit`` to ``stream`` (default stderr).

    On a terminal it rewrites one line and ends it when ``done == total``; elsewhere (a log file,
    a pipe) it prints one line per step, so the log reads cleanly.
    """

    def progress(done: int, total: int) -> None:
        out = stream or sys.stderr
        text = f"{done}/{total} {unit}".rstrip()
        if out.isatty():
            print(f"\r{text}", end="\n" if done >= total else "", file=out, flush=True)
        else:
            print(text, file=out, flush=True)

    return progress


def collect_images(paths: list[str]) -> list[Path]:
    """The files named, with folders expanded to the images they hold (sorted)."""
    from rsic_core.data.images import IMAGE_EXTENSIONS

    found = []
    for name in paths:
        path = Path(name).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        else:
            found.append(path)  # a missing or broken file gets an error line, not a crash
    if not found:
        raise FileNotFoundError(f"no image found in {', '.join(paths)}")
    return found


def _caption(args: argparse.Namespace) -> int:
    from rsic_core.models.inference import CaptionConfig, caption_images
    from rsic_core.models.registry import load_captioner

    images = collect_images(args.images)
    config = dataclass_from_args(CaptionConfig, args)
    started = time.perf_counter()
    captioner = load_captioner(args.model, adapter=args.adapter, device=args.device, dtype=args.dtype)
    print(
        f"loaded {captioner.name} ({captioner.family.title}) on {captioner.device} in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )

    results = caption_images(captioner, [str(p) for p in images], config, progress=progress_printer("images"))
    lines = [
        json.dumps({"image": r.name, "caption": r.caption, "seconds": round(r.seconds, 4), "error": r.error})
        for r in results
    ]
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"rsic: error: {' '.join(r.error.split())}", file=sys.stderr)  # one line per failed image
    print(
        f"captioned {len(results) - len(failed)} of {len(results)} images"
        + (f", {len(failed)} failed" if failed else "")
        + (f", wrote {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


def _train_demo(args: argparse.Namespace) -> int:
    from rsic_core.training.demo_model import DemoModelConfig, train_demo_model

    report = train_demo_model(args.out, args.dataset, dataclass_from_args(DemoModelConfig, args))
    print(f"wrote {args.out}: test scores {json.dumps(report['test'])}")
    return 0
