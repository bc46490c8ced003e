"""Every bad input of the corpus (tests/bad_inputs/) gets its one sentence: no traceback, nothing lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bad_inputs import all_cases, matches, snapshot

CASES = all_cases()
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_clear_sentence(case, tmp_path):
    built = case.build(tmp_path)
    before = snapshot(case.keep(built)) if case.keep else None
    outcome = case.run(built)
    assert "Traceback" not in outcome.output + outcome.message, outcome.output
    assert outcome.message.strip(), f"no message at all; output: {outcome.output[-800:]}"
    assert len(outcome.message.strip().splitlines()) == 1, f"more than one line: {outcome.message!r}"
    assert matches(case.expected, outcome.message), f"{outcome.message!r} does not match {case.expected!r}"
    if case.exit_code is not None:
        assert outcome.exit_code == case.exit_code, outcome.output[-800:]
    if case.keep:
        assert snapshot(case.keep(built)) == before, "something on disk was lost or changed"


def test_readme_states_the_size_of_the_corpus():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"(\d+) bad inputs: 0 tracebacks, 0 silently wrong results", text)
    assert found, "the README must say 'N bad inputs: 0 tracebacks, 0 silently wrong results'"
    assert int(found.group(1)) == len(CASES)
