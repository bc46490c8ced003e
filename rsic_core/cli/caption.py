"""``rsic caption`` and ``rsic demo-model``: caption images with a model, rebuild the demo model.

rsic caption scene1.jpg scenes/ --model google/paligemma2-3b-pt-224 --adapter runs/lora --gen-num-beams 5 --out preds.jsonl
rsic caption archive/ tiles.parquet --engine ray [--address auto|ray://HOST:10001] [--num-workers 4] [--gpus-per-worker 1] --out DIR
rsic demo-model train --out assets/demo_model

``--out`` is checked before the model is loaded (not a folder, not under a file, not an existing
file other than earlier predictions). Lines are written as each batch finishes to
``<out>.partial`` and renamed over ``<out>`` at the end, so ``<out>`` is either as it was or
complete: stopped midway (Ctrl-C, an error, the process killed), the finished lines stay in
``<out>.partial`` (named on stderr; the next run refuses to start until it is moved); a full
disk removes the partial file and leaves ``<out>`` as it was.

``--engine ray`` captions on Ray Data (:mod:`rsic_core.archive.ray_engine`) into the folder ``--out``
as parquet shards; SOURCE may also be a dataset of any format the project reads or parquet files
with image bytes. A second run with the same folder captions only the images it does not hold yet.
ray is imported only then.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from rsic_core.cli.arguments import (
    HelpFormatter,
    add_dataclass_arguments,
    add_model_arguments,
    alias_epilog,
    dataclass_from_args,
)


def register(subparsers) -> None:
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.training.demo_model import DemoModelConfig

    p = subparsers.add_parser(
        "caption",
        help="caption images with a model (writes JSONL)",
        epilog=alias_epilog(CaptionConfig),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "images",
        nargs="+",
        help="image files or folders of images (jpg, png, tif...); with --engine ray also datasets and parquet files",
    )
    add_model_arguments(
        p, "cpu, cuda... (default: CUDA when available; with --engine ray: see --gpus-per-worker)", default="auto"
    )
    p.add_argument(
        "--out", help="JSONL file to write (default: print to stdout); with --engine ray the folder of parquet shards"
    )
    add_dataclass_arguments(p, CaptionConfig)
    add_engine_arguments(p)
    p.set_defaults(func=_caption)

    demo = subparsers.add_parser("demo-model", help="the offline demo model: train rebuilds it").add_subparsers(
        dest="demo_command", required=True
    )
    p = demo.add_parser("train", help="train the demo model on the demo dataset (7-15 min on 2 cores)")
    p.add_argument("--out", default="assets/demo_model", help="folder to write (default assets/demo_model)")
    p.add_argument("--dataset", help="demo dataset folder (default: the generated one, 1200 images, seed 0)")
    add_dataclass_arguments(p, DemoModelConfig)
    p.set_defaults(func=_train_demo)


ENGINE_OPTIONS = {  # option -> EngineConfig field
    "--address": "ray_address",
    "--num-workers": "ray_num_workers",
    "--gpus-per-worker": "ray_gpus_per_worker",
    "--cpus-per-worker": "ray_cpus_per_worker",
    "--shard-size": "ray_shard_size",
}


def add_engine_arguments(p) -> None:
    """``--engine local|ray`` and the Ray options (the fields of ``EngineConfig``), for caption and evaluate."""
    import dataclasses

    from rsic_core.archive.ray_engine import EngineConfig  # imports no ray

    group = p.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process; ray: Ray Data actors, resumable parquet shards under --out (default local)",
    )
    fields = {f.name: f for f in dataclasses.fields(EngineConfig)}
    kinds = {"ray_address": str, "ray_num_workers": int, "ray_shard_size": int}
    for option, name in ENGINE_OPTIONS.items():
        f = fields[name]
        default = "" if f.default is None else f"; default {f.default:g}"
        group.add_argument(
            option,
            "--" + name.replace("_", "-"),
            dest=name,
            type=kinds.get(name, float),
            default=None,
            metavar=option[2:].split("-")[0].upper(),
            help=f"{f.metadata['help']} (--engine ray{default})",
        )


def engine_config(args: argparse.Namespace):
    """The ``EngineConfig`` of the options given; Ray options without ``--engine ray`` are refused."""
    from rsic_core.archive.ray_engine import EngineConfig, check_address

    given = {name: getattr(args, name) for name in ENGINE_OPTIONS.values() if getattr(args, name, None) is not None}
    if args.engine != "ray":
        if given:
            option = next(o for o, n in ENGINE_OPTIONS.items() if n in given)
            raise ValueError(f"{option} is an option of --engine ray; add --engine ray or leave it out")
        return None
    engine = EngineConfig(**given)
    if engine.ray_address:
        check_address(engine.ray_address)  # before any work: an address where nothing answers
    return engine


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
    from rsic_core.models.cards import auto_model, model_card
    from rsic_core.models.inference import CaptionConfig, fit_token_limits
    from rsic_core.models.registry import load_captioner

    engine = engine_config(args)
    if engine is not None:
        return _caption_on_ray(args, engine)
    out = check_output(args.out)  # before the model is loaded: a bad --out costs nothing
    images = collect_images(args.images)
    config = dataclass_from_args(CaptionConfig, args)
    started = time.perf_counter()
    model = auto_model(images) if args.model == "auto" else args.model
    captioner = load_captioner(model, adapter=args.adapter, device=args.device, dtype=args.dtype)
    print(
        f"loaded {captioner.name} ({captioner.family.title}) on {captioner.device} in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    card = model_card(captioner)
    note = card.note([] if auto_model(images) == "demo" else ["these images"])
    if note and not captioner.adapter:  # what the shipped model knows, so a caption outside it is read as such
        print(f"rsic: note: {note}", file=sys.stderr)
    config, capped = fit_token_limits(captioner, config)
    if capped:
        print(f"rsic: note: {capped}", file=sys.stderr)
    replacing = out is not None and out.exists()
    results = _stream(captioner, images, config, out)
    if results is None:
        return 130
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"rsic: error: {' '.join(r.error.split())}", file=sys.stderr)  # one line per failed image
    print(
        f"captioned {len(results) - len(failed)} of {len(results)} images"
        + (f", {len(failed)} failed" if failed else "")
        + (f", wrote {args.out}" + (" (replacing the previous predictions)" if replacing else "") if out else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


def _caption_on_ray(args: argparse.Namespace, engine) -> int:
    """``rsic caption --engine ray``: every SOURCE's images captioned on Ray into the shard folder ``--out``."""
    from rsic_core.archive.ray_engine import caption_archive
    from rsic_core.archive.sources import collect_sources
    from rsic_core.models.cards import auto_model
    from rsic_core.models.inference import CaptionConfig

    if not args.out:
        raise ValueError("--engine ray writes a folder of parquet shards: give it with --out DIR")
    config = dataclass_from_args(CaptionConfig, args)
    refs = collect_sources(args.images)
    print(f"{len(refs)} images; captioning on Ray into {args.out}", file=sys.stderr)
    model = auto_model(args.images) if args.model == "auto" else args.model
    run = caption_archive(
        refs, args.out, model, args.adapter, config, engine, args.device, args.dtype, progress_printer("images")
    )
    print(
        f"captioned {run.captioned - run.failed} of {run.captioned} images on {run.workers or 0} Ray workers"
        + (f", {run.failed} failed" if run.failed else "")
        + (f"; {run.skipped} already in {args.out} were skipped" if run.skipped else "")
        + (f"; removed {run.cleaned} unfinished shard files of a stopped run" if run.cleaned else "")
        + f"; {run.shards} shards written in {run.seconds:.1f} s (Ray start-up included)",
        file=sys.stderr,
    )
    return _report_errors(args.out, {r.key for r in refs})


