"""Training speed: seconds per LoRA step through the project's Trainer path, beside a plain loop.

    .venv/bin/python bench/bench_training.py                         # CPU: the demo model, s/step
    python bench/bench_training.py --shape paligemma2-3b-224 --batch 16 [--gradient_checkpointing] \\
        [--attn sdpa] [--optim adamw_torch_fused] [--logits_only_labels]          # GPU (random weights)

Both modes time the same model, data and LoRA (r 8 on the family's default targets) two ways in
one process: ``train()`` (peft + transformers Trainer, collator, callbacks; step times from its
step log) and a plain forward/backward/AdamW loop on batches from the same collator. The first
``--warmup`` steps are left out. Prints steps, s/step, images/s and peak memory per path.

GPU switches: gradient checkpointing (larger batches fit), SDPA attention, fused AdamW, and
``--logits_only_labels`` (vocabulary logits only over the caption positions: PaliGemma2 has a
257k-token vocabulary, so full logits of 288 positions dominate memory at large batches).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from rsic_core.models.registry import shapes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shape", default="demo", help=f"demo (the offline demo model) or a real shape: {', '.join(shapes())}"
    )
    parser.add_argument("--batch", type=int, default=16, help="images per optimizer step (no accumulation)")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--gradient_checkpointing", action="store_true")
    parser.add_argument("--attn", default="", help="sdpa or eager (default: the model's)")
    parser.add_argument("--optim", default="adamw_torch", help="adamw_torch or adamw_torch_fused")
    parser.add_argument("--logits_only_labels", action="store_true")
    parser.add_argument("--skip_plain", action="store_true", help="time only the project path")
    args = parser.parse_args()

    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.training.config import TrainConfig

    config = TrainConfig(
        model="demo",
        data=str(demo_dataset_dir()),
        output_dir=tempfile.mkdtemp(prefix="bench-train-"),
        per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=1,
        max_steps=args.steps,
        save_steps=10**6,
        predict_limit=-1,
        learning_rate=1e-4,
        activation_checkpointing=args.gradient_checkpointing,
        attn_implementation=args.attn,
        optim=args.optim,
        logits_only_labels=args.logits_only_labels,
    )
    rows = [_project_path(config, args)]
    if not args.skip_plain:
        rows.append(_plain_loop(config, args))
    print(
        f"\nshape {args.shape}, batch {args.batch}, {args.steps} steps ({args.warmup} warm-up left out), "
        f"gradient checkpointing {args.gradient_checkpointing}, attention {args.attn or 'default'}, "
        f"optimizer {args.optim}, logits only over labels {args.logits_only_labels}"
    )
    print(f"{'path':<34}{'s/step':>10}{'images/s':>11}{'peak memory (GiB)':>19}")
    for name, seconds, peak in rows:
        print(f"{name:<34}{seconds:>10.3f}{args.batch / seconds:>11.1f}{peak:>19.2f}")


def _captioner(shape: str):
    from rsic_core.models.base import choose_dtype
    from rsic_core.models.registry import build_shape, load_captioner

    if shape == "demo":
        return load_captioner("demo", device="cpu", dtype="fp32")
    import torch

    if not torch.cuda.is_available():
        raise SystemExit(f"--shape {shape} needs a GPU (a random-weight model of that size is too slow on CPU)")
    return build_shape(shape, device="cuda", dtype=choose_dtype("cuda"))


def _project_path(config, args) -> tuple[str, float, float]:
    from rsic_core.training import jobs, train

    captioner = _captioner(args.shape)
    _reset_peak()
    run_dir = train(config, captioner=captioner)
    times = [row["time"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)]
    timed = times[args.warmup :]
    seconds = (timed[-1] - timed[0]) / max(len(timed) - 1, 1)
    return "project (Trainer + peft)", seconds, _peak()


def _plain_loop(config, args) -> tuple[str, float, float]:
    import torch

    from rsic_core.data.datasets import load_dataset
    from rsic_core.training.collators import CaptionCollator, caption_pairs
    from rsic_core.training.lora import apply_lora

    captioner = _captioner(args.shape)
    if args.attn:
        captioner.model.set_attn_implementation(args.attn)
    model, _ = apply_lora(captioner.model, captioner.family, config.lora_r, config.lora_alpha, config.lora_dropout)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    pairs = caption_pairs(load_dataset(config.data).select(split="train"))
    collate = CaptionCollator(captioner.family, captioner.processor)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.learning_rate,
        fused=args.optim == "adamw_torch_fused",
    )
    device = captioner.device
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.startswith("cuda")
        else torch.autocast("cpu", enabled=False)
    )
    _reset_peak()
    stamps = []
    for step in range(args.steps):
        batch = collate(pairs[step * args.batch : (step + 1) * args.batch])
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _sync(device)
        stamps.append(time.perf_counter())
    timed = stamps[args.warmup :]
    return "plain loop (forward/backward/AdamW)", (timed[-1] - timed[0]) / max(len(timed) - 1, 1), _peak()


def _reset_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process high-water mark (KiB -> GiB)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
