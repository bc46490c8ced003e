"""Nothing in the project unpickles a file: a source check of every module outside the tests.

A pickle (``pickle.load``, ``joblib.load``, ``torch.load`` without ``weights_only=True``, ``np.load`` with
``allow_pickle=True``...) runs any code its file holds; caches and weights are read as data only
(JSON, ``.npz`` without pickle, safetensors). The check reads the syntax tree, so a comment or a
docstring that names these calls is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("rsic_core", "ui", "views", "bench", "scripts")
SOURCE_FILES = ("app.py", "demo.py")

UNPICKLERS = {  # module -> functions that unpickle
    "pickle": {"load", "loads", "Unpickler"},
    "_pickle": {"load", "loads", "Unpickler"},
    "cloudpickle": {"load", "loads"},
    "dill": {"load", "loads"},
    "joblib": {"load"},
    "shelve": {"open"},
    "pandas": {"read_pickle"},
    "yaml": {"unsafe_load", "full_load"},
}
ALIASES = {"pd": "pandas", "np": "numpy"}


def _project_sources() -> list[Path]:
    files = [ROOT / name for name in SOURCE_FILES if (ROOT / name).is_file()]
    for folder in SOURCE_FOLDERS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def _keyword(call: ast.Call, name: str):
    """The constant value of keyword ``name`` (``...`` when it is absent, None when it is not a constant)."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else None
    return ...


def unsafe_loads(source: str) -> list[str]:
    """``line: call`` for each place in ``source`` that can unpickle a file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            bad = UNPICKLERS.get(node.module, set()) & {a.name for a in node.names}
            found += [f"{node.lineno}: from {node.module} import {name}" for name in sorted(bad)]
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
        module, name = ALIASES.get(owner, owner), node.func.attr
        if name in UNPICKLERS.get(module, set()):
            found.append(f"{node.lineno}: {owner}.{name}(...)")
        elif (module, name) == ("torch", "load") and _keyword(node, "weights_only") is not True:
            found.append(f"{node.lineno}: torch.load without weights_only=True")
        elif (module, name) == ("numpy", "load") and _keyword(node, "allow_pickle") not in (..., False):
            found.append(f"{node.lineno}: np.load with allow_pickle")
    return found


@pytest.mark.parametrize(
    "source, flagged",
    [
        ("import pickle\npickle.load(f)", True),
        ("from pickle import loads", True),
        ("torch.load(path)", True),
        ("torch.load(path, weights_only=False)", True),
        ("torch.load(path, map_location='cpu', weights_only=True)", False),
        ("np.load(path, allow_pickle=True)", True),
        ("np.load(path)", False),
        ("np.load(path, allow_pickle=False)", False),
        ("pd.read_pickle(path)", True),
        ("json.load(f)", False),
        ('"""pickle.load(f) in a docstring"""', False),
    ],
)
def test_the_check_finds_what_unpickles(source, flagged):
    assert bool(unsafe_loads(source)) == flagged


def test_no_project_module_unpickles_a_file():
    sources = _project_sources()
    assert len(sources) > 50 and ROOT / "rsic_core" / "text" / "preprocess.py" in sources
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sources
        if (hits := unsafe_loads(path.read_text(encoding="utf-8")))
    }
    assert found == {}, f"these can run code from a file: {found}"
