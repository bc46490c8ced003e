"""Whole archives on Ray: the same captions as one process, per-image errors as rows, resuming after a kill,
never mixing settings, rsic evaluate through the engine, and ray imported nowhere else."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rsic_core.archive import shards
from rsic_core.archive.shards import ArchiveFolder, archive_settings, read_archive, shard_files
from rsic_core.archive.sources import ImageRef, collect_sources, decode_source, encode_array
from rsic_core.cli import main
from rsic_core.models.inference import CaptionConfig

ROOT = Path(__file__).resolve().parents[1]

NO_RAY = """
import importlib, pkgutil, sys
import rsic_core, ui
from rsic_core.cli import build_parser
build_parser()  # every command's options, --engine ray included
names = [m.name for p in (rsic_core, ui) for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]
for name in names:
    if not name.endswith('__main__'):
        importlib.import_module(name)
assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))
print(len(names))
"""


def test_the_library_the_ui_and_the_cli_never_import_ray():
    result = subprocess.run([sys.executable, "-c", NO_RAY], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 40
    pages = [ROOT / "app.py", ROOT / "demo.py", *sorted((ROOT / "views").glob("*.py"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "import ray" not in text and "from ray" not in text, page


def _png(rgb=(200, 30, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_parquet(file: Path, images: list[bytes]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    cells = pa.array([{"bytes": b, "path": f"{i}.png"} for i, b in enumerate(images)], kind)
    pq.write_table(pa.table({"image": cells}), file)
    return file


def test_sources_are_image_files_folders_datasets_and_parquet_cells(demo_dir, tmp_path):
    images = sorted((demo_dir / "images").glob("*.jpg"))
    table = _image_parquet(tmp_path / "tiles.parquet", [_png(), _png((0, 0, 200))])
    refs = collect_sources([str(images[0]), str(demo_dir / "images"), str(table)])
    keys = [r.key for r in refs]
    assert keys[0] == str(images[0]) and len(keys) == len(set(keys)) == len(images) + 2  # the image given twice: once
    assert keys[-2:] == [f"{table}#row=0", f"{table}#row=1"]

    from_dataset = collect_sources([str(demo_dir / "dataset_demo.json")])
    assert {r.key for r in from_dataset} == {str(p) for p in images}

    (tmp_path / "noimage.parquet").write_bytes(b"PAR1 not parquet")
    with pytest.raises(ValueError, match="noimage.parquet"):
        collect_sources([str(tmp_path / "noimage.parquet")])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        collect_sources([str(tmp_path / "nowhere")])


def test_images_in_memory_travel_as_bytes_or_arrays():
    import numpy as np

    pixels = np.full((8, 6, 3), 90, dtype=np.uint8)
    image = decode_source(ImageRef("tile-0", encode_array(pixels)).data, "tile-0")
    assert image.size == (6, 8) and image.getpixel((0, 0)) == (90, 90, 90)
    assert decode_source(_png(), "t") == _png() and decode_source(None, "a.jpg") == "a.jpg"


def _table(keys: list[str]):
    import pyarrow as pa

    rows = {c: [None] * len(keys) for c in shards.COLUMNS}
    rows |= {"image": keys, "caption": ["x"] * len(keys), "seconds": [0.1] * len(keys)}
    return pa.table(rows)


def test_an_archive_folder_refuses_other_settings_foreign_folders_and_a_second_writer(tmp_path):
    settings = archive_settings("demo", None, CaptionConfig())
    with ArchiveFolder.open(tmp_path / "a", settings) as archive:
        archive.write_shard(_table(["a.jpg", "b.jpg"]))
        with pytest.raises(ValueError, match="being written by another run"):
            with ArchiveFolder.open(tmp_path / "a", settings):
                pass
    assert not list((tmp_path / "a").glob(".*tmp")) and not (tmp_path / "a" / shards.LOCK).exists()

    (tmp_path / "a" / ".shard-killed.parquet.tmp").write_bytes(b"half a shard")  # a run killed while writing
    with ArchiveFolder.open(tmp_path / "a", archive_settings("demo", None, CaptionConfig(batch_size=2))) as archive:
        assert archive.done == {"a.jpg", "b.jpg"} and archive.cleaned == 1  # batch size changes no caption
    assert not (tmp_path / "a" / ".shard-killed.parquet.tmp").exists()

    with pytest.raises(ValueError, match=r"holds captions made with gen_num_beams 1 \(this run: 5\)"):
        with ArchiveFolder.open(tmp_path / "a", archive_settings("demo", None, CaptionConfig(gen_num_beams=5))):
            pass
    with pytest.raises(ValueError, match="holds captions of model"):
        with ArchiveFolder.open(tmp_path / "a", archive_settings("other/model", None, CaptionConfig())):
            pass
    with ArchiveFolder.open(tmp_path / "b", settings):
        pass  # a run that captioned nothing (Ray unreachable) ...
    with ArchiveFolder.open(tmp_path / "b", archive_settings("demo", None, CaptionConfig(gen_num_beams=5))):
        pass  # ... does not bind the folder to its settings
    assert json.loads((tmp_path / "b" / "archive.json").read_text())["generation"]["gen_num_beams"] == 5
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not empty and holds no archive.json"):
        with ArchiveFolder.open(tmp_path / "mine", settings):
            pass
    assert sorted(read_archive(tmp_path / "a")["image"]) == ["a.jpg", "b.jpg"]


def test_ray_options_need_the_ray_engine_and_a_folder(demo_dir, tmp_path, capsys):
    image = str(next((demo_dir / "images").glob("*.jpg")))
    assert main(["caption", image, "--num-workers", "2"]) == 2
    assert "--num-workers is an option of --engine ray" in capsys.readouterr().err
    assert main(["caption", image, "--engine", "ray"]) == 2
    assert "give it with --out DIR" in capsys.readouterr().err
    (tmp_path / "file.jsonl").write_text("")
    assert main(["caption", image, "--engine", "ray", "--out", str(tmp_path / "file.jsonl")]) == 2
    assert "the ray engine writes a folder of shards" in capsys.readouterr().err
    run = tmp_path / "run"
    command = ["evaluate", "--data", str(demo_dir), "--engine", "ray", "--model", str(tmp_path), "--out", str(run)]
    assert main(command) == 2 and "no config.json" in capsys.readouterr().err
    assert not run.exists()  # refused before any folder or Ray start


def _local_captions(images: list[str], out: Path) -> dict:
    assert main(["caption", *images, "--batch-size", "4", "--out", str(out)]) == 1  # the broken image fails
    return {line["image"]: line for line in map(json.loads, out.read_text().splitlines())}


def test_ray_equals_one_process_records_errors_and_resumes_only_what_is_missing(
    ray_local, demo_dir, tmp_path, capsys, one_thread, monkeypatch
):
    import numpy as np
    from PIL import Image

    from rsic_core.archive.ray_engine import EngineConfig, caption_archive

    images = [str(p) for p in sorted((demo_dir / "images").glob("*.jpg"))[:6]]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    table = _image_parquet(tmp_path / "cells.parquet", [Path(images[0]).read_bytes()])
    local = _local_captions([*images, str(broken)], tmp_path / "local.jsonl")

    out = tmp_path / "archive"
    ray_args = ["caption", *images, str(broken), str(table), "--engine", "ray", "--num-workers", "2"]
    ray_args += ["--batch-size", "4", "--shard-size", "2", "--out", str(out)]
    assert main(ray_args) == 1  # one image failed; the job went on
    assert "captioned 7 of 8 images on 2 Ray workers, 1 failed" in capsys.readouterr().err
    first = read_archive(out).set_index("image")
    assert len(first) == 8 and len(shard_files(out)) == 4
    for image in images:
        assert first.loc[image, "caption"] == local[image]["caption"] != ""
    assert first.loc[f"{table}#row=0", "caption"] == local[images[0]]["caption"]  # the same bytes, from parquet
    assert "not a readable image" in first.loc[str(broken), "error"] and local[str(broken)]["error"]
    auto = archive_settings("ucm", None, CaptionConfig())["model"]  # auto: photos beyond the demo dataset go to ucm
    assert set(first["model"]) == {str(auto)}
    assert json.loads(first["generation"].iloc[0])["gen_num_beams"] == 1 and first["worker"].nunique() <= 2

    killed = shard_files(out)[1]
    lost = set(pq.read_table(killed).column("image").to_pylist())
    kept = {f: f.stat().st_mtime_ns for f in shard_files(out) if f != killed}
    killed.unlink()  # a run killed before this shard was renamed into place
    (out / ".shard-half.parquet.tmp").write_bytes(b"PAR1 half written")
    tile = ImageRef("scene.tif#tile=0,0", encode_array(np.asarray(Image.open(images[1]).convert("RGB"))))
    refs = [*collect_sources([*images, str(broken), str(table)]), tile]  # a scene tile in memory joins the job
    run = caption_archive(refs, out, "ucm", config=CaptionConfig(batch_size=4), engine=EngineConfig(ray_num_workers=1))
    assert (run.skipped, run.captioned, run.failed, run.cleaned) == (6, len(lost) + 1, str(broken) in lost, 1)
    assert {f: f.stat().st_mtime_ns for f in kept} == kept  # the complete shards were not touched
    again = read_archive(out).set_index("image")
    assert again.loc[tile.key, "caption"] == local[images[1]]["caption"]  # the same pixels, sent as an array
    assert again["caption"].drop(tile.key).sort_index().equals(first["caption"].sort_index())  # union = full run
    assert not list(out.glob(".*.tmp"))

    assert main([*ray_args, "--gen-num-beams", "2"]) == 2  # other settings: refused before any work
    assert "holds captions made with gen_num_beams 1 (this run: 2)" in capsys.readouterr().err
    assert main(ray_args) == 1  # nothing left to do (no Ray job); the broken image is still named
    err = capsys.readouterr().err
    assert "8 already in" in err and "1 of the 8 images have an error" in err

    monkeypatch.chdir(demo_dir)  # the same images spelled relative to here, and through ..: the same keys
    spelled = [f"images/../images/{Path(i).name}" for i in images[:3]] + [
        str(Path(i).relative_to(demo_dir)) for i in images[3:]
    ]
    assert main(["caption", *spelled, str(broken), str(table), *ray_args[len(images) + 3 :]]) == 1
    assert "8 already in" in capsys.readouterr().err
    assert len(read_archive(out)) == len(first) + 1  # the scene tile joined; no image twice


def test_rsic_evaluate_on_ray_writes_the_usual_scored_run(ray_local, demo_dir, tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    command = ["evaluate", "--data", str(demo_dir), "--eval-limit", "4", "--metrics", "bleu", "--out", str(run)]
    assert main([*command, "--engine", "ray", "--num-workers", "1"]) == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert (config["engine"], config["n_images"], config["family"]) == ("ray", 4, "paligemma")
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["prediction"] and r["references"] and r["error"] is None for r in rows)
    assert json.loads((run / "metrics.json").read_text())["corpus"]["BLEU-4"] is not None
    shards_of_run = read_archive(run / "shards").set_index("image")["caption"]
    assert {r["path"]: r["prediction"] for r in rows} == shards_of_run.to_dict()


def test_rsic_scene_caption_on_ray_gives_the_local_captions_and_resumes(ray_local, tmp_path, capsys, one_thread):
    """A 3 x 3 demo scene captioned through the engine: the same GeoJSON captions as in one process; a rerun reuses."""
    from rsic_core.data.demo.mosaic import generate_demo_scene

    scene = generate_demo_scene(tmp_path / "scene", grid=3, seed=1)
    local, ray = tmp_path / "local.geojson", tmp_path / "ray.geojson"
    assert main(["scene", "caption", str(scene), "--out", str(local)]) == 0, capsys.readouterr().err
    command = ["scene", "caption", str(scene), "--out", str(ray), "--engine", "ray", "--num-workers", "1"]
    assert main(command) == 0, capsys.readouterr().err
    captions = [
        {(f["properties"]["row"], f["properties"]["col"]): f["properties"]["caption"] for f in doc["features"]}
        for doc in (json.loads(local.read_text()), json.loads(ray.read_text()))
    ]
    assert captions[0] == captions[1] and len(captions[0]) == 9
    assert len(read_archive(tmp_path / "ray.geojson.shards")) == 9
    ray.unlink()
    assert main(command) == 0
    assert "0 tiles captioned, 9 taken from" in capsys.readouterr().err  # the rerun captions nothing again
    assert json.loads(ray.read_text())["features"]


def test_sources_are_keyed_by_resolved_path_however_spelled(tmp_path, monkeypatch):
    from rsic_core.archive.sources import canonical_key

    image = tmp_path / "tiles" / "a.png"
    image.parent.mkdir()
    image.write_bytes(_png())
    (tmp_path / "link").symlink_to(image.parent, target_is_directory=True)
    table = _image_parquet(tmp_path / "cells.parquet", [_png()])
    monkeypatch.chdir(tmp_path)
    spellings = ["tiles/a.png", "./tiles/../tiles/a.png", str(image), "link/a.png", "tiles"]
    assert [r.key for r in collect_sources(spellings)] == [str(image.resolve())]  # one image, once
    assert [r.key for r in collect_sources(["./cells.parquet"])] == [f"{table.resolve()}#row=0"]
    assert canonical_key("scene.tif#tile=0,0") == str(tmp_path.resolve() / "scene.tif#tile=0,0")


def test_a_pool_the_cluster_cannot_place_is_refused_at_once(ray_local, demo_dir, tmp_path, capsys):
    """Ray would wait forever for a worker no node can hold: the resources are checked before the pool starts."""
    image = str(next((demo_dir / "images").glob("*.jpg")))
    command = ["caption", image, "--engine", "ray", "--out", str(tmp_path / "a")]
    cases = {
        ("--cpus-per-worker", "64"): r"--cpus-per-worker 64: the Ray cluster has 2 CPUs in all and 2 on its largest",
        (
            "--num-workers",
            "1",
            "--gpus-per-worker",
            "1",
        ): r"--gpus-per-worker 1: the Ray cluster has no GPU, so no worker could ever be placed",
        ("--num-workers", "3"): r"--num-workers 3 with --cpus-per-worker 1: the Ray cluster \(2 CPUs\) has room for 2",
    }
    for options, expected in cases.items():
        assert main([*command, *options]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 2 and err[0].startswith("1 images;"), err
        assert re.search(expected, err[1]), err[1]
    assert ray_local.is_initialized() and not shard_files(tmp_path / "a")


def test_a_killed_driver_leaves_no_ray_process_behind(demo_dir, tmp_path):
    """``rsic caption --engine ray`` starts a local Ray; killed with SIGKILL mid-run, none of its processes stay."""
    import psutil

    images = [str(p) for p in sorted((demo_dir / "images").glob("*.jpg"))[:40]]
    command = [sys.executable, "-m", "rsic_core.cli", "caption", *images, "--engine", "ray", "--num-workers", "1"]
    command += ["--shard-size", "2", "--batch-size", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen([*command, "--out", str(tmp_path / "a")], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and not list((tmp_path / "a").glob("shard-*.parquet")):
            for child in psutil.Process(driver.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
            time.sleep(0.3)
        names = " ".join(p.name() for p in seen.values() if p.is_running())
        assert "raylet" in names and "gcs_server" in names, names  # a local Ray ran under the driver
    finally:
        driver.kill()
        driver.wait()
    for _ in range(60):  # the agents of a killed raylet used to stay for good
        left = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not left:
            break
        time.sleep(1)
    assert not left, [(p.pid, " ".join(p.cmdline())[:80]) for p in left]
