"""``rsic caption``: caption images with a model.

rsic caption scene1.jpg scenes/ --model google/paligemma2-3b-pt-224 --adapter runs/lora --gen-num-beams 5 --out preds.jsonl
rsic caption archive/ tiles.parquet --engine ray [--address auto|ray://HOST:10001] [--num-workers 4] [--gpus-per-worker 1] --out DIR

``--out`` is checked (:func:`rsic_core.cli.outputs.check_output`) before the model is loaded (not a
folder, not under a file, not an existing file other than earlier predictions). Lines are written as each batch finishes to
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
import sys
import time
from pathlib import Path

from rsic_core.cli.arguments import add_model_arguments, dataclass_from_args
from rsic_core.cli.engine import add_engine_arguments, engine_config
from rsic_core.cli.outputs import StreamedLines, check_output, progress_printer, written_by_rsic
from rsic_core.data.images import collect_images

# Old import paths (rsic_core.cli.caption was the shared helper module before cli.engine and cli.outputs)
__all__ = [
    "StreamedLines",
    "add_engine_arguments",
    "check_output",
    "collect_images",
    "engine_config",
    "progress_printer",
    "written_by_rsic",
]


def register(subparsers) -> None:
    from rsic_core.models.inference import CaptionConfig

    p = subparsers.add_parser(
        "caption",
        help="caption images with a model (writes JSONL)",
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
    p.add_dataclass(CaptionConfig)
    add_engine_arguments(p)
    p.set_defaults(func=_caption)


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
