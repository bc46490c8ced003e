"""SCST against cross-entropy continued for the same image-passes, over seeds, on a split not used for tuning (CPU).

    .venv/bin/python bench/bench_scst.py --seeds 0,1,2
    .venv/bin/python bench/bench_scst.py --seeds 0,1,2 [--xe_steps 40] [--steps 40] [--batch 16] [--scst_samples 5]
        [--scst_lr 1e-3] [--xe_lr 2e-3] [--cont_lr 1e-3] [--split test] [--xe_run RUN] [--work DIR] [--json F] [--out F]

Why: SCST's batch size (16 images) and learning rate (1e-3) were picked on the demo **val** split, from one seed,
against the XE start only. Here every score is on the demo **test** split (120 images; ``--split``), which nothing
was tuned on, and SCST is set against a compute-matched control:

1. XE start: a LoRA run (q_proj,v_proj, r 16) from the demo model on the detailed demo captions, ``--xe_steps``
   steps of ``--batch`` images, cosine, seed 0 (``--xe_run`` reuses one). Trained once: both arms start from it.
2. Per seed of ``--seeds``, two continuations from that start (its adapter merged, a new LoRA on top), with the same
   steps, images per step, constant learning rate and seed (data order; SCST's sampling):
   - **SCST**: ``--scst_samples`` sampled captions per image, CIDEr-D reward, mean of the others as baseline;
   - **XE continued**: plain cross-entropy on the references (``--cont_lr``, default the SCST rate).
   Both see ``steps x batch`` training images (image-passes); SCST costs more per image (k sampled captions).
3. Test CIDEr-D / BLEU-4 (greedy, x100) of each run; per arm the mean, std and min-max over seeds; the paired
   difference per seed. "within noise" is printed when |mean difference| < the larger min-max range of the arms.

Prints the load average at start and end, one JSON line (``BENCH_SCST {...}``) and the markdown rows for the
README. Full run (defaults, 3 seeds; 40 steps as in the earlier claim): about 6-10 minutes on 2 idle cores
(1 XE start + 3 x (SCST + XE continued); a smoke run measured about 2.8 s per SCST step and 0.3 s per XE step at
batch 16 on one busy thread, plus about 5 s per test evaluation). ``--steps 30`` if it must be shorter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rsic_core.runs.layout import load_run  # noqa: E402
from rsic_core.training.config import TrainConfig  # noqa: E402
from rsic_core.training.trainer import train  # noqa: E402


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run(config: TrainConfig) -> dict:
    """Train, then the run's test scores (x100) and wall minutes."""
    began = time.time()
    folder = train(config)
    corpus = load_run(folder).corpus
    return {
        "run": str(folder),
        "CIDEr": 100 * corpus["CIDEr"],
        "BLEU-4": 100 * corpus["BLEU-4"],
        "minutes": (time.time() - began) / 60,
    }


