"""``rsic preprocess``: length filter, SentencePiece, synonym mapping and cleaning of a dataset.

    rsic preprocess PATH --out DIR [--len-min-words 5 --len-max-words 20 --sp-vocab-size 2000
                                    --no-sentencepiece --no-synonyms --syn-eps 0.5 --syn-min-samples 5 ...]

One option per ``PreprocessConfig`` field (the older short spellings such as ``--min-words`` still work).

Writes ``DIR/dataset_<name>_processed.json`` (Karpathy layout, the same images, natural-language
captions), ``DIR/preprocess_report.json``, ``DIR/synonym_mapping.csv`` and, when SentencePiece
ran, ``DIR/sentencepiece.model`` (:func:`rsic_core.data.caption_sets.write_caption_set`): a caption set that
``rsic train --train-captions DIR`` trains on. A folder that already holds a set is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rsic_core.cli.arguments import dataclass_from_args


def register(subparsers) -> None:
    from rsic_core.text.preprocess import PreprocessConfig

    p = subparsers.add_parser(
        "preprocess",
        help="filter, re-tokenise, map synonyms and clean the captions of a dataset",
        description="Length filter, SentencePiece, synonym clustering checked by WordNet, cleaning; "
        "writes a Karpathy JSON with natural-language captions, a report and the mapping table.",
    )
    p.add_argument("path", help="dataset folder or annotation file (format detected)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--image-dir", help="folder the image names are relative to (found from the layout)")
    p.add_argument("--no-cache", action="store_true", help="recompute even when the same run is cached")
    p.add_dataclass(PreprocessConfig)
    p.set_defaults(func=_preprocess)


def preprocess_config(args: argparse.Namespace):
    """The PreprocessConfig of the options (and of the ``--config`` file, which ``rsic`` lays under them)."""
    from rsic_core.text.preprocess import PreprocessConfig

    return dataclass_from_args(PreprocessConfig, args)


def _preprocess(args: argparse.Namespace) -> int:
    from rsic_core.data.caption_sets import check_new_folder, write_caption_set
    from rsic_core.data.datasets import load_dataset
    from rsic_core.text.preprocess import preprocess

    start = time.perf_counter()
    config = preprocess_config(args)
    dataset = load_dataset(args.path, image_dir=args.image_dir)
    captions = [c for r in dataset.records for c in r.captions]
    if not captions:
        raise ValueError(f"{args.path}: the dataset has no captions to preprocess")
    out = check_new_folder(args.out)  # before the work: a folder holding a set is never overwritten
    result = preprocess(captions, config, use_cache=not args.no_cache)
    written = write_caption_set(dataset, result, out)
    for step in result.steps:
        state = f"{step.captions_in} -> {step.captions_out} captions, {step.changed} changed, {step.seconds:.1f} s"
        print(f"{step.name:14s} {state if step.enabled else 'off'} {json.dumps(step.details) if step.details else ''}")
        for note in step.notes:
            print(f"  note: {note}")
    for note in result.notes:  # about the run as a whole, e.g. an ignored cache folder
        print(f"note: {note}")
    print(result.guard.summary())
    source = "from cache" if result.from_cache else "computed"
    print(f"{source} in {time.perf_counter() - start:.1f} s; wrote {', '.join(str(p) for p in written.files)}")
    for note in written.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.guard.ok:
        print(f"train on it: rsic train --data {args.path} --train-captions {out}")
    return 0 if result.guard.ok else 1
