"""The pointing game per grounding method: does a word's heatmap peak on the object it names?

    .venv/bin/python bench/bench_pointing.py
    .venv/bin/python bench/bench_pointing.py --model runs/blip-demo/model --prompt "" --methods attention,gradcam

Default: the offline demo model (PaliGemma) with its detailed prompt ("describe en", greedy) on the
demo test split (120 images of the 1,200-image demo dataset, seed 0; written to ``--data`` when not
there). For each method it prints the object words scored, the hit rate (the heatmap's maximum in a
box of the named object), chance (the share of the image those boxes cover) and their ratio.
Any model folder of another family runs the same way (its methods are listed by its family).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model folder or cached hub id (default: the demo model)")
    parser.add_argument("--prompt", default="describe en", help="generation prompt ('' = the family's own)")
    parser.add_argument("--methods", default="", help="comma-separated (default: every method of the family)")
    parser.add_argument("--data", help="folder of the demo test split (default: a temporary folder)")
    parser.add_argument("--limit", type=int, help="first N images with objects only")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--json", help="also write the table to this JSON file")
    args = parser.parse_args()

    import torch

    from rsic_core.models.grounding import methods_of
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner
    from rsic_core.scoring.pointing import demo_pointing

    torch.set_num_threads(args.threads)
    captioner = load_captioner(args.model, device=args.device)
    methods = [m for m in args.methods.split(",") if m] or list(methods_of(captioner))
    folder = args.data or tempfile.mkdtemp(prefix="pointing-")
    config = CaptionConfig(gen_prompt=args.prompt or None)
    rows = []
    print(f"{captioner.family.title} ({captioner.name}), prompt {args.prompt!r}, demo test split in {folder}")
    print(f"{'method':10s} {'words':>5s} {'hits':>5s} {'hit rate':>8s} {'chance':>7s} {'ratio':>6s} {'seconds':>8s}")
    for method in methods:
        began = time.perf_counter()
        score, scored = demo_pointing(captioner, folder, method, config, args.limit)
        seconds = time.perf_counter() - began  # captioning and explaining every image of the split
        rows.append({"family": captioner.family.name, "method": method, **score.to_dict(), "seconds": seconds})
        print(
            f"{method:10s} {score.words:5d} {score.hits:5d} {score.hit_rate:8.3f} {score.chance:7.3f} "
            f"{score.ratio:6.2f} {seconds:8.2f}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
