"""Bad inputs of the app's dataset sidebar: paths outside the data roots, files that are not datasets.

Each case drives the sidebar alone with AppTest (under ``st.navigation`` AppTest does not re-run it
after a click) with ``RSIC_DATA_ROOTS`` set to the case's folder; the message is the sidebar's error,
and the refused path must not be loaded. Cases whose file holds a secret check that the sentence does
not quote it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tests.bad_inputs import BadInput, Outcome, page_outcome
from tests.bad_inputs.data import NOT_DATASET, deep_json, karpathy_dataset, no_secret, settings_json


@contextlib.contextmanager
def _data_roots(folder: Path):
    before = os.environ.get("RSIC_DATA_ROOTS")
    os.environ["RSIC_DATA_ROOTS"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RSIC_DATA_ROOTS", None)
        else:
            os.environ["RSIC_DATA_ROOTS"] = before


@contextlib.contextmanager
def _home(folder: Path):
    """``folder`` as the home folder, with no RSIC_DATA_ROOTS: the default data roots of a user (or root)."""
    saved = {name: os.environ.get(name) for name in ("HOME", "RSIC_DATA_ROOTS")}
    os.environ["HOME"] = str(folder)
    os.environ.pop("RSIC_DATA_ROOTS", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _sidebar_script():
    from ui.state import dataset_sidebar

    dataset_sidebar()


def _sidebar(path, root: Path | None) -> Outcome:
    """Type ``path`` in the sidebar and press Load, with ``root`` the only data root: the sidebar's errors."""
    from streamlit.testing.v1 import AppTest

    with _data_roots(root) if root is not None else contextlib.nullcontext():
        at = AppTest.from_function(_sidebar_script, default_timeout=60).run()
        at.sidebar.text_input(key="dataset_path_input").set_value(str(path))
        at.sidebar.button(key="dataset_load").click().run()
    assert not at.session_state["dataset_path"], "a refused path was loaded"
    return page_outcome(at, at.sidebar.error)


def _under_root(tmp: Path) -> dict:
    """A data root holding a link that leads out, a JSON that is not a dataset, and a dataset folder outside it."""
    root = tmp / "root"
    root.mkdir()
    outside = karpathy_dataset(tmp / "outside", ["a.png"])
    (root / "link").symlink_to(outside, target_is_directory=True)
    return {"root": root, "outside": outside, "settings": settings_json(root), "deep": deep_json(root)}


def _hidden_in_home(tmp: Path) -> dict:
    """A home folder whose ~/.ssh holds a file laid out as a dataset (what root's home would be)."""
    home = tmp / "home"
    karpathy_dataset(home / ".ssh", ["id_ed25519.png"])
    return {"home": home, "file": home / ".ssh" / "dataset_t.json"}


def _in_home(built: dict) -> Outcome:
    with _home(built["home"]):
        return _sidebar(built["file"], None)


CASES = [
    BadInput(
        "sidebar: a dataset in ~/.ssh with the default data roots (the home folder)",
        _hidden_in_home,
        _in_home,
        r"home/\.ssh/dataset_t\.json is outside the folders datasets are read from \(.*/home, .*\).*hidden folders",
    ),
    BadInput(
        "sidebar: a dataset folder outside the data roots",
        _under_root,
        lambda built: _sidebar(built["outside"], built["root"]),
        r"/outside is outside the folders datasets are read from \(.*/root, .*\); to add a folder, start the app "
        r"with RSIC_DATA_ROOTS",
    ),
    BadInput(
        "sidebar: a link under a data root that leads out of it",
        _under_root,
        lambda built: _sidebar(built["root"] / "link", built["root"]),
        r"/root/link is outside the folders datasets are read from",
    ),
    BadInput(
        "sidebar: a path climbing out of a data root with ..",
        _under_root,
        lambda built: _sidebar(f"{built['root']}/../outside", built["root"]),
        r"/root/\.\./outside is outside the folders datasets are read from",
    ),
    BadInput(
        "sidebar: /etc/passwd",
        _under_root,
        lambda built: _sidebar("/etc/passwd", built["root"]),
        r"^/etc/passwd is outside the folders datasets are read from",
    ),
    BadInput(
        "sidebar: a JSON under a data root that is not a dataset",
        _under_root,
        lambda built: no_secret(_sidebar(built["settings"], built["root"])),
        r"settings\.json: " + NOT_DATASET,
    ),
    BadInput(
        "sidebar: JSON nested 100000 levels deep",
        _under_root,
        lambda built: _sidebar(built["deep"], built["root"]),
        r"dataset_deep\.json: JSON nested too deeply",
    ),
    BadInput(
        "sidebar: a file name over 255 bytes under a data root",
        _under_root,
        lambda built: _sidebar(built["root"] / ("a" * 300 + ".json"), built["root"]),
        r"the file name is too long \(a name may have at most 255 bytes\)",
    ),
]
