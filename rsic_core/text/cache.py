"""The preprocessing cache on disk, as data only: JSON, NumPy arrays read without pickle, a model file.

A cached run is one folder, ``rsic_home()/cache/preprocess/<key>/``:

- ``result.json``: the config, every step's report, the guard verdict, the SentencePiece vocabulary and
  the synonym mapping table;
- ``captions.json``: the caption lists (as they entered the synonym step, final, decoded from pieces);
- ``arrays.npz``: the kept index, the piece ids, the cluster labels and the word vectors, read with
  ``allow_pickle=False``;
- ``sentencepiece.model``: the trained model, the bytes ``SentencePieceProcessor(model_file=...)`` reads.

Nothing here unpickles or runs anything: a planted, truncated or outdated file fails to parse and
:class:`UnreadableCache` says why (the pipeline then computes the run again). The folder is written
under a temporary name and renamed into place, so a reader never sees half a run.

The pipeline (:mod:`rsic_core.text.preprocess`) builds its result from what :func:`read_result` returns,
so this module does not import it (no import cycle).

Example::

    write_result(folder, result, version=CACHE_VERSION)
    PreprocessResult(**read_result(folder, version=CACHE_VERSION))  # after building config and steps
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np

from rsic_core.text.guard import GuardIssue, GuardReport
from rsic_core.text.subwords import SentencePieceResult
from rsic_core.text.synonyms import MAPPING_COLUMNS, SynonymResult

_RESULT, _CAPTIONS, _ARRAYS, _MODEL = "result.json", "captions.json", "arrays.npz", "sentencepiece.model"


class UnreadableCache(ValueError):
    """A cache folder that is not a run this version wrote; the message says what is wrong."""


def write_result(folder: Path, result, version: int) -> None:
    """Write ``result`` (a ``PreprocessResult``) as the cache folder ``folder``, replacing an unreadable one.

    Args:
        folder: ``rsic_home()/cache/preprocess/<key>``.
        result: the pipeline result.
        version: the pipeline's cache version, recorded and checked by :func:`read_result`.

    Raises:
        OSError: the folder cannot be written (nothing is left behind).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        meta, captions, arrays = _to_data(result, version)
        (tmp / _RESULT).write_text(json.dumps(meta), encoding="ascii")  # ascii: lone surrogates are escaped
        (tmp / _CAPTIONS).write_text(json.dumps(captions), encoding="ascii")
        with open(tmp / _ARRAYS, "wb") as f:
            np.savez(f, **arrays)
        if result.sentencepiece is not None:
            result.sentencepiece.save(tmp / _MODEL)
        _put_in_place(tmp, folder, version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _put_in_place(tmp: Path, folder: Path, version: int) -> None:
    """Rename ``tmp`` to ``folder``; a readable run there (another process was quicker) is kept instead."""
    for attempt in range(3):
        try:
            os.rename(tmp, folder)
            return
        except OSError:
            if attempt == 2 or not (folder.exists() or folder.is_symlink()):
                raise
        try:
            read_result(folder, version)
            return  # another process wrote the same run meanwhile
        except UnreadableCache:
            _move_aside(folder)  # the unreadable folder (or file) this call ignored


def read_result(folder: Path, version: int) -> dict:
    """The cached run in ``folder``: the keyword arguments of ``PreprocessResult``.

    ``config`` is the config's field dict and ``steps`` a list of step-report dicts: the caller builds
    its dataclasses from them (and checks that the config is the one asked for).

    Raises:
        UnreadableCache: a file is missing, malformed, of another version or of another run.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / _RESULT).read_text(encoding="ascii"))
        captions = json.loads((folder / _CAPTIONS).read_text(encoding="ascii"))
        with np.load(folder / _ARRAYS, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        model = (folder / _MODEL).read_bytes() if meta.get("sentencepiece") else None
        return _from_data(meta, captions, arrays, model, version)
    except UnreadableCache as e:
        raise UnreadableCache(f"{folder.name}: {e}") from e
    except Exception as e:  # any parse error of a planted or broken file means "ignore it"
        reason = str(e).splitlines()[0] if str(e) else ""
        raise UnreadableCache(f"{folder.name}: {type(e).__name__}: {reason}") from e


def _move_aside(path: Path) -> None:
    """Rename ``path`` out of the way in one step (a reader never sees it half deleted), then delete it."""
    aside = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:12]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another process moved it first
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def _to_data(result, version: int) -> tuple[dict, dict, dict]:
    """The JSON document, the caption lists and the arrays of ``result``."""
    meta = {
        "format": version,
        "config": asdict(result.config),
        "n_input": result.n_input,
        "seconds": result.seconds,
        "steps": [asdict(s) for s in result.steps],
        "guard": asdict(result.guard),
    }
    captions = {"before_synonyms": result.before_synonyms, "captions": result.captions}
    arrays = {"kept_index": np.asarray(result.kept_index, dtype=np.int64)}
    sp = result.sentencepiece
    if sp is not None:
        meta["sentencepiece"] = {
            "vocab": sp.vocab,
            "n_changed": sp.n_changed,
            "requested_vocab_size": sp.requested_vocab_size,
        }
        captions["sp_decoded"] = sp.decoded
        arrays |= {"sp_ids": np.asarray(sp.ids, dtype=np.int32), "sp_offsets": np.asarray(sp.offsets, np.int64)}
    syn = result.synonyms
    if syn is not None:
        mapping = syn.mapping
        meta["synonyms"] = {
            "words": syn.words,
            "counts": [int(n) for n in syn.counts],
            "notes": syn.notes,
            "mapping": {c: mapping[c].tolist() for c in mapping.columns},
            "mapping_dtypes": {c: str(t) for c, t in mapping.dtypes.items()},
        }
        arrays |= {"syn_labels": np.asarray(syn.labels, dtype=np.int64), "syn_embeddings": np.asarray(syn.embeddings)}
    return meta, captions, arrays


def _from_data(meta: dict, captions: dict, arrays: dict, model: bytes | None, version: int) -> dict:
    if meta.get("format") != version:
        raise UnreadableCache(f"written by another version (format {meta.get('format')!r}, not {version})")
    kept = _array(arrays, "kept_index", "iu", 1)
    before, final = _strings(captions, "before_synonyms"), _strings(captions, "captions")
    if not len(kept) == len(before) == len(final):
        raise UnreadableCache("the caption lists and the kept index differ in length")
    guard = meta["guard"]
    return dict(
        config=dict(meta["config"]),
        n_input=int(meta["n_input"]),
        kept_index=kept,
        before_synonyms=before,
        captions=final,
        steps=[dict(s) for s in meta["steps"]],
        guard=GuardReport(
            int(guard["n_captions"]),
            [GuardIssue(**i) for i in guard["failures"]],
            [GuardIssue(**i) for i in guard["warnings"]],
        ),
        sentencepiece=_sentencepiece(meta.get("sentencepiece"), captions, arrays, model, len(kept)),
        synonyms=_synonyms(meta.get("synonyms"), arrays),
        seconds=float(meta["seconds"]),
    )


def _sentencepiece(meta, captions: dict, arrays: dict, model: bytes | None, n: int) -> SentencePieceResult | None:
    if not meta:
        return None
    ids, offsets = _array(arrays, "sp_ids", "iu", 1), _array(arrays, "sp_offsets", "iu", 1)
    decoded = _strings(captions, "sp_decoded")
    if len(offsets) != n + 1 or len(decoded) != n or (n and offsets[-1] != len(ids)):
        raise UnreadableCache("the SentencePiece pieces do not match the captions")
    vocab = [(str(piece), float(score)) for piece, score in meta["vocab"]]
    return SentencePieceResult(
        model, vocab, ids, offsets, decoded, int(meta["n_changed"]), int(meta["requested_vocab_size"])
    )


def _synonyms(meta, arrays: dict) -> SynonymResult | None:
    import pandas as pd

    if not meta:
        return None
    words, counts = [str(w) for w in meta["words"]], [int(n) for n in meta["counts"]]
    labels, embeddings = _array(arrays, "syn_labels", "iu", 1), _array(arrays, "syn_embeddings", "f", 2)
    if not len(words) == len(counts) == len(labels) == len(embeddings):
        raise UnreadableCache("the synonym vocabulary, its labels and its vectors differ in length")
    if sorted(meta["mapping"]) != sorted(MAPPING_COLUMNS):
        raise UnreadableCache("the synonym mapping table has other columns")
    mapping = pd.DataFrame(meta["mapping"], columns=MAPPING_COLUMNS).astype(meta["mapping_dtypes"])
    return SynonymResult(words, counts, labels, embeddings, mapping, [str(n) for n in meta["notes"]])


def _array(arrays: dict, name: str, kinds: str, ndim: int) -> np.ndarray:
    value = arrays.get(name)
    if value is None or value.dtype.kind not in kinds or value.ndim != ndim:
        raise UnreadableCache(f"{_ARRAYS} lacks a {ndim}-D array {name!r} of the expected type")
    return value


def _strings(captions: dict, name: str) -> list[str]:
    value = captions.get(name)
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise UnreadableCache(f"{_CAPTIONS} lacks the caption list {name!r}")
    return value
