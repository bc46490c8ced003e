"""``rsic preprocess``: length filter, SentencePiece, synonym mapping and cleaning of a dataset.

    rsic preprocess PATH --out DIR [--len-min-words 5 --len-max-words 20 --sp-vocab-size 2000
                                    --no-sentencepiece --no-synonyms --syn-eps 0.5 --syn-min-samples 5 ...]

One option per ``PreprocessConfig`` field (the older short spellings such as ``--min-words`` still work).

Writes ``DIR/dataset_<name>_processed.json`` (Karpathy layout, the same images, natural-language
captions), ``DIR/preprocess_report.json``, ``DIR/synonym_mapping.csv`` and, when SentencePiece
ran, ``DIR/sentencepiece.model``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rsic_core.cli.arguments import HelpFormatter, add_dataclass_arguments, alias_epilog


def register(subparsers) -> None:
    from rsic_core.text.preprocess import PreprocessConfig

    p = subparsers.add_parser(
        "preprocess",
        help="filter, re-tokenise, map synonyms and clean the captions of a dataset",
        description="Length filter, SentencePiece, synonym clustering checked by WordNet, cleaning; "
        "writes a Karpathy JSON with natural-language captions, a report and the mapping table.",
        epilog=alias_epilog(PreprocessConfig),
        formatter_class=HelpFormatter,
    )
    p.add_argument("path", help="dataset folder or annotation file (format detected)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--image-dir", help="folder the image names are relative to (found from the layout)")
    p.add_argument("--config", help="JSON file of PreprocessConfig fields; options given here override it")
    p.add_argument("--no-cache", action="store_true", help="recompute even when the same run is cached")
    add_dataclass_arguments(p, PreprocessConfig, unset=True)  # the --config file fills what is not given
    p.set_defaults(func=_preprocess)


def preprocess_config(args: argparse.Namespace):
    """The PreprocessConfig of the options, laid over the --config file."""
    from rsic_core.text.preprocess import PreprocessConfig, config_fields

    values = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            values = json.load(f)
        known = {f.name for f in config_fields()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{args.config}: unknown config keys {', '.join(unknown)}")
    values |= {f.name: getattr(args, f.name) for f in config_fields() if getattr(args, f.name) is not None}
    return PreprocessConfig(**values)


def _preprocess(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rsic_core.data.datasets import load_dataset
    from rsic_core.text.preprocess import preprocess

    start = time.perf_counter()
    config = preprocess_config(args)
    dataset = load_dataset(args.path, image_dir=args.image_dir)
    captions = [c for r in dataset.records for c in r.captions]
    if not captions:
        raise ValueError(f"{args.path}: the dataset has no captions to preprocess")
    result = preprocess(captions, config, use_cache=not args.no_cache)
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    written = write_outputs(dataset, result, out)
    for step in result.steps:
        state = f"{step.captions_in} -> {step.captions_out} captions, {step.changed} changed, {step.seconds:.1f} s"
        print(f"{step.name:14s} {state if step.enabled else 'off'} {json.dumps(step.details) if step.details else ''}")
        for note in step.notes:
            print(f"  note: {note}")
    for note in result.notes:  # about the run as a whole, e.g. an ignored cache folder
        print(f"note: {note}")
    print(result.guard.summary())
    source = "from cache" if result.from_cache else "computed"
    print(f"{source} in {time.perf_counter() - start:.1f} s; wrote {', '.join(str(p) for p in written)}")
    return 0 if result.guard.ok else 1


def write_outputs(dataset, result, out) -> list:
    """Write the processed Karpathy JSON, the report, the mapping table and the SentencePiece model."""
    from rsic_core.text.synonyms import MAPPING_COLUMNS
    from rsic_core.text.words import tokens

    per_image: list[list[str]] = [[] for _ in dataset.records]
    owner = [i for i, r in enumerate(dataset.records) for _ in r.captions]
    for index, caption in zip(result.kept_index.tolist(), result.captions):
        per_image[owner[index]].append(caption)
    images, sentid = [], 0
    for imgid, (record, kept) in enumerate(zip(dataset.records, per_image)):
        sentences = [{"raw": c, "tokens": tokens(c), "imgid": imgid, "sentid": sentid + k} for k, c in enumerate(kept)]
        entry = {
            "filename": record.image_id,
            "imgid": imgid,
            "split": record.split,
            "sentids": [s["sentid"] for s in sentences],
            "sentences": sentences,
        }
        entry |= {k: v for k, v in (("label", record.label), ("source", record.source)) if v}
        images.append(entry)
        sentid += len(kept)
    name = f"{dataset.name}_processed".replace(" ", "_").replace("/", "_")
    annotation = out / f"dataset_{name}.json"
    annotation.write_text(json.dumps({"images": images, "dataset": name, "image_dir": str(dataset.image_dir)}))
    report = result.report() | {
        "dataset": str(dataset.annotation_file),
        "images": len(images),
        "images_without_captions": sum(1 for kept in per_image if not kept),
    }
    (out / "preprocess_report.json").write_text(json.dumps(report, indent=1))
    mapping = result.synonyms.mapping if result.synonyms is not None else None
    mapping_file = out / "synonym_mapping.csv"
    if mapping is not None:
        mapping.to_csv(mapping_file, index=False)
    else:
        mapping_file.write_text(",".join(MAPPING_COLUMNS) + "\n")
    written = [annotation, out / "preprocess_report.json", mapping_file]
    if result.sentencepiece is not None:
        result.sentencepiece.save(out / "sentencepiece.model")
        written.append(out / "sentencepiece.model")
    images_link = out / "images"
    if not images_link.exists() and dataset.image_dir.is_dir():
        try:  # so that load_dataset(out) finds the images
            images_link.symlink_to(dataset.image_dir.resolve(), target_is_directory=True)
        except OSError:
            print(f"note: images stay in {dataset.image_dir} (pass --image-dir when loading)", file=sys.stderr)
    return written