def _report_errors(out: str, keys: set[str]) -> int:
    """One line per image of this job whose archive row has an error (this run's or an earlier one's); 1 if any."""
    from rsic_core.archive.shards import read_archive

    table = read_archive(out)
    failed = table[table["image"].isin(keys) & table["error"].notna()]
    for error in failed["error"]:
        print(f"rsic: error: {' '.join(str(error).split())}", file=sys.stderr)
    if len(failed):
        print(
            f"{len(failed)} of the {len(keys)} images have an error in {out} (remove their shard to try them again)",
            file=sys.stderr,
        )
    return 1 if len(failed) else 0


def _stream(captioner, images: list[Path], config, out: Path | None):
    """Caption ``images``, each batch's lines written (to ``out`` through :class:`StreamedLines`, else stdout)
    as soon as it is done; the results, or None when interrupted (what was done is kept and named)."""
    from rsic_core.models.inference import iter_captions

    sink = StreamedLines(out) if out else None
    progress, results = progress_printer("images"), []
    try:
        with sink or contextlib.nullcontext():
            for batch in iter_captions(captioner, [str(p) for p in images], config):
                lines = [json.dumps(_line(r)) for r in batch]
                if sink:
                    sink.write(lines)
                else:
                    print("\n".join(lines), flush=True)
                results += batch
                progress(len(results), len(images))
    except BaseException as e:
        kept = sink and sink.partial.exists()
        kept = f"; the lines of the {len(results)} images done are in {sink.partial}" if kept else ""
        if isinstance(e, KeyboardInterrupt):
            print(f"rsic: interrupted after {len(results)} of {len(images)} images{kept}", file=sys.stderr)
            return None
        if kept:
            print(f"rsic: stopped{kept}", file=sys.stderr)
        raise
    return results


