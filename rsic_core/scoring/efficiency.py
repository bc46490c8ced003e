"""What a model costs: parameters, GFLOPs per image, latency, peak memory, size on disk.

Works on any ``torch.nn.Module`` and a call that processes one batch of images (a forward pass or
a whole ``generate``), so that a page, the evaluation and a test on a two-layer model measure the
same way::

    report = measure(model, lambda: model.generate(**batch), n_images=len(images))
    report.to_dict()  # what efficiency.json holds

- FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` (matrix multiplications and
  convolutions, 2 FLOPs per multiply-add), on one run of the call, divided by ``n_images``.
- Latency is the median of ``repeats`` timed runs after ``warmup`` untimed ones, per image.
- Peak memory, measured on the first call (before the timing runs): on CUDA
  ``torch.cuda.max_memory_allocated`` during the call (weights included); on CPU the bytes of the
  weights plus the growth of the process resident set during the call, read from the kernel's
  high-water mark (:func:`peak_memory` alone gives the growth).
- Size on disk: the files of the model folder (adapter folder for an adapter) when given,
  otherwise the bytes of the parameters and buffers in memory (marked as estimated).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class EfficiencyReport:
    """The cost of running a model (``efficiency.json`` of a run)."""

    params_total: int
    params_trainable: int
    gflops_per_image: float | None = None  # counted FLOPs / 1e9 / images
    latency_s_per_image: float | None = None  # median over repeats, after warm-up
    latency_repeats: int = 0
    latency_warmup: int = 0
    peak_memory_bytes: int | None = None
    peak_memory_kind: str = ""  # "cuda max_memory_allocated" or "cpu rss growth"
    size_on_disk_bytes: int | None = None
    size_on_disk_kind: str = ""  # "files" or "parameters in memory (estimate)"
    dtype: str = ""
    device: str = ""
    n_images: int = 0  # images per measured call
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def count_parameters(model) -> tuple[int, int]:
    """(total, trainable) parameter counts, tied parameters once: peft's count for an adapter model,
    transformers' ``num_parameters`` for any other pretrained model, ``parameters()`` for a plain module."""
    if hasattr(model, "get_nb_trainable_parameters"):  # a peft model (its base model's count would miss LoRA)
        trainable, total = model.get_nb_trainable_parameters()
        return int(total), int(trainable)
    if hasattr(model, "num_parameters"):
        return model.num_parameters(), model.num_parameters(only_trainable=True)
    params = list(model.parameters())  # deduplicated by torch
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` (under ``torch.no_grad``)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def time_call(fn: Callable[[], object], device: str = "cpu", warmup: int = 1, repeats: int = 3) -> float:
    """Median seconds of one call of ``fn`` after ``warmup`` untimed calls."""
    import torch

    with torch.no_grad():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(max(1, repeats)):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(fn: Callable[[], object], device: str = "cpu") -> tuple[int | None, str]:
    """Peak memory of one call of ``fn``: (bytes or None, how it was measured)."""
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        with torch.no_grad():
            fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device)), "cuda max_memory_allocated"
    before = _rss()
    with torch.no_grad():
        if _reset_high_water_mark():
            fn()
            peak = _status_kb("VmHWM") * 1024
        else:  # no resettable high-water mark: sample the resident set while the call runs
            peak = _sampled_peak(fn)
    if before is None or peak is None:
        return None, "cpu rss growth (unavailable)"
    return max(0, peak - before), "cpu rss growth"


def size_on_disk(model=None, path: str | Path | None = None) -> tuple[int | None, str]:
    """Bytes of the model's files at ``path``, or of its tensors in memory when no path is given."""
    if path is not None and Path(path).exists():
        p = Path(path)
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
        return sum(f.stat().st_size for f in files), "files"
    if model is None:
        return None, ""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    return sum(t.numel() * t.element_size() for t in tensors.values()), "parameters in memory (estimate)"


def measure(
    model,
    fn: Callable[[], object],
    n_images: int,
    path: str | Path | None = None,
    warmup: int = 1,
    repeats: int = 3,
    count: bool = True,
) -> EfficiencyReport:
    """Everything in :class:`EfficiencyReport` for ``model`` running ``fn`` on ``n_images`` images.

    Args:
        model: the ``torch.nn.Module`` (its parameters, dtype and device are read).
        fn: runs the model on one batch of ``n_images`` images (e.g. ``lambda: model.generate(**batch)``).
        n_images: images in that batch (FLOPs and latency are divided by it).
        path (None): the model or adapter folder, for the size on disk.
        warmup (1): untimed calls before timing.
        repeats (3): timed calls (the median is reported).
        count (True): count FLOPs (one extra call, slower than a plain one).
    """
    if n_images < 1:
        raise ValueError("n_images must be at least 1")
    total, trainable = count_parameters(model)
    first = next(iter(model.parameters()), None)
    device = str(first.device) if first is not None else "cpu"
    report = EfficiencyReport(
        params_total=total,
        params_trainable=trainable,
        dtype=str(first.dtype).removeprefix("torch.") if first is not None else "",
        device=device,
        n_images=n_images,
        latency_warmup=warmup,
        latency_repeats=max(1, repeats),
    )
    # memory first: the first call's one-time allocations are part of the peak a user must have
    report.peak_memory_bytes, report.peak_memory_kind = peak_memory(fn, device)
    if report.peak_memory_bytes is not None and not device.startswith("cuda"):
        report.peak_memory_bytes += size_on_disk(model)[0]  # comparable to CUDA's count, which holds the weights
        report.peak_memory_kind = "cpu: weights + rss growth during one call"
    report.latency_s_per_image = time_call(fn, device, warmup, repeats) / n_images
    if count:
        try:
            report.gflops_per_image = count_flops(fn) / 1e9 / n_images
        except Exception as e:  # some custom kernels are not traceable by the counter
            report.notes.append(f"FLOPs not counted ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    report.size_on_disk_bytes, report.size_on_disk_kind = size_on_disk(model, path)
    return report


def _sync(device: str) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss() -> int | None:
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        return None


def _reset_high_water_mark() -> bool:
    """Reset the kernel's peak-RSS counter (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


def _sampled_peak(fn: Callable[[], object], interval: float = 0.005) -> int | None:
    peak = [_rss() or 0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss() or 0)
            done.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        fn()
    finally:
        done.set()
        thread.join()
    return peak[0] or None
