"""The bad-input corpus: what a careless user or an attacker gives the project, and the one sentence back.

Each area has its table (``data.py``, ``models.py``, ``runs.py``, ``text.py``, ...): a list ``CASES`` of
:class:`BadInput`. ``tests/test_bad_inputs.py`` runs every case and checks that it gives exactly the
expected sentence, no traceback, the expected exit code, and (where the case says so) that nothing on
disk was lost or changed. The README states how many cases there are; a test keeps that number true.

A case builds its input under a temporary folder (``build``), then gives it to the project (``run``) and
returns an :class:`Outcome`; most cases call the command line in-process with :func:`cli`.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """What the project did with a bad input."""

    message: str  # the sentence the user sees (stderr line, problem text, page error...)
    exit_code: int | None = None  # for command-line cases
    output: str = ""  # everything else printed (checked for tracebacks)


@dataclass(frozen=True)
class BadInput:
    """One bad input and the sentence it must get."""

    name: str  # what the user does, e.g. "rsic score: a row without image_id"
    build: Callable[[Path], Any]  # writes the bad input under the temporary folder; returns what run needs
    run: Callable[[Any], Outcome]  # gives it to the project
    expected: str  # a regular expression the sentence must match (re.search, case-insensitive)
    exit_code: int | None = None  # expected exit code of a command-line case
    keep: Callable[[Any], Path] | None = field(default=None)  # a folder whose files must come out unchanged


def cli(argv: list[str]) -> Outcome:
    """Run ``rsic ARGV`` in this process; the message is the ``rsic: error:`` line(s) of stderr."""
    from rsic_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse refusals
            code = int(e.code or 0)
    errors = [line for line in err.getvalue().splitlines() if line.startswith(("rsic: error:", "rsic "))]
    message = "\n".join(line for line in errors if "error" in line)
    return Outcome(message=message, exit_code=code, output=out.getvalue() + err.getvalue())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove that nothing was lost or overwritten)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


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
