"""Batch captioning on Ray Data: the only module of the project that imports ray (inside its functions).

:func:`caption_archive` takes image references and a :class:`CaptionConfig`, skips the images an
archive folder already holds (see :mod:`rsic_core.archive.shards`), and captions the rest: a Ray
Dataset of references, ``map_batches`` with :class:`CaptionActor` (one actor per worker, the model
loaded once per actor, on its GPU when ``ray_gpus_per_worker`` > 0), the results written by the
driver as parquet shards as they come. Per-image errors are rows with ``error`` set; a batch whose
generation fails gets the error on each of its images; the job goes on.

Example::

    refs = collect_sources(["archive/tiles/"])
    run = caption_archive(refs, "out/", model="demo", engine=EngineConfig(ray_num_workers=2))
    run.captioned, run.failed, read_archive("out/")

Without ``ray_address`` a local Ray is started with the machine's cores (and shut down at the end);
``"auto"`` joins the cluster of ``ray start --head`` on this machine, ``ray://host:10001`` a remote
one. A Ray already started in this process (``ray.init`` by the caller) is used as it is.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.archive.shards import COLUMNS, ArchiveFolder, archive_settings
from rsic_core.archive.sources import ImageRef, decode_source
from rsic_core.models.inference import CaptionConfig

CONNECT_SECONDS = 10.0  # how long --address may take to answer


@dataclass
class EngineConfig:
    """Where and how wide an archive job runs on Ray."""

    ray_address: str | None = field(
        default=None, metadata={"help": "Ray cluster: auto, ray://host:10001 (default: a local Ray on this machine)"}
    )
    ray_num_workers: int | None = field(
        default=None, metadata={"help": "captioner actors (default: one per GPU with GPUs, else one per CPU)"}
    )
    ray_gpus_per_worker: float = field(default=0.0, metadata={"help": "GPUs per actor (0: CPU only)"})
    ray_cpus_per_worker: float = field(default=1.0, metadata={"help": "CPUs per actor (also its torch threads)"})
    ray_shard_size: int = field(default=256, metadata={"help": "images per parquet shard (the unit of resuming)"})

    def __post_init__(self):
        if self.ray_num_workers is not None and self.ray_num_workers < 1:
            raise ValueError(f"ray_num_workers must be at least 1 (got {self.ray_num_workers})")
        for name, least in (("ray_gpus_per_worker", "0 or more"), ("ray_cpus_per_worker", "more than 0")):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (value == 0 and name == "ray_cpus_per_worker"):
                raise ValueError(
                    f"{name} (--{name[4:].replace('_', '-')}) must be a finite number {least} (got {value})"
                )
        if self.ray_shard_size < 1:
            raise ValueError(f"ray_shard_size must be at least 1 (got {self.ray_shard_size})")


@dataclass
class ArchiveRun:
    """What one :func:`caption_archive` call did."""

    folder: Path
    total: int  # images asked for
    skipped: int  # already in a complete shard of the folder
    captioned: int = 0  # rows written by this run (failed ones included)
    failed: int = 0  # rows of this run with an error
    shards: int = 0  # shards written by this run
    workers: int = 0  # captioner actors asked for
    seconds: float = 0.0  # the whole call
    cleaned: int = 0  # unfinished shard files of a killed run removed


class CaptionActor:
    """A Ray Data actor: the captioner loaded once, then one ``__call__`` per batch of references."""

    def __init__(self, model: str, adapter: str | None, config: dict, device: str | None, dtype, threads: int):
        import torch

        from rsic_core.models.registry import load_captioner

        torch.set_num_threads(max(1, threads))
        self.captioner = load_captioner(model, adapter=adapter, device=device, dtype=dtype)
        self.config = CaptionConfig(**config)
        settings = archive_settings(model, adapter, self.config)
        self.constant = {
            "model": settings["model"],
            "adapter": settings["adapter"],
            "generation": json.dumps(settings["generation"], sort_keys=True),
            "worker": f"{socket.gethostname()}:{os.getpid()}:{self.captioner.device}",
        }

    def __call__(self, batch: dict) -> dict:
        """Caption one batch (``image`` keys, optional ``data`` bytes); one output row per input row."""
        from rsic_core.models.inference import CaptionResult, iter_captions

        keys = [str(k) for k in batch["image"]]
        data = batch.get("data")
        results: dict[int, CaptionResult] = {}
        readable: list[tuple[int, object]] = []
        for i, key in enumerate(keys):
            try:
                readable.append((i, decode_source(None if data is None else data[i], key)))
            except ValueError as e:
                results[i] = CaptionResult(key, "", 0.0, str(e))
        try:
            sources, names = [s for _, s in readable], [keys[i] for i, _ in readable]
            done = [r for part in iter_captions(self.captioner, sources, self.config, names) for r in part]
            results.update({i: r for (i, _), r in zip(readable, done)})
        except Exception as e:  # generation failed (out of memory...): every image of the batch says so
            why = f"captioning failed ({type(e).__name__}: {e})"
            results = {i: CaptionResult(k, "", 0.0, f"{k}: {why}") for i, k in enumerate(keys)}
        ordered = [results[i] for i in range(len(keys))]
        rows = {
            "image": keys,
            "caption": [r.caption for r in ordered],
            "error": [r.error for r in ordered],
            "note": [r.note for r in ordered],
            "seconds": [float(r.seconds) for r in ordered],
        }
        return rows | {name: [value] * len(keys) for name, value in self.constant.items()}


def caption_archive(
    refs: Sequence[ImageRef],
    out: str | Path,
    model: str | None = None,
    adapter: str | None = None,
    config: CaptionConfig | None = None,
    engine: EngineConfig | None = None,
    device: str | None = None,
    dtype=None,
    progress: Callable[[int, int], None] | None = None,
) -> ArchiveRun:
    """Caption ``refs`` on Ray into the archive folder ``out``, skipping the images it already holds.

    Args:
        refs: the images (see :func:`rsic_core.archive.sources.collect_sources`); keys must be unique.
        out: the archive folder (created; an earlier run's folder is continued).
        model (None: the demo model): a model folder or Hugging Face id, opened by each actor.
        adapter (None): a LoRA adapter folder merged by each actor.
        config (defaults): generation settings; the same as an earlier run's in ``out``, or refused.
        engine (defaults): where and how wide to run (see :class:`EngineConfig`).
        device (None): the actors' device; default ``cuda`` with ``ray_gpus_per_worker`` > 0, else ``cpu``.
        dtype (None): as :func:`rsic_core.models.registry.load_captioner` takes it.
        progress (None): ``callable(done, total)`` after each shard, counting the skipped images as done.

    Returns:
        What was done (see :class:`ArchiveRun`).

    Raises:
        ValueError: ``out`` holds captions made with other settings, or is not an archive folder; the
            model or adapter is refused; the cluster cannot be reached; the Ray job failed (its
            written shards are kept and a rerun continues from them).
        FileNotFoundError: the model or adapter folder is not there.
    """
    began = time.perf_counter()
    config, engine = config or CaptionConfig(), engine or EngineConfig()
    _check_model(model, adapter)
    keys = [r.key for r in refs]
    if len(set(keys)) != len(keys):
        raise ValueError("image references must have unique keys (an image given twice?)")
    if engine.ray_address:
        check_address(engine.ray_address)  # before any folder is made: a cluster that does not answer
    with ArchiveFolder.open(out, archive_settings(model, adapter, config)) as archive:
        todo = [r for r in refs if r.key not in archive.done]
        run = ArchiveRun(archive.folder, len(refs), len(refs) - len(todo), cleaned=archive.cleaned)
        if todo:
            device = device or ("cuda" if engine.ray_gpus_per_worker > 0 else "cpu")
            actor = {"model": model or "demo", "adapter": adapter, "config": config.__dict__.copy()}
            _run(todo, archive, run, actor | {"device": device, "dtype": dtype}, config, engine, progress)
    run.seconds = time.perf_counter() - began
    return run


def _check_model(model: str | None, adapter: str | None) -> None:
    """The model and adapter refused here, in one sentence, before any Ray work."""
    from rsic_core.models import loading
    from rsic_core.models.registry import resolve_model_source
    from rsic_core.paths import shipped_model

    source = resolve_model_source(shipped_model(model))
    if Path(source).is_dir():
        loading.check_model_folder(source)
    if adapter:
        loading.check_adapter_folder(adapter)


def _run(todo, archive: ArchiveFolder, run: ArchiveRun, actor: dict, config, engine: EngineConfig, progress) -> None:
    import pyarrow as pa
    import ray

    started, watcher = _start_ray(engine, run)
    try:
        run.workers = engine.ray_num_workers or _default_workers(engine)
        check_resources(engine, run.workers)
        columns = {"image": pa.array([r.key for r in todo], pa.string())}
        if any(r.data is not None for r in todo):
            columns["data"] = pa.array([r.data for r in todo], pa.binary())
        _quiet(ray)
        dataset = ray.data.from_arrow(
            pa.table(columns), override_num_blocks=_blocks(len(todo), run.workers, config, engine)
        )
        captions = dataset.map_batches(
            CaptionActor,
            fn_constructor_kwargs=actor | {"threads": int(engine.ray_cpus_per_worker)},
            batch_size=config.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=run.workers),
            num_cpus=engine.ray_cpus_per_worker,
            num_gpus=engine.ray_gpus_per_worker or None,
        )
        for batch in captions.iter_batches(batch_size=engine.ray_shard_size, batch_format="pyarrow"):
            archive.write_shard(batch.select(list(COLUMNS)))
            run.shards += 1
            run.captioned += batch.num_rows
            run.failed += batch.num_rows - batch.column("error").null_count
            if progress is not None:
                progress(run.skipped + run.captioned, run.total)
    except ray.exceptions.RayError as e:
        raise ValueError(
            f"the Ray job stopped ({_last_line(e)}); the {run.shards} shards written are kept in "
            f"{archive.folder} and a rerun with the same --out continues from them"
        ) from None
    finally:
        if started:
            ray.shutdown()
        if watcher is not None:
            watcher.done()


def _start_ray(engine: EngineConfig, run: ArchiveRun):
    """Start or join Ray unless this process already did.

    Returns:
        (whether Ray was started or joined here, to shut it down; for a local Ray started here the
        :class:`~rsic_core.archive.reaper.Reaper` that ends its processes should this process die, else None)
    """
    import ray

    from rsic_core.archive import reaper

    if ray.is_initialized():
        return False, None
    watcher = None if engine.ray_address else reaper.watch()
    try:
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if engine.ray_address:
            ray.init(address=engine.ray_address, **quiet)
        else:  # a cluster of this process alone: Ray's advice on its token authentication is not the user's to act on
            logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        if watcher is not None:
            watcher.done()
        where = engine.ray_address or "this machine"
        raise ValueError(
            f"could not start or reach Ray at {where} ({_last_line(e)}); start a cluster with `ray start --head` "
            "and give --address auto (or ray://HOST:10001), or leave --address out for a local Ray"
        ) from None
    return True, watcher


def check_address(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """Refuse a Ray address where nothing answers within ``seconds`` (``ray.init`` would retry for minutes).

    ``auto`` is probed at the address Ray would take (``RAY_ADDRESS``, else the last ``ray start`` on this
    machine, whose record stays when that cluster was killed); with none, Ray says so at once itself.

    Raises:
        ValueError: the address is malformed, or nothing listens there (one sentence).
    """
    if address == "local":
        return
    shown = address
    if address == "auto":
        found = _auto_address()
        if found is None:
            return
        address, shown = found, f"auto (the cluster at {found})"
    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address {shown}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            pass
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or type(e).__name__)
        raise ValueError(
            f"--address {shown}: nothing answers there within {seconds:g} s ({why}); start the cluster with "
            "`ray start --head` and check the host and port, or leave --address out for a local Ray"
        ) from None


def _auto_address() -> str | None:
    """The HOST:PORT that ``ray.init(address="auto")`` would join, or None when Ray finds none (or cannot tell)."""
    try:  # Ray's own lookup (a private function: any failure leaves the question to ray.init)
        from ray._private.services import canonicalize_bootstrap_address

        return canonicalize_bootstrap_address("auto")
    except Exception:
        return None


def check_resources(engine: EngineConfig, workers: int) -> None:
    """Refuse a pool the cluster can never place (Ray would wait for it forever), from ``ray.cluster_resources()``.

    Raises:
        ValueError: no node has the CPUs or GPUs one worker asks for, or the cluster has room for fewer workers.
    """
    import ray

    total = ray.cluster_resources()
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")] or [total]
    for kind, per in (("CPU", engine.ray_cpus_per_worker), ("GPU", engine.ray_gpus_per_worker)):
        if per <= 0:
            continue
        option = f"--{kind.lower()}s-per-worker {per:g}"
        largest = max(n.get(kind, 0) for n in nodes)
        if per > largest:
            has = (
                f"{total.get(kind, 0):g} {kind}s in all and {largest:g} on its largest node"
                if largest
                else f"no {kind}"
            )
            raise ValueError(f"{option}: the Ray cluster has {has}, so no worker could ever be placed; ask for fewer")
        room = sum(int(n.get(kind, 0) // per) for n in nodes)
        if workers > room:
            raise ValueError(
                f"--num-workers {workers} with {option}: the Ray cluster ({total.get(kind, 0):g} {kind}s) has room "
                f"for {room}; give --num-workers {room} or fewer"
            )


def _blocks(images: int, workers: int, config: CaptionConfig, engine: EngineConfig) -> int:
    """How many blocks to cut the references into: about four per worker, of whole batches, at most a shard each."""
    size = math.ceil(images / (4 * workers))
    if size > config.batch_size:
        size = config.batch_size * math.ceil(size / config.batch_size)
    return max(1, math.ceil(images / min(size, engine.ray_shard_size)))


def _quiet(ray) -> None:
    """Our own progress lines instead of Ray Data's progress bars and execution logs."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _default_workers(engine: EngineConfig) -> int:
    """One actor per GPU (with ``ray_gpus_per_worker``), else one per ``ray_cpus_per_worker`` CPUs of the cluster."""
    import ray

    resources = ray.cluster_resources()
    if engine.ray_gpus_per_worker > 0:
        gpus = int(resources.get("GPU", 0) // engine.ray_gpus_per_worker)
        if gpus < 1:
            raise ValueError(
                f"--gpus-per-worker {engine.ray_gpus_per_worker}: the Ray cluster has {resources.get('GPU', 0)} GPUs"
            )
        return gpus
    return max(1, int(resources.get("CPU", 1) // engine.ray_cpus_per_worker))


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
