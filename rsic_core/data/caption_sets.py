"""Preprocessed caption sets: what ``rsic preprocess --out`` and the app's Save these captions write, read back to train on.

    rsic preprocess DATA --out DIR                      # write_caption_set(dataset, result, DIR)
    rsic train --data DATA --train-captions DIR         # train_targets(read_caption_set(DIR), dataset, records)

A set is a folder::

    dataset_<name>_processed.json   # Karpathy layout: every image of the source dataset, with the captions kept
    preprocess_report.json          # the PreprocessConfig, every step, the guard, the source dataset and its sha256
    synonym_mapping.csv             # the synonym table (its header only when the step was off)
    sentencepiece.model             # when SentencePiece ran
    images -> the source images     # a link, so that the set also loads as a dataset

Sets saved from the app live under ``rsic_home()/captions/<name>/`` (:func:`save_caption_set`).
Nothing is written into a folder that already holds a set. A set belongs to the dataset it was
made from (its report names it, its entries are that dataset's image ids): :func:`check_made_from`
refuses another dataset's set, and :func:`train_targets` gives the training images the set's
captions as references, while validation and evaluation keep the dataset's own.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rsic_core.data import formats, textfiles
from rsic_core.paths import captions_dir

REPORT = "preprocess_report.json"
MAPPING = "synonym_mapping.csv"
SENTENCEPIECE = "sentencepiece.model"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # a saved set's folder name


@dataclass
class CaptionSet:
    """A preprocessed caption set, read from its folder."""

    folder: Path
    annotation_file: Path  # dataset_<name>_processed.json
    captions: dict[str, list[str]]  # image id -> the captions preprocessing kept (none when it dropped them all)
    entries: dict[str, int]  # image id -> index of its entry in the file's "images" list (for messages)
    report: dict  # preprocess_report.json
    sha256: str  # of the annotation file

    @property
    def name(self) -> str:
        return self.folder.name

    def describe(self) -> dict:
        """What a training run records of the set: path, name, annotation file, sha256, preprocessing config, source."""
        return {
            "path": str(self.folder),
            "name": self.name,
            "annotation_file": str(self.annotation_file),
            "sha256": self.sha256,
            "config": self.report.get("config"),
            "source": self.report.get("dataset"),
        }


@dataclass
class WrittenSet:
    """What :func:`write_caption_set` wrote."""

    folder: Path
    files: list[Path]
    notes: list[str] = field(default_factory=list)  # e.g. the images link could not be made


def file_sha256(path: str | Path) -> str | None:
    """The sha256 of a file's bytes (None for a folder or a file that cannot be read)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def check_new_folder(out: str | Path) -> Path:
    """``out`` as a folder a set can be written to: refused when it is a file or already holds a set.

    Raises:
        ValueError: naming the folder and what is there (nothing is overwritten).
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder; give a folder for the caption set")
    held = [p.name for p in (out / REPORT, *out.glob("dataset_*.json")) if p.exists()] if out.is_dir() else []
    if held:
        raise ValueError(
            f"{out} already holds a caption set ({held[0]}); give another folder or delete that one first "
            "(nothing was overwritten)"
        )
    return out


def write_caption_set(dataset, result, out: str | Path) -> WrittenSet:
    """Write the preprocessed captions of ``dataset`` as a caption set in ``out`` (a new or empty folder).

    Args:
        dataset: the :class:`~rsic_core.data.datasets.CaptionDataset` the captions were flattened from
            (every record's captions in order, as :func:`rsic_core.text.stats.captions_of` does).
        result: the :class:`~rsic_core.text.preprocess.PreprocessResult` of those captions.
        out: the folder; one that already holds a set is refused.

    Raises:
        ValueError: ``out`` is a file or already holds a set.
    """
    from rsic_core.text.synonyms import MAPPING_COLUMNS
    from rsic_core.text.words import tokens

    out = check_new_folder(out)
    out.mkdir(parents=True, exist_ok=True)
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
        "dataset_name": dataset.name,
        "dataset_sha256": file_sha256(dataset.annotation_file),
        "images": len(images),
        "images_without_captions": sum(1 for kept in per_image if not kept),
    }
    (out / REPORT).write_text(json.dumps(report, indent=1))
    mapping = result.synonyms.mapping if result.synonyms is not None else None
    if mapping is not None:
        mapping.to_csv(out / MAPPING, index=False)
    else:
        (out / MAPPING).write_text(",".join(MAPPING_COLUMNS) + "\n")
    written = WrittenSet(out, [annotation, out / REPORT, out / MAPPING])
    if result.sentencepiece is not None:
        result.sentencepiece.save(out / SENTENCEPIECE)
        written.files.append(out / SENTENCEPIECE)
    images_link = out / "images"
    if not images_link.exists() and dataset.image_dir.is_dir():
        try:  # so that load_dataset(out) finds the images
            images_link.symlink_to(dataset.image_dir.resolve(), target_is_directory=True)
        except OSError:
            written.notes.append(f"images stay in {dataset.image_dir} (pass --image-dir when loading the set)")
    return written


def default_set_name(dataset_name: str, config) -> str:
    """A name for a saved set that says its settings and is not taken yet: ``ucm-w5-20-sp2000-syn0.5-5``.

    Args:
        dataset_name: the dataset's name.
        config: the :class:`~rsic_core.text.preprocess.PreprocessConfig` of the captions.
    """
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", dataset_name).strip("._-") or "captions"]
    if config.length_filter:
        parts.append(f"w{config.len_min_words}-{config.len_max_words}")
    if config.sentencepiece:
        parts.append(f"sp{config.sp_vocab_size}")
    if config.synonyms:
        parts.append(
            f"syn{config.syn_eps:g}-{config.syn_min_samples}" + ("" if config.syn_keep_number else "-singular")
        )
    if len(parts) == 1:
        parts.append("cleaned" if config.cleaning else "copy")
    base = "-".join(parts)[:90]
    name, n = base, 1
    while (captions_dir() / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def save_caption_set(dataset, result, name: str) -> WrittenSet:
    """Write the set under ``rsic_home()/captions/<name>/`` (:func:`write_caption_set`); a taken name is refused.

    Raises:
        ValueError: ``name`` is not a plain folder name, or a set of that name exists (nothing is overwritten).
    """
    if not _NAME.match(name or ""):
        raise ValueError(
            f"{name!r} is not a caption set name: use letters, digits, '.', '_' and '-' (up to 100, starting "
            "with a letter or digit)"
        )
    folder = captions_dir() / name
    if folder.exists():
        raise ValueError(
            f"a caption set named {name} already exists ({folder}); choose another name (nothing was overwritten)"
        )
    return write_caption_set(dataset, result, folder)


def read_caption_set(path: str | Path, expect_sha256: str | None = None) -> CaptionSet:
    """The caption set in the folder ``path`` (or its annotation file).

    Args:
        path: the set's folder or its annotation file.
        expect_sha256 (None): the annotation file's sha256 when a run started (a resumed run): another is refused.

    Raises:
        FileNotFoundError: no such folder, no preprocess_report.json or no dataset_*.json there.
        ValueError: several annotation files, a file that is not valid JSON or not the Karpathy layout, or
            an annotation file that changed since ``expect_sha256``.
    """
    given = Path(path).expanduser()
    folder = given.parent if given.is_file() else given
    advice = (
        f"write one with `rsic preprocess DATA --out {folder}` or Save these captions on the Caption statistics page"
    )
    if not folder.is_dir():
        raise FileNotFoundError(f"{given}: no such caption set folder; {advice}")
    if not (folder / REPORT).is_file():
        raise FileNotFoundError(f"{folder}: not a preprocessed caption set (no {REPORT}); {advice}")
    files = [given] if given.is_file() else sorted(folder.glob("dataset_*.json"))
    if not files:
        raise FileNotFoundError(f"{folder}: no dataset_*.json annotation file in this caption set; {advice}")
    if len(files) > 1:
        raise ValueError(f"{folder}: several annotation files ({', '.join(f.name for f in files)}); keep one per set")
    report = textfiles.read_json(folder / REPORT)
    if not isinstance(report, dict):
        raise ValueError(f"{folder / REPORT}: not a JSON object, so not a preprocessing report")
    file = files[0]
    data = textfiles.read_json(file)
    parsed = formats.read_karpathy(file, folder, (data, []))
    entries = {e["filename"]: i for i, e in enumerate(data["images"]) if isinstance(e, dict) and e.get("filename")}
    captions = {r.image_id: list(r.captions) for r in parsed.records}
    sha256 = file_sha256(file) or ""
    if expect_sha256 and sha256 != expect_sha256:
        raise ValueError(
            f"{file}: the caption set changed since this run started (sha256 {expect_sha256[:12]} then, "
            f"{sha256[:12]} now); train afresh with another --output-dir"
        )
    return CaptionSet(folder, file, captions, entries, report, sha256)


def check_made_from(caption_set: CaptionSet, dataset) -> None:
    """Refuse a set made from another dataset than ``dataset`` (its report names another, or it has foreign images).

    A set whose report holds the sha256 of ``dataset``'s annotation file is taken at once.

    Raises:
        ValueError: one sentence naming the set's file and entry, and what to do.
    """
    report = caption_set.report
    if report.get("dataset_sha256") and report["dataset_sha256"] == file_sha256(dataset.annotation_file):
        return
    redo = f"preprocess this dataset with `rsic preprocess {dataset.annotation_file} --out DIR` and train on that set"
    source = report.get("dataset_name")
    if source and source != dataset.name:
        raise ValueError(
            f"{caption_set.folder / REPORT}: entry 'dataset_name' says the set was made from {source} "
            f"({report.get('dataset')}), not from {dataset.name} ({dataset.annotation_file}); {redo}"
        )
    ids = {r.image_id for r in dataset.records}
    foreign = [image_id for image_id in caption_set.captions if image_id not in ids]
    if foreign:
        first = f"images[{caption_set.entries.get(foreign[0], '?')}] ({foreign[0]})"
        which = (
            f"{first} and {len(foreign) - 1} other entries are not images"
            if len(foreign) > 1
            else f"{first} is not an image"
        )
        raise ValueError(
            f"{caption_set.annotation_file}: {which} of {dataset.name} ({dataset.annotation_file}), so the set was "
            f"made from another dataset; {redo}"
        )


def train_targets(caption_set: CaptionSet, dataset, records: list, split: str = "train") -> tuple[list, str | None]:
    """The training ``records`` with the set's captions as their references, and a note on those left out.

    Images of ``records`` with no caption in the set (no entry, or every caption dropped by the
    length filter) are left out and counted in the note.

    Raises:
        ValueError: the set was made from another dataset (:func:`check_made_from`), or none of ``records``
            has a caption in it (one sentence naming the file and the first image).
    """
    check_made_from(caption_set, dataset)
    targets = [
        replace(r, captions=list(caption_set.captions[r.image_id]))
        for r in records
        if caption_set.captions.get(r.image_id)
    ]
    left_out = [r.image_id for r in records if not caption_set.captions.get(r.image_id)]
    if not left_out:
        return targets, None
    first = left_out[0]
    why = (
        "has no entry there"
        if first not in caption_set.captions
        else f"lost every caption to preprocessing: images[{caption_set.entries.get(first, '?')}]"
    )
    if not targets:
        raise ValueError(
            f"{caption_set.annotation_file}: none of the {len(records)} {split} images of {dataset.name} has a "
            f"caption in this set (the first, {first}, {why}); preprocess it with looser settings or train on the "
            "raw captions"
        )
    no_entry = sum(1 for image_id in left_out if image_id not in caption_set.captions)
    return targets, (
        f"{len(left_out)} of {len(records)} {split} images have no caption in caption set {caption_set.name} and are "
        f"left out of training ({no_entry} without an entry, {len(left_out) - no_entry} emptied by preprocessing; "
        f"the first is {first})"
    )


def caption_sets_for(dataset, root: str | Path | None = None) -> list[CaptionSet]:
    """The saved sets under ``root`` (default ``rsic_home()/captions``) made from ``dataset``, by name.

    Folders that are not readable sets, or sets of another dataset, are left out.
    """
    folder = Path(root).expanduser() if root else captions_dir()
    found = []
    for candidate in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        try:
            caption_set = read_caption_set(candidate)
            check_made_from(caption_set, dataset)
        except (OSError, ValueError):
            continue
        found.append(caption_set)
    return found
