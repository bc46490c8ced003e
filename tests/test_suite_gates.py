"""What the suite itself must not hide: ../shared missing on CI, a pinned package that does not import."""

from __future__ import annotations

import pytest

from tests.support.shared import shared_path


def test_a_missing_shared_path_fails_under_ci_and_is_skipped_on_a_developer_machine(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no-such-folder is absent, but \.\./shared is beside every CI"):
        shared_path("data", "no-such-folder")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="optional on a developer machine"):
        shared_path("data", "no-such-folder")


def test_no_test_skips_a_package_that_requirements_txt_pins():
    """``pytest.importorskip`` of a pinned package turns a broken install into a green suite (ray once did)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pinned = {
        re.split(r"[\[=<>~ ]", line, maxsplit=1)[0].lower().replace("-", "_")
        for line in (root / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    skipped = {
        (path.name, name)
        for path in root.joinpath("tests").rglob("*.py")
        for name in re.findall(r"importorskip\(\s*[\"']([\w.]+)", path.read_text(encoding="utf-8"))
        if name.split(".")[0].lower() in pinned | {"pil"}
    }
    assert not skipped, f"pinned packages skipped instead of failing: {sorted(skipped)}"


def test_the_old_module_name_of_the_hub_check_still_works_and_warns():
    import importlib
    import sys

    sys.modules.pop("rsic_core.hub", None)
    with pytest.warns(DeprecationWarning, match="rsic_core.offline"):
        old = importlib.import_module("rsic_core.hub")
    from rsic_core.offline import hub_unreachable

    assert old.hub_unreachable is hub_unreachable
