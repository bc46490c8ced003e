"""Score any prediction file against a dataset split, and keep it as a run folder of kind "imported".

::

    folder, scores, report = import_predictions("results.json", data="data/RSICD", split="test")

The file is read by :mod:`rsic_core.runs.prediction_files`; its rows are matched to the split's images
(:func:`match_rows`) by whichever id matches most rows: Karpathy ``imgid``, coco id, file name, or file
name without extension; a file without ids is matched by the reference set each row carries (exactly,
then lower-cased with punctuation removed). The report says how (``"1,093 of 1,093 predictions matched
by file name"``). A row that matches nothing, two rows of one image, or ids that match equally well in
two ways are refused with one sentence naming the row. Images of the split without a prediction are
scored as missing (an empty prediction, 0 on every metric) unless ``allow_missing``.

``--data`` may also be a coco-format annotations file (``{"images": [{id, file_name}], "annotations":
[{image_id, caption}]}``); its images are all one split. The run's ``config.json`` records ``kind``
("imported"), ``source`` (the file's absolute path), ``source_sha256``, ``dataset``, ``split``,
``format`` and ``match``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.data.caption_sets import file_sha256
from rsic_core.runs import layout as runs
from rsic_core.runs.evaluation import check_out, score_rows
from rsic_core.runs.layout import RunKind, RunLayout
from rsic_core.runs.prediction_files import MATCH_OPTIONS, MATCHERS, FileRow, PredictionFile, read_prediction_rows
from rsic_core.runs.records import PredictionRow
from rsic_core.scoring.metrics import ScoreConfig, Scores

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass
class Target:
    """One image of the split predictions are scored on."""

    image_id: str
    references: list[str]
    keys: dict[str, str]  # matcher -> this image's id in that scheme
    split: str | None = None
    label: str | None = None
    path: str | None = None


@dataclass
class ImportReport:
    """How a file was read and matched."""

    format: str
    columns: str
    match: str  # "210 of 210 predictions matched by file name"
    n_split: int  # images of the split
    missing: int  # images of the split without a prediction
    missing_scored: bool  # scored as empty predictions (else left out)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"read as {self.format} ({self.columns})", self.match]
        if self.missing:
            how = "scored as missing (empty prediction, 0 on every metric)" if self.missing_scored else "left out"
            out.append(f"{self.missing:,} of the split's {self.n_split:,} images have no prediction: {how}")
        else:
            out.append(f"every one of the split's {self.n_split:,} images has a prediction")
        return out + self.notes


def load_targets(data: str | Path, split: str | None = "test") -> tuple[str, list[Target]]:
    """(dataset name, images of ``split``) from a dataset the loader reads or a coco-format annotations file."""
    path = Path(data).expanduser()
    coco = _coco_annotations(path)
    if coco is not None:
        return path.stem, _coco_targets(path, coco)
    from rsic_core.data.datasets import load_dataset

    dataset = load_dataset(path)
    records = dataset.select(split=split)
    if not records:
        splits = ", ".join(dataset.split_counts()) or "none"
        raise ValueError(f"{dataset.name}: no images in split {split!r} (splits: {splits})")
    ids = _karpathy_ids(dataset) if dataset.format == "karpathy" else {}
    targets = []
    for r in records:
        keys = {"file name": Path(r.image_id).name, "file name without extension": Path(r.image_id).stem}
        keys.update(ids.get(r.image_id, {}))
        targets.append(Target(r.image_id, list(r.captions), keys, r.split, r.label, str(r.path)))
    return dataset.name, targets


def _coco_annotations(path: Path) -> dict | None:
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("annotations"), list) and isinstance(data.get("images"), list)
    return data if ok else None


def _coco_targets(path: Path, data: dict) -> list[Target]:
    refs: dict[str, list[str]] = {}
    for n, a in enumerate(data["annotations"]):
        if not isinstance(a, dict) or "image_id" not in a or not isinstance(a.get("caption"), str):
            raise ValueError(f"{path}: annotations[{n}]: expected an object with image_id and caption")
        refs.setdefault(str(a["image_id"]), []).append(a["caption"])
    targets = []
    for n, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image:
            raise ValueError(f"{path}: images[{n}]: expected an object with id (and file_name)")
        cid, name = str(image["id"]), str(image.get("file_name") or image["id"])
        keys = {"coco id": cid, "file name": Path(name).name, "file name without extension": Path(name).stem}
        targets.append(Target(name, refs.get(cid, []), keys, image.get("split")))
    if not targets:
        raise ValueError(f"{path}: the annotations file lists no images")
    return targets


def _karpathy_ids(dataset) -> dict[str, dict[str, str]]:
    """file name -> {"Karpathy imgid": .., "coco id": ..} from the Karpathy JSON (the loader keeps neither)."""
    try:
        entries = json.loads(Path(dataset.annotation_file).read_text(encoding="utf-8")).get("images") or []
    except (OSError, ValueError, AttributeError):
        return {}
    out = {}
    for e in entries:
        if isinstance(e, dict) and isinstance(e.get("filename"), str):
            ids = {"Karpathy imgid": e.get("imgid"), "coco id": e.get("cocoid")}
            out[e["filename"]] = {k: str(v) for k, v in ids.items() if v is not None}
    return out


def fold(text: str) -> str:
    """Lower-cased letters and digits only: how reference sets are compared the second time (so that
    "blue-green" matches both "blue green" and "bluegreen", as files strip punctuation either way)."""
    return _NOT_WORD.sub("", text.lower())


def match_rows(file: PredictionFile, targets: list[Target], how: str | None = None) -> tuple[dict, str, list[str]]:
    """{target index: file row}, the sentence saying how they matched, and notes.

    Args:
        how (the matcher that matches most rows): one of :data:`MATCHERS` to force it.

    Raises:
        ValueError: a row matches no image, two rows match one image, or two matchers tie.
    """
    if file.has_keys:
        return _match_by_key(file, targets, how)
    if file.has_references:
        return _match_by_references(file, targets)
    raise ValueError(
        f"{file.path}: the rows have neither an image id nor references, so nothing ties them to images; "
        "add an image_id column"
    )


def _match_by_key(file: PredictionFile, targets: list[Target], how: str | None) -> tuple[dict, str, list[str]]:
    rows = file.rows
    indexes = {m: {t.keys[m]: i for i, t in enumerate(targets) if m in t.keys} for m in MATCHERS}
    how = MATCH_OPTIONS.get(how, how)
    if how is not None and how not in MATCHERS:
        raise ValueError(f"unknown id match {how!r}; choose one of {', '.join(MATCH_OPTIONS)}")

    def lookup(matcher: str, key: str):
        index = indexes[matcher]
        if matcher.startswith("file name"):
            key = Path(key).name if matcher == "file name" else Path(key).stem
        return index.get(key)

    counts = {m: sum(lookup(m, r.key) is not None for r in rows) for m in (how,) if m} or {
        m: sum(lookup(m, r.key) is not None for r in rows) for m in MATCHERS if indexes[m]
    }
    best = max(counts.values(), default=0)
    if best == 0:
        raise ValueError(
            f"{file.path}: {rows[0].where}: image id {rows[0].key!r} matches no image of the split "
            f"(nor does any other row's id, by {', '.join(counts) or 'any id'}); is this the right --data and --split?"
        )
    tied = [m for m, c in counts.items() if c == best]
    if len(tied) > 1 and len({tuple(lookup(m, r.key) for r in rows) for m in tied}) > 1:
        raise ValueError(
            f"{file.path}: the ids match {best:,} images as {tied[0]} and as {tied[1]}, differently; "
            f"say which with --match ({', '.join(f'{k}: {v}' for k, v in MATCH_OPTIONS.items())})"
        )
    matcher = tied[0]
    matched: dict[int, FileRow] = {}
    for row in rows:
        i = lookup(matcher, row.key)
        if i is None:
            raise ValueError(
                f"{file.path}: {row.where}: image id {row.key!r} is no image of the split "
                f"({best:,} of {len(rows):,} rows matched by {matcher})"
            )
        if i in matched:
            raise ValueError(
                f"{file.path}: {row.where}: a second prediction for image {targets[i].image_id!r} "
                f"(the first is {matched[i].where}); each image must have one"
            )
        matched[i] = row
    return matched, f"{len(rows):,} of {len(rows):,} predictions matched by {matcher}", []


def _match_by_references(file: PredictionFile, targets: list[Target]) -> tuple[dict, str, list[str]]:
    exact: dict[tuple, list[int]] = {}
    folded: dict[tuple, list[int]] = {}
    for i, t in enumerate(targets):
        exact.setdefault(tuple(sorted(t.references)), []).append(i)
        folded.setdefault(tuple(sorted(fold(r) for r in t.references)), []).append(i)
    matched: dict[int, FileRow] = {}
    by_fold = 0
    for row in file.rows:
        candidates = exact.get(tuple(sorted(row.references)))
        if candidates is None:
            candidates = folded.get(tuple(sorted(fold(r) for r in row.references)))
            by_fold += candidates is not None
        if candidates is None:
            raise ValueError(
                f"{file.path}: {row.where}: its references are the reference set of no image of the split "
                f"(first: {row.references[0]!r})"
            )
        free = [i for i in candidates if i not in matched]
        if not free:
            raise ValueError(
                f"{file.path}: {row.where}: one prediction more than the split has images with its reference set "
                f"({len(candidates)}: {targets[candidates[0]].image_id!r}...)"
            )
        matched[free[0]] = row
    n = len(file.rows)
    how = "by their reference sets" + (f" ({by_fold:,} after lower-casing and removing punctuation)" if by_fold else "")
    shared = sum(len(v) for v in exact.values() if len(v) > 1)
    notes = []
    if shared:
        notes.append(
            f"{shared:,} images of the split share their reference set with another image: "
            "interchangeable for scoring, so rows with such a set were given to them in turn"
        )
    return matched, f"{n:,} of {n:,} predictions matched {how}", notes


def matched_rows(
    path: str | Path,
    data: str | Path | None = None,
    split: str | None = "test",
    allow_missing: bool = False,
    match: str | None = None,
) -> tuple[str | None, list[PredictionRow], ImportReport]:
    """A prediction file in any format read and matched to its images, nothing scored or written: (the name of
    the dataset matched to, None for a file scored against its own references; the rows; the report).

    See :func:`import_predictions` for the arguments; an image of ``data``'s split without a prediction is a
    row with an empty prediction and an ``error`` (left out with ``allow_missing``).
    """
    path = Path(path).expanduser()
    file = read_prediction_rows(path)
    if data is not None:
        dataset, targets = load_targets(data, split)
        matched, how, notes = match_rows(file, targets, match)
        if file.has_references and file.has_keys:
            notes.append(f"the references in the file were not used: the scores are against {dataset}'s")
    elif file.has_references:
        dataset = None
        targets = [Target(r.key or r.where, r.references, {}) for r in file.rows]
        if len({t.image_id for t in targets}) < len(targets):
            raise ValueError(f"{path}: an image id is given twice; each image must have one row")
        matched, how, notes = dict(enumerate(file.rows)), f"{len(targets):,} predictions with their own references", []
    else:
        raise ValueError(
            f"{path}: the file carries predictions but no references: give the dataset they belong to "
            "(--data PATH --split SPLIT) or a coco-format annotations file (--data captions.json)"
        )
    rows = []
    for i, t in enumerate(targets):
        if i in matched or not allow_missing:
            rows.append(PredictionRow(t.image_id, "", list(t.references), t.split, t.label, t.path))
            if i in matched:
                rows[-1].prediction = matched[i].prediction
            else:
                rows[-1].error = "no prediction in the imported file"
    report = ImportReport(file.format, file.columns, how, len(targets), len(targets) - len(matched), not allow_missing)
    report.notes += notes
    return dataset, rows, report


def import_predictions(
    path: str | Path,
    data: str | Path | None = None,
    split: str = "test",
    config: ScoreConfig | None = None,
    allow_missing: bool = False,
    out: str | Path | None = None,
    overwrite: bool = False,
    match: str | None = None,
    protocols_k: int | None = None,
    root: str | Path | None = None,
) -> tuple[Path, Scores, ImportReport]:
    """Score a prediction file in any format :mod:`rsic_core.runs.prediction_files` reads; keep it as a run.

    Args:
        path: the prediction file.
        data (None: the file's own references): a dataset folder or annotation file, or a coco-format
            annotations file, whose ``split`` images the predictions are matched to.
        split ("test"): the split of ``data``.
        config (all metrics but SPICE): see :class:`rsic_core.scoring.metrics.ScoreConfig`.
        allow_missing (False): leave out images of the split without a prediction instead of scoring them 0.
        out (a new folder under the runs folder): the run folder to write.
        overwrite (False): ``out`` may hold another run, which is then replaced.
        match (the best): force one of :data:`MATCHERS` (or its ``--match`` spelling: imgid, cocoid, filename, stem).
        protocols_k (None): also score the other common protocols (:mod:`rsic_core.scoring.protocols`),
            the "first k references" one with this k.
        root (:func:`rsic_core.paths.runs_dir`): the runs folder a new run folder goes under.

    Returns:
        (the run folder, the scores, the report of how the file was read and matched).

    Raises:
        FileNotFoundError: no such file or dataset.
        ValueError: one sentence naming the row that cannot be read or matched; nothing is written.
    """

    dataset, rows, report = matched_rows(path, data, split, allow_missing, match)
    path, split = Path(path).expanduser(), split if data is not None else None
    replaced = check_out(path, out, overwrite)
    scores = score_rows(rows, config)
    if protocols_k:
        from rsic_core.scoring.protocols import compare_protocols

        scores.protocols = compare_protocols(
            {r.image_id: r.prediction for r in rows}, {r.image_id: r.references for r in rows}, protocols_k
        )
    scores.notes = report.lines() + scores.notes
    folder = Path(out).expanduser() if out else runs.new_run_dir(f"imported-{path.stem}", root)
    runs.make_folder(folder, "--out")
    layout = RunLayout(folder)
    if replaced:
        layout.efficiency.unlink(missing_ok=True)
    runs.write_scores(folder, rows, scores)
    layout.write_config(
        {
            "name": folder.name,
            "kind": RunKind.IMPORTED,
            "source": str(path.resolve()),
            "source_sha256": file_sha256(path),
            "dataset": dataset,
            "data": str(Path(data).expanduser().resolve()) if data is not None else str(path.resolve()),
            "split": split,
            "n_images": len(rows),
            "format": report.format,
            "match": report.match,
            "allow_missing": allow_missing,
        }
    )
    return folder, scores, report
