"""Every bad input of the corpus (tests/bad_inputs/) gets its one sentence: no traceback, nothing lost.

For each case:

- the sentence is one line and matches the case's expectation; it is what the project printed or
  returned (a command's stderr, a page's ``st.error``, a problem of the dataset, a note), never text
  the test wrote;
- nothing else is on screen: a page raised no exception (``at.exception`` is empty, whatever its
  message), and a command printed no other stderr line than those of ``tests.bad_inputs.BESIDES``:
  ``rsic: note:`` lines, transformers' "Loading weights" bar, the project's own progress ("loading
  MODEL", "loaded MODEL (FAMILY) on cpu in 0.2 s", "1/1 images", "captioned 0 of 1 images, 1
  failed"); a second error line, a library's warning (as a fresh process shows it) or log record
  fails the case (``make app``'s warning may go on over indented lines);
- nothing on disk was lost or changed: every file under the case's folder, and every input the case
  used from outside it, has the same SHA-256 before and after, and no new file appeared there but
  under the paths the case declares it writes (``writes``); commands that would write a run by
  default write under the case's folder here (``RSIC_RUNS``);
- the good rows of a partly bad dataset still load (``good``: images whose file opens, with captions).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bad_inputs import all_cases, matches, snapshot

CASES = all_cases()
ROOT = Path(__file__).resolve().parents[1]


def _inputs_outside(built, folder: Path) -> list[Path]:
    """The existing files and folders ``built`` names outside the case's folder (a shared model, a dataset)."""
    values = built.values() if isinstance(built, dict) else [built]
    paths = [v for v in values if isinstance(v, Path) and not v.is_relative_to(folder)]
    return [p for p in paths if p.exists()]


def _allowed(path: str, folder: Path, writes: tuple[str, ...]) -> bool:
    relative = Path(path).relative_to(folder).as_posix()
    return any(relative == w or relative.startswith(w.rstrip("/") + "/") for w in writes)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_clear_sentence(case, tmp_path, monkeypatch):
    monkeypatch.setenv("RSIC_RUNS", str(tmp_path / "runs-by-default"))
    built = case.build(tmp_path)
    outside = _inputs_outside(built, tmp_path)
    before, before_outside = snapshot(tmp_path), snapshot(*outside)

    outcome = case.run(built)

    assert not outcome.stray, f"the user saw more than the sentence:\n{outcome.stray}"
    assert "Traceback" not in outcome.output + outcome.message, outcome.output
    assert outcome.message.strip(), f"no message at all; output: {outcome.output[-800:]}"
    assert len(outcome.message.strip().splitlines()) == 1, f"more than one line:\n{outcome.message}"
    assert matches(case.expected, outcome.message), f"{outcome.message!r} does not match {case.expected!r}"
    if case.exit_code is not None:
        assert outcome.exit_code == case.exit_code, outcome.output[-800:]
    after = snapshot(tmp_path)
    watched = [p for p in before.keys() | after.keys() if not _allowed(p, tmp_path, case.writes)]
    differ = sorted(p for p in watched if before.get(p) != after.get(p))
    assert not differ, f"files lost, changed or new on disk: {differ}"
    assert snapshot(*outside) == before_outside, f"an input outside the case's folder changed: {outside}"
    if case.good:
        assert outcome.loaded is not None, "a dataset case with good rows must say which images loaded"
        assert set(case.good) <= set(outcome.loaded), f"good rows lost: {sorted(set(case.good) - set(outcome.loaded))}"


def test_readme_states_the_size_of_the_corpus():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"(\d+) bad inputs: 0 tracebacks, 0 silently wrong results", text)
    assert found, "the README must say 'N bad inputs: 0 tracebacks, 0 silently wrong results'"
    assert int(found.group(1)) == len(CASES)
