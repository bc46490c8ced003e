"""WordNet's first-time install: several processes at once all succeed and leave one folder, no temporary ones."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from rsic_core.text import wordnet


def _fake_debian_wordnet(folder: Path) -> Path:
    """WordNet files as Debian lays them out (contents made up, big enough for the copies to overlap)."""
    folder.mkdir()
    for name in wordnet._FILES:
        (folder / name).write_text(f"{name}\n" * 200_000)
    return folder


def _install(home: str, source: str, barrier) -> str:
    os.environ["RSIC_HOME"] = home
    barrier.wait()  # every process starts copying at the same moment
    return str(wordnet.install_wordnet(source))


def test_four_processes_installing_at_once_all_succeed_and_leave_one_folder(tmp_path):
    source = _fake_debian_wordnet(tmp_path / "debian")
    home = tmp_path / "home"
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(4) as pool:
        barrier = manager.Barrier(4)
        folders = pool.starmap(_install, [(str(home), str(source), barrier)] * 4)
    target = home / "nltk_data" / "corpora" / "wordnet"
    assert folders == [str(target)] * 4
    assert [p.name for p in target.parent.iterdir()] == ["wordnet"]  # no temporary folder left
    assert sorted(p.name for p in target.iterdir()) == sorted([*wordnet._FILES, "lexnames"])
    assert (target / "data.noun").read_text() == (source / "data.noun").read_text()
    assert len((target / "lexnames").read_text().splitlines()) == 45


def test_a_broken_copy_from_an_interrupted_install_is_replaced(tmp_path, monkeypatch):
    source = _fake_debian_wordnet(tmp_path / "debian")
    monkeypatch.setenv("RSIC_HOME", str(tmp_path / "home"))
    target = tmp_path / "home" / "nltk_data" / "corpora" / "wordnet"
    target.mkdir(parents=True)
    (target / "data.noun").write_text("half a file")
    assert wordnet.install_wordnet(source) == target
    assert (target / "data.noun").read_text() == (source / "data.noun").read_text()
    assert [p.name for p in target.parent.iterdir()] == ["wordnet"]
