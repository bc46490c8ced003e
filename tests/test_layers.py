"""The library never imports the UI: rsic_core works with streamlit and gradio made unimportable."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import sys, pkgutil, importlib
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('streamlit', 'gradio'):
            raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
import rsic_core
names = [m.name for m in pkgutil.walk_packages(rsic_core.__path__, 'rsic_core.') if not m.name.endswith('__main__')]
for n in names:
    importlib.import_module(n)
print(len(names))
"""


def test_core_imports_without_ui_packages():
    result = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 8


def test_every_package_docstring_names_each_of_its_modules():
    import ast
    import re

    missing = []
    for init in sorted((ROOT / "rsic_core").rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        parts = [p for p in init.parent.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()]
        for stem in sorted(p.stem for p in parts if p.stem not in ("__init__", "__main__")):
            # named as ``stem``, ``stem/`` or ``stem.py``, :mod:`...stem`, or first on a line of a listing
            if not re.search(rf"``{stem}(/|\.py)?``|\.{stem}\b|^\s+{stem}\s", doc, re.M):
                missing.append(f"{init.parent.relative_to(ROOT)}: {stem}")
    assert not missing, f"package docstrings that leave out modules they hold: {missing}"


def test_no_module_of_the_library_or_the_app_is_over_400_lines():
    files = [*(ROOT / "rsic_core").rglob("*.py"), *(ROOT / "ui").glob("*.py"), *(ROOT / "views").glob("*.py")]
    files += [ROOT / "app.py", ROOT / "demo.py"]
    long = {str(f.relative_to(ROOT)): n for f in files if (n := len(f.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"modules over 400 lines (split them by concern): {long}"
