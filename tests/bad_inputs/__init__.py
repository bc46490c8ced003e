"""The bad-input corpus: what a careless user or an attacker gives the project, and the one sentence back.

Each area has its table (``data.py``, ``models.py``, ``runs.py``, ``text.py``, ...): a list ``CASES`` of
:class:`BadInput`. ``tests/test_bad_inputs.py`` runs every case and checks that it gives exactly the
expected sentence, nothing else on screen, no traceback, the expected exit code, and that nothing on
disk was lost or changed. The README states how many cases there are; a test keeps that number true.

A case builds its input under a temporary folder (``build``), then gives it to the project (``run``) and
returns an :class:`Outcome`; most cases call the command line in-process with :func:`cli`, pages go
through :func:`page_outcome`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOTE = "rsic: note:"
BESIDES = (  # what a command may print on stderr besides its one sentence (re.fullmatch, per line as shown)
    NOTE + r" .+",  # what the command adjusted and went on with
    r"Loading weights: +\d+%\|.*",  # transformers' bar while a model loads (the command had started its work)
    r"loading \S+( with adapter \S+)?",  # the project's progress: rsic evaluate opens the model
    r"loaded .+ \([\w -]+\) on \S+ in [\d.]+ s",  # rsic caption has opened the model
    r"\d+/\d+ images",  # the count while a command works through images
    r"(captioned|explained) \d+ of \d+ images.*",  # a batch command's last line
)


@dataclass(frozen=True)
class Outcome:
    """What the project did with a bad input."""

    message: str  # the sentence the user sees (stderr line, problem text, page error...)
    exit_code: int | None = None  # for command-line cases
    output: str = ""  # everything else printed (checked for tracebacks)
    stray: str = ""  # anything else the user saw: more stderr lines, a page's exception; must be empty
    loaded: tuple[str, ...] | None = None  # the images a dataset case still loaded (checked against ``good``)


@dataclass(frozen=True)
class BadInput:
    """One bad input and the sentence it must get."""

    name: str  # what the user does, e.g. "rsic score: a row without image_id"
    build: Callable[[Path], Any]  # writes the bad input under the temporary folder; returns what run needs
    run: Callable[[Any], Outcome]  # gives it to the project
    expected: str  # a regular expression the sentence must match (re.search, case-insensitive)
    exit_code: int | None = None  # expected exit code of a command-line case
    writes: tuple[str, ...] = field(default=())  # paths under the case folder the project may create or change
    good: tuple[str, ...] = field(default=())  # images of a partly bad dataset that must still load


def cli(argv: list[str]) -> Outcome:
    """Run ``rsic ARGV`` in this process, its stderr captured as the user would see it.

    The message is every line of stderr, as a terminal shows it, that is not one of :data:`BESIDES`:
    a second error line, a library's warning or log, or anything else makes it more than one line.
    Warnings are shown as a fresh process shows them (Python's default filters: deprecations
    hidden); logging handlers and file descriptor 2 write into the same capture.
    """
    from rsic_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _user_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse refusals
            code = int(e.code or 0)
    message = "\n".join(line for line in shown_lines(err.getvalue()) if not any(re.fullmatch(b, line) for b in BESIDES))
    return Outcome(message=message, exit_code=code, output=out.getvalue() + err.getvalue())


def shown_lines(text: str) -> list[str]:
    """The lines a terminal shows for ``text``: a carriage return redraws its line (progress bars); blank lines left out."""
    lines = [line.rstrip("\r").rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    return [line for line in lines if line]


@contextlib.contextmanager
def _user_stderr(err: io.StringIO):
    """Everything a user of a fresh ``rsic`` process would see on stderr, written into ``err``."""
    handlers = [
        h
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for h in getattr(logger, "handlers", [])
        if type(h) is logging.StreamHandler and h.stream not in (sys.stdout, sys.__stdout__)
    ]
    streams = [h.stream for h in handlers]
    for handler in handlers:  # not setStream: it flushes the old stream, which pytest may have closed (capsys)
        handler.stream = err
    descriptor = tempfile.TemporaryFile()
    saved = os.dup(2)
    sys.__stderr__.flush()
    os.dup2(descriptor.fileno(), 2)
    try:
        with contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
            warnings.resetwarnings()  # then python's filters without -W: each warning once, deprecations hidden
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__", append=True)
            for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=hidden, append=True)
            warnings.simplefilter("default", append=True)
            yield
    finally:
        sys.__stderr__.flush()
        os.dup2(saved, 2)
        os.close(saved)
        for handler, stream in zip(handlers, streams):
            handler.stream = stream
        for w in caught:
            err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
        descriptor.seek(0)
        err.write(descriptor.read().decode(errors="replace"))
        descriptor.close()


def page_outcome(at, errors=None) -> Outcome:
    """The errors an AppTest page shows (``errors``, default all), any exception with its stack trace as stray."""
    shown = at.error if errors is None else errors
    stray = "\n".join(f"{e.proto.type}: {e.value}\n" + "\n".join(e.stack_trace) for e in at.exception)
    return Outcome(message="\n".join(e.value for e in shown), output=stray, stray=stray)


def loaded_images(dataset) -> tuple[str, ...]:
    """The images of ``dataset`` that load, with captions: what a partly bad dataset still gives."""
    names = []
    for record in dataset.records:
        try:
            if record.has_image and record.captions and record.load_image():
                names.append(record.image_id)
        except ValueError:
            pass
    return tuple(names)


def snapshot(*folders: Path) -> dict[str, str]:
    """The SHA-256 of every file under ``folders`` (links followed), to prove that nothing was lost or changed."""
    found = {}
    for folder in folders:
        paths = [folder] if folder.is_file() else sorted(Path(folder).rglob("*"))
        for path in paths:
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def matches(expected: str, message: str) -> bool:
    return re.search(expected, message, flags=re.I | re.S) is not None


def all_cases() -> list[BadInput]:
    """Every case of every area table."""
    import importlib
    import pkgutil

    cases: list[BadInput] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        cases += importlib.import_module(f"{__name__}.{info.name}").CASES
    return cases
