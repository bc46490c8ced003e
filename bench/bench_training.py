"""Training speed: the plain Trainer beside the project's default training path, in one run.

    .venv/bin/python bench/bench_training.py                         # CPU: the demo model, s/step
    python bench/bench_training.py --shape paligemma2-3b-224 --batch 16 [--project-batch 64] \\
        [--gradient_checkpointing] [--attn sdpa] [--with-loop]                    # GPU (random weights)

Each path trains the same model, data and LoRA (r 8 on the family's default targets) in one process:
*plain Trainer* = ``train()`` with the Trainer's plain settings (``adamw_torch``, vocabulary logits at
every position); *project* = ``train()`` with the project's defaults (``optim`` auto = fused AdamW on
CUDA, ``logits_only_labels`` auto = logits only over the caption positions on CUDA where the model
takes them: PaliGemma, whose 257k-token vocabulary makes full logits dominate memory); ``--with-loop``
adds a hand-written forward/backward/AdamW loop on batches from the same collator. Step times come from
the run's step log, the first ``--warmup`` steps left out. Prints s/step, images/s and peak memory per
path (CUDA: ``max_memory_allocated``; CPU: the process's resident high-water mark), after a header with
the device, the library versions and the date.
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
    parser.add_argument("--project-batch", type=int, help="images per step of the project path (default --batch)")
    parser.add_argument("--with-loop", action="store_true", help="also time a hand-written training loop")
    args = parser.parse_args()

    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.training.config import TrainConfig

    def config(batch: int, **switches) -> TrainConfig:
        return TrainConfig(
            model="demo",
            data=str(demo_dataset_dir()),
            output_dir=tempfile.mkdtemp(prefix="bench-train-"),
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=1,
            max_steps=args.steps,
            save_steps=10**6,
            predict_limit=-1,
            learning_rate=1e-4,
            activation_checkpointing=args.gradient_checkpointing,
            attn_implementation=args.attn,
            **switches,
        )

    plain = config(args.batch, optim="adamw_torch", logits_only_labels=False)
    project = config(args.project_batch or args.batch)  # the defaults: optim and logits_only_labels auto
    rows = [_project_path("plain Trainer", plain, args), _project_path("project defaults", project, args)]
    if args.with_loop:
        rows.append(_plain_loop(plain, args))
    print(f"\n{_environment()}")
    print(
        f"shape {args.shape}, {args.steps} steps ({args.warmup} warm-up left out), gradient checkpointing "
        f"{args.gradient_checkpointing}, attention {args.attn or 'default'}"
    )
    print(f"{'path':<38}{'batch':>6}{'s/step':>9}{'images/s':>10}{'peak GiB':>10}  switches")
    for name, batch, seconds, peak, switches in rows:
        print(f"{name:<38}{batch:>6}{seconds:>9.3f}{batch / seconds:>10.1f}{peak:>10.2f}  {switches}")
    if len(rows) > 1:
        print(f"project / plain images/s: {(rows[1][1] / rows[1][2]) / (rows[0][1] / rows[0][2]):.2f}x")


def _environment() -> str:
    import datetime

    import peft
    import torch
    import transformers

    where = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    return (
        f"{datetime.datetime.now().isoformat(timespec='minutes')}  {where}  torch {torch.__version__}  "
        f"transformers {transformers.__version__}  peft {peft.__version__}"
    )


def _captioner(shape: str):
    from rsic_core.models.base import choose_dtype
    from rsic_core.models.registry import build_shape, load_captioner

    if shape == "demo":
        return load_captioner("demo", device="cpu", dtype="fp32")
    import torch

    if not torch.cuda.is_available():
        raise SystemExit(f"--shape {shape} needs a GPU (a random-weight model of that size is too slow on CPU)")
    return build_shape(shape, device="cuda", dtype=choose_dtype("cuda"))


def _project_path(name: str, config, args) -> tuple:
    from rsic_core.training import jobs
    from rsic_core.training.losses import use_label_window
    from rsic_core.training.trainer import train

    captioner = _captioner(args.shape)
    window = use_label_window(config, captioner.model)
    _reset_peak()
    run_dir = train(config, captioner=captioner)
    times = [row["time"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)]
    timed = times[args.warmup :]
    seconds = (timed[-1] - timed[0]) / max(len(timed) - 1, 1)
    optim = getattr(config.optim, "value", config.optim)
    return name, config.per_device_train_batch_size, seconds, _peak(), f"{optim}, logits only over labels {window}"


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
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
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
    seconds = (timed[-1] - timed[0]) / max(len(timed) - 1, 1)
    return "hand loop (forward/backward/AdamW)", args.batch, seconds, _peak(), "adamw, full logits"


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
