"""What commands write where the user says: ``--out`` checks, streamed lines and progress on stderr.

Shared by ``rsic caption``, ``rsic evaluate`` and ``rsic explain``. A command replaces only a file of
its own (:func:`written_by_rsic`); :class:`StreamedLines` writes ``<out>.partial`` and renames it over
``<out>`` at the end, so ``<out>`` is either as it was or complete.

Example::

    out = check_output(args.out)               # before any work; ValueError in one sentence
    with StreamedLines(out) as sink:
        sink.write(['{"image": "a.jpg", "caption": "a river"}'])
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


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
