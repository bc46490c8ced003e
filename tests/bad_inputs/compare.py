"""Bad inputs of ``rsic compare``: two sides that are not on the same images or references, a side that is no run."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bad_inputs import BadInput, cli

REFS = ["a red roof beside a road", "a roof next to a road"]


def _side(tmp: Path, name: str, rows: list[tuple[str, str, list[str]]]) -> Path:
    file = tmp / f"{name}.jsonl"
    file.write_text(
        "".join(json.dumps({"image_id": i, "prediction": p, "references": r}) + "\n" for i, p, r in rows),
        encoding="utf-8",
    )
    return file


def _two(tmp: Path, b_rows) -> dict:
    a = _side(tmp, "a", [("1.jpg", "a red roof", REFS), ("2.jpg", "a road", REFS)])
    return {"a": a, "b": _side(tmp, "b", b_rows)}


def _compare(*extra: str):
    return lambda b: cli(["compare", str(b["a"]), str(b["b"]), "--metrics", "bleu", *extra])


CASES = [
    BadInput(
        "rsic compare: B lacks an image of A",
        build=lambda tmp: _two(tmp, [("1.jpg", "a roof", REFS)]),
        run=_compare(),
        expected=r"a\.jsonl and .*b\.jsonl are not on the same images \(2 and 1; 1 only in .*a\.jsonl, e\.g\. '2\.jpg'",
        exit_code=2,
    ),
    BadInput(
        "rsic compare: an image with other references in B",
        build=lambda tmp: _two(tmp, [("1.jpg", "a roof", REFS), ("2.jpg", "a road", ["a river"])]),
        run=_compare(),
        expected=r"image '2\.jpg' has other references in .*b\.jsonl than in .*a\.jsonl",
        exit_code=2,
    ),
    BadInput(
        "rsic compare: a folder that holds no run",
        build=lambda tmp: {"a": _side(tmp, "a", [("1.jpg", "a roof", REFS)]), "b": tmp},
        run=_compare(),
        expected=r"no predictions\.jsonl in this folder \(not a run with predictions\)",
        exit_code=2,
    ),
    BadInput(
        "rsic compare --resamples 0",
        build=lambda tmp: _two(tmp, [("1.jpg", "a roof", REFS), ("2.jpg", "a road", REFS)]),
        run=_compare("--resamples", "0"),
        expected=r"resamples must be at least 1, not 0",
        exit_code=2,
    ),
    BadInput(
        "rsic compare --class-metric cider (a metric group, not a metric name)",
        build=lambda tmp: _two(tmp, [("1.jpg", "a roof", REFS), ("2.jpg", "a road", REFS)]),
        run=_compare("--class-metric", "cider"),
        expected=r"--class-metric must be one of BLEU-1, .*CIDEr.*, not 'cider'",
        exit_code=2,
    ),
]
