"""The pointing game per grounding method, beside baselines: does a word's heatmap peak on the object it names?

    .venv/bin/python bench/bench_pointing.py
    .venv/bin/python bench/bench_pointing.py --model runs/blip-demo/model --prompt "" --methods attention,grad_x_act

Default: the offline demo model (PaliGemma) with its detailed prompt ("describe en", greedy) on the demo test split
(120 images of the 1,200-image demo dataset, seed 0: the one under ``RSIC_HOME``, generated when absent, or
``--data``). For each method it prints the object words scored, the hit rate (the heatmap's maximum in a box of the
named object) with its 95 % Wilson interval, chance (the share of the image those boxes cover) and their ratio. On the same words (the first
method's), two baselines that never look at the model:

- **centre**: the image's centre pixel;
- **layout prior**: per object, the mean of the masks of its boxes over the *training* split; its peak is the guess
  (what "planes are usually there" already gives).

Any model folder of another family runs the same way (its methods are listed by its family). Prints the load average
at start and end, one JSON line (``BENCH_POINTING [...]``) and the markdown rows for the README. Full run (defaults,
three methods): about 2 minutes on one idle core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEMO_SIZE = (224, 224)  # the demo dataset's images (generate_demo_dataset's default size)


def demo_split(folder, split: str) -> tuple[list[Path], list[dict]]:
    """The image paths and scenes of ``split`` of a demo dataset folder, images with counted objects only."""
    from rsic_core.data.demo.dataset import ANNOTATION_NAME

    folder = Path(folder)
    images = json.loads((folder / ANNOTATION_NAME).read_text(encoding="utf-8"))["images"]
    kept = [im for im in images if im["split"] == split and im["scene"].get("objects")]
    return [folder / "images" / im["filename"] for im in kept], [im["scene"] for im in kept]


def demo_pointing(captioner, folder, method: str | None = None, config=None, limit: int | None = None):
    """The pointing game of ``captioner`` on the test split of the demo dataset in ``folder``.

    Returns:
        The :class:`~rsic_core.scoring.pointing.PointingScore`, the scored words and the unboxed count.
    """
    from rsic_core.models.grounding import explain_images
    from rsic_core.scoring.pointing import point_words, score_points

    paths, scenes = demo_split(folder, "test")
    paths, scenes = paths[:limit], scenes[:limit]
    explanations = explain_images(captioner, [str(p) for p in paths], config, method)
    scored, unboxed = [], 0
    for explanation, scene in zip(explanations, scenes):
        if explanation.ok:
            found, missing = point_words(explanation, scene)
            scored, unboxed = scored + found, unboxed + missing
    return score_points(scored, unboxed), scored, unboxed


def baselines(folder, scored: list, unboxed: int = 0) -> dict:
    """The centre and layout-prior baselines on the model's scored words (see the module docstring)."""
    from rsic_core.scoring.pointing import centre_point, layout_prior, prior_points, score_baseline

    paths, scenes = demo_split(folder, "test")
    by_image = {str(p): s for p, s in zip(paths, scenes)}
    peaks = prior_points(layout_prior(demo_split(folder, "train")[1], DEMO_SIZE))
    centre = centre_point(DEMO_SIZE)
    return {
        "centre": score_baseline(scored, by_image, lambda p: centre, DEMO_SIZE, unboxed),
        "layout prior": score_baseline(scored, by_image, lambda p: peaks.get(p.object, centre), DEMO_SIZE, unboxed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model folder or cached hub id (default: the demo model)")
    parser.add_argument("--prompt", default="describe en", help="generation prompt ('' = the family's own)")
    parser.add_argument("--methods", default="", help="comma-separated (default: every method of the family)")
    parser.add_argument("--data", help="demo dataset folder (default: the demo dataset under RSIC_HOME)")
    parser.add_argument("--limit", type=int, help="first N test images with objects only")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    import torch

    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.models.grounding import choose_method, methods_of
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner

    load_start = [round(x, 2) for x in os.getloadavg()]
    torch.set_num_threads(args.threads)
    captioner = load_captioner(args.model, device=args.device)
    methods = [choose_method(captioner, m) for m in args.methods.split(",") if m] or list(methods_of(captioner))
    folder = Path(args.data) if args.data else demo_dataset_dir()
    config = CaptionConfig(gen_prompt=args.prompt or None)
    rows = []
    print(f"{captioner.family.title} ({captioner.name}), prompt {args.prompt!r}, demo dataset {folder}")
    print(f"load average at start: {load_start}")
    print(f"{'method':24s} {'words':>5s} {'hits':>5s} {'hit rate':>8s} {'chance':>7s} {'ratio':>6s} {'seconds':>8s}")
    first = None
    for method in methods:
        began = time.perf_counter()
        score, scored, unboxed = demo_pointing(captioner, folder, method, config, args.limit)
        seconds = time.perf_counter() - began  # captioning and explaining every image of the split
        first = first or (scored, unboxed)
        rows.append(_row(captioner, method, score, seconds))
    for name, score in baselines(folder, *first).items():  # on the first method's words (same captions: greedy)
        rows.append(_row(captioner, f"{name} (baseline)", score, 0.0))
    for row in rows:
        print(
            f"{row['method']:24s} {row['words']:5d} {row['hits']:5d} {row['hit_rate']:8.3f} {row['chance']:7.3f} "
            f"{row['ratio']:6.2f} {row['seconds']:8.2f}"
        )
    load_end = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at end: {load_end}")
    print()
    print("| family | method | hits / words | hit rate (95 % interval) | chance | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {captioner.family.title} | {row['method']} | {row['hits']} / {row['words']} | {row['hit_rate']:.3f} "
            f"({row['hit_rate_low']:.2f}–{row['hit_rate_high']:.2f}) | {row['chance']:.3f} | {row['ratio']:.2f}× |"
        )
    print("BENCH_POINTING " + json.dumps({"load_start": load_start, "load_end": load_end, "rows": rows}))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


def _row(captioner, method: str, score, seconds: float) -> dict:
    low, high = wilson(score.hits, score.words)
    return {
        "family": captioner.family.name,
        "method": method,
        **score.to_dict(),
        "hit_rate_low": low,
        "hit_rate_high": high,
        "seconds": seconds,
    }


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) of a hit rate of ``hits`` out of ``n``: with some 40 words a
    rate moves by about +-0.15, which the README must show. Written out (five lines) rather than adding
    statsmodels for ``proportion_confint``."""
    if n == 0:
        return float("nan"), float("nan")
    p, d = hits / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / d
    return max(0.0, centre - half), min(1.0, centre + half)


if __name__ == "__main__":
    raise SystemExit(main())
