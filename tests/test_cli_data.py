"""`rsic data ...` as a user runs it: the installed command, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

RSIC = [str(Path(sys.executable).with_name("rsic"))]  # installed by the set-up (pip install -e .)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RSIC, *args], capture_output=True, text=True, timeout=300)


def test_validate_reports_problems_and_exit_code(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "images" / "farm_1.jpg")
    (tmp_path / "images" / "farm_2.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "dataset_t.json").write_text(
        json.dumps(
            {
                "images": [
                    {
                        "filename": f"farm_{i}.jpg",
                        "split": "train",
                        "sentences": [{"raw": "a green field"}, {"raw": ""}],
                    }
                    for i in (1, 2, 3)
                ]
            }
        )
    )

    result = run("data", "validate", str(tmp_path))

    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "3 images, 3 captions" in out
    assert "farm_2.jpg: image farm_2.jpg: not a readable image" in out
    assert "farm_3.jpg: image farm_3.jpg: image file is missing" in out
    assert "images[0] (farm_1.jpg): caption 2 is empty; dropped" in out


def test_validate_json_and_missing_path(tmp_path):
    result = run("data", "validate", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"rsic: error: {tmp_path / 'nowhere'}: no such file or folder"


def test_demo_command_writes_a_dataset_the_loader_reads(tmp_path):
    result = run("data", "demo", str(tmp_path / "demo"), "--images", "40", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "wrote 40 images, 200 captions" in result.stdout
    check = run("data", "validate", str(tmp_path / "demo"), "--json")
    report = json.loads(check.stdout)
    assert check.returncode == 0 and report["num_images"] == 40 and report["problems"] == []
    assert len(report["labels"]) >= 10