def spread(values: list[float]) -> dict:
    """Mean, standard deviation (0 for one value) and min-max of ``values``."""
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def verdict(scst: list[float], xe: list[float]) -> tuple[float, float, str]:
    """Mean difference SCST - XE, the noise it is judged against (the larger min-max range), and the words."""
    diff = statistics.fmean(scst) - statistics.fmean(xe)
    noise = max(max(scst) - min(scst), max(xe) - min(xe))
    if abs(diff) < noise:
        return diff, noise, "within noise"
    return diff, noise, f"SCST {'above' if diff > 0 else 'below'} XE continued, outside the seed spread"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the two continuations (default 0,1,2)")
    parser.add_argument("--xe_steps", type=int, default=40, help="steps of the XE start (default 40)")
    parser.add_argument("--xe_lr", type=float, default=2e-3)
    parser.add_argument("--xe_run", default=None, help="start both arms from this XE run (skips step 1)")
    parser.add_argument("--steps", type=int, default=40, help="steps of each continuation (default 40)")
    parser.add_argument("--batch", type=int, default=16, help="images per step of every run (default 16)")
    parser.add_argument("--scst_samples", type=int, default=5)
    parser.add_argument("--scst_lr", type=float, default=1e-3)
    parser.add_argument("--cont_lr", type=float, default=None, help="XE-continued rate (default: --scst_lr)")
    parser.add_argument("--split", default="test", help="split scored (default test: not used for tuning)")
    parser.add_argument("--work", default=None, help="folder for the runs (default: a temporary folder)")
    parser.add_argument("--json", default=None, help="also write the summary here")
    parser.add_argument("--out", default=None, help="also write the markdown rows here")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s != ""]
    if not seeds:
        parser.error("--seeds needs at least one seed")

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 2)))
    load_start = _load()
    print(f"load average at start: {load_start} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)")
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-scst-"))
    common = dict(
        lora_r=16, lora_alpha=32, lora_targets="q_proj,v_proj", gradient_accumulation_steps=1,
        eval_split=args.split, eval_metrics="bleu,cider", eval_efficiency=False, gen_max_new_tokens=30,
        per_device_eval_batch_size=40, per_device_train_batch_size=args.batch, save_steps=10**6, train_device="cpu",
    )  # fmt: skip
    if args.xe_run:
        start = {"run": args.xe_run, **_scores(args.xe_run), "minutes": float("nan")}
    else:
        start = _run(
            TrainConfig(
                model="demo",
                output_dir=str(work / "xe-start"),
                max_steps=args.xe_steps,
                learning_rate=args.xe_lr,
                lr_scheduler_type="cosine",
                seed=0,
                **common,
            )  # fmt: skip
        )
    print(f"XE start: test CIDEr {start['CIDEr']:.1f}, BLEU-4 {start['BLEU-4']:.1f} ({start['minutes']:.1f} min)")
    arms: dict[str, list[dict]] = {"scst": [], "xe": []}
    for seed in seeds:
        cont = dict(
            model=start["run"], max_steps=args.steps, warmup_steps=0, lr_scheduler_type="constant", seed=seed, **common
        )
        arms["scst"].append(
            _run(
                TrainConfig(
                    output_dir=str(work / f"scst-{seed}"),
                    objective="scst",
                    scst_samples=args.scst_samples,
                    learning_rate=args.scst_lr,
                    **cont,
                )  # fmt: skip
            )
        )
        arms["xe"].append(
            _run(TrainConfig(output_dir=str(work / f"xe-{seed}"), learning_rate=args.cont_lr or args.scst_lr, **cont))
        )
        print(
            f"seed {seed}: SCST {arms['scst'][-1]['CIDEr']:.1f} ({arms['scst'][-1]['minutes']:.1f} min), "
            f"XE continued {arms['xe'][-1]['CIDEr']:.1f} ({arms['xe'][-1]['minutes']:.1f} min)",
            flush=True,
        )
    summary = summarise(args, seeds, start, arms)
    summary["load_start"], summary["load_end"] = load_start, _load()
    rows = table(summary)
    print("\n".join(rows))
    print(f"CIDEr: SCST - XE continued = {summary['diff']:+.1f} (noise {summary['noise']:.1f}): {summary['verdict']}")
    print(f"load average at end: {summary['load_end']}")
    print("BENCH_SCST " + json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.out:
        Path(args.out).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return 0


def _scores(run: str) -> dict:
    corpus = load_run(run).corpus
    return {"CIDEr": 100 * corpus["CIDEr"], "BLEU-4": 100 * corpus["BLEU-4"]}


def summarise(args, seeds: list[int], start: dict, arms: dict[str, list[dict]]) -> dict:
    """The JSON summary: settings, the XE start, per arm the runs and the spread of each score."""
    scst, xe = [r["CIDEr"] for r in arms["scst"]], [r["CIDEr"] for r in arms["xe"]]
    diff, noise, words = verdict(scst, xe)
    return {
        "split": args.split,
        "seeds": seeds,
        "xe_steps": args.xe_steps,
        "steps": args.steps,
        "batch": args.batch,
        "image_passes": args.steps * args.batch,
        "scst_samples": args.scst_samples,
        "scst_lr": args.scst_lr,
        "cont_lr": args.cont_lr or args.scst_lr,
        "start": start,
        "arms": {
            name: {
                "runs": runs,
                "CIDEr": spread([r["CIDEr"] for r in runs]),
                "BLEU-4": spread([r["BLEU-4"] for r in runs]),
                "minutes": statistics.fmean(r["minutes"] for r in runs),
            }
            for name, runs in arms.items()
        },
        "paired_diff": [a - b for a, b in zip(scst, xe)],
        "diff": diff,
        "noise": noise,
        "verdict": words,
    }


def table(summary: dict) -> list[str]:
    """Markdown rows for the README: test CIDEr and BLEU-4 as mean ± std (min-max) over the seeds."""
    n, passes = len(summary["seeds"]), summary["image_passes"]

    def cell(s: dict) -> str:
        return f"{s['mean']:.1f} ± {s['std']:.1f} ({s['min']:.1f}–{s['max']:.1f})"

    start = summary["start"]
    scst, xe = summary["arms"]["scst"], summary["arms"]["xe"]
    return [
        f"| run ({summary['split']} split) | image-passes | seeds | BLEU-4 | CIDEr | minutes per run |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| XE start (LoRA q/v r16 from the demo model) | {summary['xe_steps'] * summary['batch']} | 1 | "
        f"{start['BLEU-4']:.1f} | {start['CIDEr']:.1f} | {start['minutes']:.1f} |",
        f"| + SCST (k = {summary['scst_samples']}, lr {summary['scst_lr']:g}) | {passes} | {n} | {cell(scst['BLEU-4'])} "
        f"| {cell(scst['CIDEr'])} | {scst['minutes']:.1f} |",
        f"| + XE continued (lr {summary['cont_lr']:g}) | {passes} | {n} | {cell(xe['BLEU-4'])} | {cell(xe['CIDEr'])} "
        f"| {xe['minutes']:.1f} |",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
