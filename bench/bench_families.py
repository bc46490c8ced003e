"""Every model family on the offline demo data, the same command lines, sizes and steps: one table (CPU).

    .venv/bin/python bench/bench_families.py [--steps 800] [--families all] [--threads 1] [--work DIR] [--out table.md]

For each family, the three commands a user types (run through ``rsic``'s own ``main()``, each printed
before it runs), in ``WORK/FAMILY/``:

1. ``rsic model new FAMILY --out model --data DEMO --image-size 64 --vision J --text J --extra J``: a
   random model of :data:`SIZES` (every family about the same: vision hidden 64, 2 layers, 2 heads,
   FFN 128 (patch 8, 64 patches; PureT's Swin: 32 then 64 wide, one block per stage, window 4); text
   hidden 64, 2 layers, 2 heads, FFN 128; BLIP-2's Q-Former and BITA's IFT hidden 64, 2 layers,
   8 queries; PureT's refining encoder 2 layers, window 4 shifted by 2), its tokenizer trained on the
   demo training captions (300 tokens asked; word-level families keep fewer).
2. ``rsic train --model model --train-mode full --max-steps S --per-device-train-batch-size 16
   --learning-rate 1e-3 ...`` (cosine, 10 % warm-up, no checkpoints, no final evaluation): every
   parameter outside the family's ``frozen_towers``. PureT keeps its (random) Swin backbone frozen and
   BITA its (random) CLIP tower and OPT, even though a tiny BITA is built with ``freeze_vision`` /
   ``freeze_language`` off: full training follows the family, and no option unfreezes them. The table
   says so in its trainable column.
3. ``rsic evaluate --model run/model --data DEMO --eval-split test --metrics bleu,cider``: greedy
   captions (30 tokens at most) of the 120 test images, pycocoevalcap BLEU-4 and CIDEr-D (x100),
   and the evaluation's efficiency report (ms per image: median of 3 timed greedy ``generate`` calls on
   a batch of 4 test images, on busy shared cores).

MACs per image are counted by :func:`rsic_core.scoring.costs.captioner_cost` on the trained model, as
``rsic efficiency`` counts a real shape (one 64 px image through the vision side and one
teacher-forced pass over the prompt and a 20-token caption, logits at the caption positions).
Trainable parameters are what the run trained (its ``lora.json``); "train s" is the wall time of
``rsic train`` (loading, steps, saving). The demo dataset (1,200 images: 960 train / 120 val / 120
test) is generated under ``RSIC_HOME`` when missing. One torch thread by default: on the shared,
busy cores two threads ran a tiny training step about 40 times slower. The default 800 steps took
11.6 min for the six families at a load average of 2 to 5.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

IMAGE_SIZE = 64
_VIT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, patch_size=8)
_DECODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2)
_GEMMA = dict(_DECODER, intermediate_size=128, num_key_value_heads=1, head_dim=32)
_OPT = dict(_DECODER, ffn_dim=128, word_embed_proj_dim=64)
_BRIDGE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
# family -> (--vision, --text, --extra) of `rsic model new`
SIZES: dict[str, tuple[dict, dict, dict]] = {
    "paligemma": (_VIT, _GEMMA, {}),
    "paligemma2": (_VIT, dict(_GEMMA, query_pre_attn_scalar=32), {}),
    "blip2-opt": (_VIT, _OPT, dict(num_query_tokens=8, qformer=_BRIDGE)),
    "blip": (_VIT, dict(_DECODER, intermediate_size=128), {}),
    "puret": (
        dict(embed_dim=32, depths=[1, 1], num_heads=[2, 4], window_size=4),
        dict(_DECODER, intermediate_size=128),
        dict(num_encoder_layers=2, window_size=4, shift_size=2, shifted_layers=[1]),
    ),
    "bita-opt": (_VIT, _OPT, dict(num_query_tokens=8, ift=_BRIDGE)),
}
COLUMNS = ("family", "BLEU-4", "CIDEr", "trainable", "total", "MACs / image", "ms / image", "train s", "note")


def rsic(argv: list[str]) -> None:
    """Run ``rsic ARGV`` through the command line's own ``main()`` (printed first, as a user would type it).

    Raises:
        RuntimeError: the command exited with a non-zero status (its one-line error went to stderr).
    """
    from rsic_core.cli import main

    print("$ rsic " + shlex.join(argv), flush=True)
    code = main(argv)
    if code:
        command = " ".join(argv[:2] if argv[0] == "model" else argv[:1])
        raise RuntimeError(f"`rsic {command}` exited with status {code} (its error is printed above)")


def commands(family: str, folder: Path, data: Path, steps: int, batch: int = 16) -> list[list[str]]:
    """The three command lines (model new, train, evaluate) of ``family``, working in ``folder``."""
    vision, text, extra = SIZES[family]
    model, run, evaluation = folder / "model", folder / "run", folder / "eval"
    new = ["model", "new", family, "--out", str(model), "--data", str(data), "--image-size", str(IMAGE_SIZE)]
    for option, sizes in (("--vision", vision), ("--text", text), ("--extra", extra)):
        new += [option, json.dumps(sizes)] if sizes else []
    train = ["train", "--model", str(model), "--data", str(data), "--train-mode", "full"]
    train += ["--max-steps", str(steps), "--per-device-train-batch-size", str(batch), "--learning-rate", "1e-3"]
    train += ["--gradient-accumulation-steps", "1", "--lr-scheduler-type", "cosine"]
    train += ["--warmup-steps", str(max(1, steps // 10)), "--save-steps", "1000000", "--predict-limit", "-1"]
    train += ["--train-device", "cpu", "--seed", "0", "--name", f"bench-{family}", "--output-dir", str(run)]
    evaluate = ["evaluate", "--model", str(run / "model"), "--data", str(data), "--eval-split", "test"]
    evaluate += ["--metrics", "bleu,cider", "--gen-num-beams", "1", "--batch-size", "40", "--device", "cpu"]
    evaluate += ["--out", str(evaluation)]
    return [new, train, evaluate]


def bench_family(family: str, work: Path, data: Path, steps: int, batch: int = 16) -> dict:
    """Build, train and evaluate ``family`` through ``rsic``; its table row (scores x100, counts, times).

    Raises:
        RuntimeError: a command failed (the row is not made).
    """
    from rsic_core.models.registry import load_captioner
    from rsic_core.runs.layout import RunLayout, load_run
    from rsic_core.scoring.costs import captioner_cost

    folder = work / family
    new, train, evaluate = commands(family, folder, data, steps, batch)
    rsic(new)
    started = time.perf_counter()
    rsic(train)
    train_seconds = time.perf_counter() - started
    rsic(evaluate)
    report = json.loads(RunLayout(folder / "run").lora_file.read_text())
    run = load_run(folder / "eval", with_predictions=False)
    cost = captioner_cost(load_captioner(str(folder / "run" / "model"), device="cpu"), IMAGE_SIZE)
    latency = run.efficiency.get("latency_s_per_image")
    return {
        "family": family,
        "BLEU-4": _x100(run.corpus.get("BLEU-4")),
        "CIDEr": _x100(run.corpus.get("CIDEr")),
        "trainable": report["trainable"],
        "total": report["total"],
        "MACs / image": cost.macs_per_image,
        "ms / image": round(1000 * latency, 1) if latency is not None else None,
        "train s": round(train_seconds),
        "note": f"frozen: {', '.join(report['frozen'])}" if report.get("frozen") else "",
    }


def _x100(value) -> float | None:
    return round(100 * value, 1) if value is not None else None


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table (counts with thousands separators, MACs in M)."""

    def cell(column: str, value) -> str:
        if value is None:
            return "n/a"
        if column == "MACs / image":
            return f"{value / 1e6:,.2f} M"
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c, row.get(c)) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def _demo_data() -> Path:
    from rsic_core.data.demo.dataset import demo_dataset_dir

    return demo_dataset_dir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800, help="training steps of every family")
    parser.add_argument("--batch", type=int, default=16, help="training images per step")
    parser.add_argument("--families", default="all", help="comma list of families (default: every one in SIZES)")
    parser.add_argument("--data", default=None, help="dataset (default: the offline demo dataset)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on shared, busy cores more threads spin and run far slower)",
    )
    parser.add_argument("--work", default=None, help="folder for the models and runs (default: a temporary one)")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    args = parser.parse_args(argv)

    import tempfile

    import torch

    torch.set_num_threads(args.threads)
    families = list(SIZES) if args.families == "all" else args.families.split(",")
    unknown = [f for f in families if f not in SIZES]
    if unknown:
        parser.error(f"no sizes for {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    data = Path(args.data) if args.data else _demo_data()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-families-"))
    rows, started = [], time.perf_counter()
    for family in families:
        try:
            rows.append(bench_family(family, work, data, args.steps, args.batch))
        except Exception as e:  # one family's failure is a row of the table, not the end of the bench
            print(f"{family}: FAILED: {e}", file=sys.stderr, flush=True)
            rows.append({"family": family, "note": f"failed: {e}"})
    table = markdown(rows)
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{table}\n\n{len(families)} families, {args.steps} steps of {args.batch} images each, {minutes:.1f} min")
    if args.out:
        Path(args.out).write_text(table + "\n")
    return 1 if any("failed" in r.get("note", "") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
