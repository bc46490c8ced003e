"""Reading annotation text: encodings, JSON and CSV rows, with every loss named.

- Text is UTF-8 (a byte-order mark is fine). A file that is not UTF-8 is read as Windows-1252, or
  Latin-1 where that fails, and a problem says the encoding was guessed.
- JSON that cannot be parsed, or is nested too deeply to be a dataset, is one ``ValueError`` naming
  the file (never a traceback).
- CSV rows: a quote left open joins the rows after it into one field; the rows lost are named
  (``rows 3-6``), not just the one row the csv module gives back.
"""

from __future__ import annotations

import csv
import errno
import io
import json
from collections.abc import Iterator
from pathlib import Path

from rsic_core.data.records import Problem
from rsic_core.paths import check_regular

GUESSED_ENCODINGS = ("cp1252", "latin-1")  # tried in this order when a file is not UTF-8
ENCODING_NAMES = {"cp1252": "Windows-1252", "latin-1": "Latin-1"}
LINE_LIMIT = 256 * 2**20  # characters of one JSONL line read to tell a file's format (a 40 MB line is fine)


def short(path: str | Path, limit: int = 120) -> str:
    """``path`` for a message, cut to ``limit`` characters (a 300-byte name fills the screen)."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def os_error_sentence(path: str | Path, error: OSError) -> str:
    """One sentence for an ``OSError`` met while looking at ``path``."""
    if error.errno == errno.ENAMETOOLONG:
        return f"{short(path)}: the file name is too long (a name may have at most 255 bytes)"
    return f"{short(path)}: cannot be read ({error.strerror or error})"


def read_text(file: Path, problems: list[Problem] | None = None) -> str:
    """The text of ``file``: UTF-8 (with or without BOM), else a guessed 8-bit encoding, said in ``problems``.

    Raises:
        ValueError: the file cannot be read (the message names it).
    """
    check_regular(file)
    try:
        data = file.read_bytes()
    except OSError as e:
        raise ValueError(os_error_sentence(file, e)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        first_bad = e.start
    for encoding in GUESSED_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if problems is not None:
            line = data.count(b"\n", 0, first_bad) + 1
            problems.append(
                Problem(
                    str(file),
                    "encoding",
                    f"not UTF-8 (first non-UTF-8 byte on line {line}): read as {ENCODING_NAMES[encoding]}, "
                    "a guess; check accented letters, or save the file as UTF-8",
                )
            )
        return text
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def read_json(file: Path, problems: list[Problem] | None = None):
    """The JSON value in ``file`` (encoding as :func:`read_text`).

    Raises:
        ValueError: not valid JSON (line and column), or nested too deeply.
    """
    return parse_json(read_text(file, problems), file)


def parse_json(text: str, file: Path):
    """The JSON value of ``text`` read from ``file``; ``ValueError`` as :func:`read_json` says."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{file}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from None
    except RecursionError:
        raise ValueError(f"{file}: JSON nested too deeply (over about 1000 levels) to be a dataset") from None


def first_lines(file: Path, count: int, limit: int = LINE_LIMIT) -> list[str]:
    """The first ``count`` non-blank lines of ``file``, each read whole, within the first ``limit`` characters.

    Raises:
        ValueError: the file cannot be read, or a line runs past ``limit`` (the message says which limit).
    """
    check_regular(file)
    lines: list[str] = []
    left, number = limit, 0
    try:
        with open(file, encoding="utf-8-sig", errors="replace") as f:
            while len(lines) < count:
                line = f.readline(left + 1)
                number += 1
                if not line:
                    break
                if len(line) > left:
                    raise ValueError(
                        f"{short(file)}: line {number} runs past the first {limit // 2**20} MiB, the most read to "
                        "tell the format; split the file into shorter lines"
                    )
                left -= len(line)
                if line.strip():
                    lines.append(line)
    except OSError as e:
        raise ValueError(os_error_sentence(file, e)) from None
    return lines


def json_line(text: str):
    """One JSONL line parsed; ``ValueError`` with a short reason (no traceback, no content quoted)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def csv_rows(file: Path, text: str, problems: list[Problem]) -> Iterator[tuple[str, list[str]]]:
    """(row name, cells) of every data row of a CSV whose first row is the header; the header first.

    A row whose cell count differs from the header's is skipped with a problem. When a quote left
    open joined several lines into one row, the problem names all of them (``rows 3-6``).

    Yields:
        ``("header", cells)`` once, then ``("row N", cells)`` where N is the file line the row starts on.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = io.StringIO(text, newline="").readlines()  # split as the csv reader counts lines
    try:
        header = next(reader, [])
    except csv.Error as e:
        raise ValueError(f"{file}: the header row is not readable as CSV ({e})") from None
    yield "header", header
    last = reader.line_num
    while True:
        first = last + 1
        try:
            row = next(reader, None)
        except csv.Error as e:  # e.g. "field larger than field limit": an open quote ran on and on
            problems.append(Problem(str(file), _span(first, len(lines)), _open_quote(first, len(lines), str(e))))
            return
        if row is None:
            return
        last = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        odd = last > first and "".join(lines[first - 1 : last]).count('"') % 2 == 1
        if odd and last == len(lines):
            problems.append(Problem(str(file), _span(first, last), _open_quote(first, last)))
        elif last > first and (odd or len(row) != len(header)):
            problems.append(Problem(str(file), _span(first, last), _joined(first, last)))
        elif len(row) != len(header):
            problems.append(
                Problem(str(file), f"row {first}", f"expected {len(header)} columns, found {len(row)}; skipped")
            )
        else:
            yield f"row {first}", row


def _span(first: int, last: int) -> str:
    return f"row {first}" if last <= first else f"rows {first}-{last}"


def _joined(first: int, last: int) -> str:
    return (
        f'a quote (") opened in row {first} closes only in row {last}: '
        f"{last - first + 1} rows were read as one and skipped; check the quotes"
    )


def _open_quote(first: int, last: int, reason: str = "") -> str:
    lost = last - first + 1
    why = f" ({reason})" if reason else ""
    return (
        f'an unclosed quote (") in row {first} runs to the end of the file{why}: '
        f"{lost} rows were read as one field and skipped; close the quote"
    )
