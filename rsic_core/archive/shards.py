"""The archive folder: captions as parquet shards, resumable, never mixing two settings (no ray here).

Layout of ``DIR``::

    archive.json                 model, adapter, generation settings (what every caption was made with)
    shard-<run>-<seq>.parquet    complete shards: one row per image (see SCHEMA)
    .shard-...parquet.tmp        a shard being written (or left by a killed run: ignored, then removed)
    .lock                        the host and process writing DIR now

A shard is written to a temporary file, flushed and renamed into place, so every ``shard-*.parquet``
is complete; a run killed half-way loses only the shards it had not renamed yet. Which images are done
is the union of the ``image`` column of the complete shards: a second run captions only the rest. A
folder made with another model, adapter or generation setting is refused, so results are never mixed.

Example::

    with ArchiveFolder.open("out/", archive_settings("demo", None, CaptionConfig())) as archive:
        todo = [ref for ref in refs if ref.key not in archive.done]
        archive.write_shard(table)
    read_archive("out/")   # a DataFrame, one row per image
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import asdict
from pathlib import Path

from rsic_core.models.inference import CaptionConfig
from rsic_core.paths import shipped_model

MANIFEST = "archive.json"
LOCK = ".lock"
KIND = "rsic-caption-archive"
COLUMNS = ("image", "caption", "error", "note", "seconds", "model", "adapter", "generation", "worker")
UNSCORED_FIELDS = ("batch_size",)  # settings that never change a caption (left out of the identity)


def schema():
    """The arrow schema of a shard."""
    import pyarrow as pa

    text = pa.string()
    return pa.schema([(c, pa.float64() if c == "seconds" else text) for c in COLUMNS])


def archive_settings(model: str | None, adapter: str | None, config: CaptionConfig) -> dict:
    """What the captions of an archive depend on: the model, the adapter and the generation settings.

    Local folders are made absolute (the same model from another working folder is the same model).
    """
    name = shipped_model(model)
    generation = {k: v for k, v in asdict(config).items() if k not in UNSCORED_FIELDS}
    return {"model": _absolute(name), "adapter": _absolute(adapter) if adapter else None, "generation": generation}


def _absolute(name: str) -> str:
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


class ArchiveFolder:
    """An archive folder opened for writing: its settings, the images done, and atomic shard writes.

    Use :meth:`open` as a context manager; it holds ``DIR/.lock`` while open.
    """

    def __init__(self, folder: Path, settings: dict):
        self.folder, self.settings = folder, settings
        self.run = f"{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"
        self.written = 0  # shards written by this run
        self.cleaned = 0  # unfinished shard files of an earlier run removed
        self.done: set[str] = set()

    @classmethod
    @contextlib.contextmanager
    def open(cls, folder: str | Path, settings: dict):
        """Open (or create) ``folder`` for captions made with ``settings``.

        Raises:
            ValueError: ``folder`` is a file, holds something that is not an archive, holds an archive
                made with other settings, or another run is writing it (each in one sentence).
        """
        folder = _check_folder(Path(folder).expanduser())
        _check_settings(folder, settings)
        with _lock(folder):
            archive = cls(folder, settings)
            if not shard_files(folder):  # no caption yet (e.g. Ray could not be reached): the settings are this run's
                _atomic_bytes(folder / MANIFEST, json.dumps({"kind": KIND, **settings}, indent=2).encode())
            archive.cleaned = _remove_unfinished(folder)
            archive.done = done_images(folder)
            yield archive

    def write_shard(self, table) -> Path:
        """Write one shard (a pyarrow table with :data:`COLUMNS`) atomically; returns its path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pydict({c: table.column(c).to_pylist() for c in COLUMNS}, schema=schema())
        final = self.folder / f"shard-{self.run}-{self.written:05d}.parquet"
        temp = self.folder / f".{final.name}.tmp"
        with open(temp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, final)
        self.written += 1
        self.done.update(table.column("image").to_pylist())
        return final


