"""`rsic data ...` as a user runs it: the installed command, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
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


def test_validate_reads_geotiffs_refuses_paths_outside_and_deep_json(tmp_path):
    import numpy as np
    import rasterio

    (tmp_path / "ds" / "images").mkdir(parents=True)
    (tmp_path / "secret.jpg").write_bytes(b"private bytes")
    bands = np.random.default_rng(0).integers(0, 4096, size=(4, 16, 16)).astype(np.uint16)
    profile = {"driver": "GTiff", "count": 4, "height": 16, "width": 16, "dtype": "uint16"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(tmp_path / "ds" / "images" / "1.tif", "w", **profile) as dst:
            dst.write(bands)
    entries = [("1.tif", "train"), ("../../secret.jpg", "train")]
    images = [{"filename": f, "split": s, "sentences": [{"raw": "a field"}]} for f, s in entries]
    (tmp_path / "ds" / "dataset_t.json").write_text(json.dumps({"images": images}))

    result = run("data", "validate", str(tmp_path / "ds"))

    assert result.returncode == 1, result.stderr
    assert "1 images, 1 captions" in result.stdout and "unreadable image files: 0" in result.stdout
    assert "image ../../secret.jpg: image path leads outside the dataset folder" in result.stdout
    assert "Traceback" not in result.stderr

    (tmp_path / "dataset_deep.json").write_text('{"images": ' + "[" * 50_000 + "]" * 50_000 + "}")
    deep = run("data", "validate", str(tmp_path / "dataset_deep.json"))
    assert deep.returncode == 2 and deep.stdout == ""
    assert deep.stderr.strip().splitlines() == [
        f"rsic: error: {tmp_path / 'dataset_deep.json'}: JSON nested too deeply (over about 1000 levels) to be a dataset"
    ]


def _no_network(argv: list[str]) -> list[str]:
    """``argv`` in a network namespace of its own (no route anywhere) where the machine allows it."""
    import shutil

    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n", *argv]
    return argv


def test_validate_reads_the_hub_layout_with_no_network(tmp_path):
    import os

    from tests.test_hub_datasets import rsicd_like

    rsicd_like(tmp_path / "rsicd", split_of=lambda s: "validation" if s == "test" else s)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))}
    argv = _no_network([*RSIC, "data", "validate", str(tmp_path / "rsicd")])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "rsicd (hub): 5 images, 25 captions",
        "splits: train 3 images / 15 captions, val 2 images / 10 captions",
        "classes: 5",
    ]
    assert "unreadable image files: 0" in result.stdout and "problems: 0" in result.stdout


def test_validate_refuses_a_folder_where_nothing_is_a_dataset(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"api_key": "hunter2", "images": ["a.png"]}))
    (tmp_path / "state.json").write_text(json.dumps({"_data_files": [{"filename": "x.arrow"}]}))
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")

    result = run("data", "validate", str(tmp_path))

    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"rsic: error: {tmp_path}: not a captioning dataset: expected the Karpathy layout (an 'images' list of "
        "entries with 'filename' and 'sentences'), NWPU-Captions (class name -> list of images with 'filename' and "
        "'raw'), RISC captions.csv, or a CSV/JSONL with image and caption columns (none of its 2 .json/.jsonl/.csv "
        "files is one)"
    ]