def _line(result) -> dict:
    line = {"image": result.name, "caption": result.caption, "seconds": round(result.seconds, 4), "error": result.error}
    if result.note:
        line["note"] = result.note
    return line


def check_output(out: str | None) -> Path | None:
    """The ``--out`` path, refused (one sentence) before any work when the predictions could not be written there.

    Refused: a folder, a path under a file, a folder this user cannot write, something that is not a
    regular file, an existing file that is not a predictions file of ``rsic caption`` (it would be
    replaced), and a ``<out>.partial`` left by a run still going or stopped.
    """
    if not out:
        return None
    path = Path(out).expanduser()
    if path.is_dir():
        raise ValueError(f"--out {out} is a folder; name a file in it, e.g. {path / 'captions.jsonl'}")
    folder = next(p for p in path.parents if p.exists())
    if not folder.is_dir():
        raise ValueError(f"--out {out} cannot be written: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out} cannot be written: no permission to write in {folder}")
    if path.exists() and not path.is_file():
        raise ValueError(f"--out {out} is not a regular file")
    if path.exists() and not is_predictions_file(path):
        raise ValueError(
            f"--out {out} exists and is not a predictions file of rsic caption; name another file or move it first"
        )
    partial = StreamedLines.partial_of(path)
    if partial.exists():
        raise ValueError(
            f"{partial} exists: another rsic caption is writing {out}, or one was stopped and its finished "
            "lines are there; move or remove it first"
        )
    return path


def is_predictions_file(path: Path) -> bool:
    """Whether ``path`` is empty or starts with a JSON line of ``rsic caption`` (``image`` and ``caption`` keys)."""
    return written_by_rsic(path, {"image", "caption"})


def written_by_rsic(path: Path, keys: set[str], limit: int = 1 << 16) -> bool:
    """Whether ``path`` is empty or its first line (at most ``limit`` bytes) is a JSON object with ``keys``: a file
    of ours that a command may replace (the rule of every command writing where the user says; never a user's file)."""
    with open(path, "rb") as f:
        first = f.readline(limit).strip()
    if not first:
        return path.stat().st_size == 0
    try:
        line = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(line, dict) and keys <= line.keys()


class StreamedLines:
    """Lines written to ``<out>.partial`` as they come, renamed over ``out`` when all are written.

    ``out`` is only ever replaced whole (``os.replace`` of a flushed, fsynced file in the same
    folder), so it holds either its old content or the complete new one. If writing fails (a full
    disk), the partial file is removed and ``out`` is left as it was. If the work stops otherwise
    (Ctrl-C, an error, the process killed), ``<out>.partial`` keeps every line written so far (each
    batch is flushed), unless there is none.

    Args:
        out: the file to write.
        opener (open): opens the partial file (tests pass one whose ``write`` fails).
    """

    def __init__(self, out: Path, opener=open):
        self.out, self.partial, self.opener = Path(out), self.partial_of(out), opener
        self.file, self.count = None, 0

    @staticmethod
    def partial_of(out: Path) -> Path:
        return Path(out).with_name(Path(out).name + ".partial")

    def __enter__(self) -> StreamedLines:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.opener(self.partial, "x", encoding="utf-8")  # "x": never two writers on one partial
        return self

    def write(self, lines: list[str]) -> None:
        """Append ``lines`` and flush them to the partial file."""
        try:
            for line in lines:
                self.file.write(line + "\n")
            self.file.flush()
        except OSError as e:
            self._fail(e)
        self.count += len(lines)

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            if not self.count:
                self.partial.unlink(missing_ok=True)
            return False
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.partial, self.out)
        except OSError as e:
            self._fail(e)
        return False

    def _fail(self, error: OSError) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self.partial.unlink(missing_ok=True)
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise OSError(f"could not write {self.out} ({reason}); nothing was written and {self.out} is as it was")


def _train_demo(args: argparse.Namespace) -> int:
    from rsic_core.training.demo_model import DemoModelConfig, train_demo_model

    report = train_demo_model(args.out, args.dataset, dataclass_from_args(DemoModelConfig, args))
    print(f"wrote {args.out}: test scores {json.dumps(report['test'])}")
    return 0