def shard_files(folder: str | Path) -> list[Path]:
    """The complete shards of an archive folder, oldest run first."""
    return sorted(Path(folder).glob("shard-*.parquet"))


def done_images(folder: str | Path) -> set[str]:
    """The images that have a row in a complete shard (an unreadable shard counts as not done)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    done: set[str] = set()
    for shard in shard_files(folder):
        try:
            done.update(pq.read_table(shard, columns=["image"]).column("image").to_pylist())
        except (pa.ArrowException, OSError):
            continue
    return done


def read_archive(folder: str | Path):
    """Every row of an archive folder's complete shards as a pandas DataFrame (one row per image, the latest).

    Raises:
        FileNotFoundError: the folder holds no archive.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder).expanduser()
    if not (folder / MANIFEST).is_file():
        raise FileNotFoundError(f"{folder}: no {MANIFEST} (not an archive folder of rsic caption --engine ray)")
    tables = []
    for shard in shard_files(folder):
        with contextlib.suppress(pa.ArrowException, OSError):
            tables.append(pq.read_table(shard, schema=schema()))
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "seconds" else "str") for c in COLUMNS})
    frame = pa.concat_tables(tables).to_pandas()
    return frame.drop_duplicates("image", keep="last").reset_index(drop=True)


def _check_folder(folder: Path) -> Path:
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"--out {folder}: {blocking} is a file; the ray engine writes a folder of shards")
    if folder.is_dir() and not (folder / MANIFEST).exists() and any(folder.iterdir()):
        raise ValueError(
            f"--out {folder} is not empty and holds no {MANIFEST}; give a new or empty folder, "
            "or the folder of an earlier run to continue it"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_settings(folder: Path, settings: dict) -> None:
    """Refuse a folder whose captions were made with other settings (one sentence naming the first difference)."""
    file = folder / MANIFEST
    if not file.is_file():
        return
    try:
        saved = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = None
    if not isinstance(saved, dict) or saved.get("kind") != KIND:
        raise ValueError(f"{file} is not the manifest of an rsic caption archive; give another --out")
    if not shard_files(folder):
        return  # no caption made with the old settings is there
    for key in ("model", "adapter"):
        if saved.get(key) != settings[key]:
            raise ValueError(
                f"--out {folder} holds captions of {key} {saved.get(key)} (this run: {settings[key]}); "
                "give another --out so that results are never mixed"
            )
    old, new = saved.get("generation") or {}, settings["generation"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            raise ValueError(
                f"--out {folder} holds captions made with {key} {old.get(key)!r} (this run: {new.get(key)!r}); "
                "give another --out so that results are never mixed"
            )


@contextlib.contextmanager
def _lock(folder: Path):
    """Hold ``folder/.lock`` (host and pid); a lock of a process that is gone is taken over."""
    lock, me = folder / LOCK, f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            with open(lock, "x", encoding="utf-8") as f:
                f.write(me)
            break
        except FileExistsError:
            owner = lock.read_text(encoding="utf-8", errors="replace").strip()
            if not _gone(owner):
                raise ValueError(
                    f"--out {folder} is being written by another run ({owner}); wait for it, "
                    f"or remove {lock} if that run is gone"
                ) from None
            lock.unlink(missing_ok=True)
    else:
        raise ValueError(f"--out {folder}: could not take {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _gone(owner: str) -> bool:
    """Whether the ``host pid`` of a lock is a process of this host that no longer runs."""
    host, _, pid = owner.partition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's run: only the user can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _remove_unfinished(folder: Path) -> int:
    """Remove the temporary shard files a killed run left (the lock says no run is writing now)."""
    left = list(folder.glob(".shard-*.parquet.tmp"))
    for file in left:
        file.unlink(missing_ok=True)
    return len(left)


def _atomic_bytes(file: Path, data: bytes) -> None:
    temp = file.with_name(f".{file.name}.tmp")
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, file)
