"""`rsic data audit` and the Explorer's Audit tab: leaks between splits, weak references, standard splits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rsic_core.data.audit import audit, hash_images
from rsic_core.data.datasets import load_dataset
from rsic_core.data.standard_splits import standard_splits
from tests.support.audit import COPIED, ONE_WORD, planted
from tests.support.datasets import karpathy
from tests.support.shared import shared_path

RSIC = [str(Path(sys.executable).with_name("rsic"))]
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RSIC, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory) -> Path:
    return planted(tmp_path_factory.mktemp("planted"))


def _pair(p) -> tuple:
    return (p.a.image_id, p.a.split, p.b.image_id, p.b.split)


def test_the_audit_finds_every_planted_problem(planted_dir):
    report = audit(load_dataset(planted_dir))

    assert report.hashed == 14 and not report.unreadable
    assert [_pair(p) for p in report.exact_duplicates] == [("farm_1.jpg", "train", "farm_7.jpg", "test")]
    assert [_pair(p) for p in report.near_duplicates] == [("harbor_2.jpg", "train", "harbor_7.jpg", "val")]
    assert report.near_duplicates[0].distance <= 6 and not report.near_duplicates[0].exact
    assert report.exact_within_splits == []
    [shared] = report.shared_reference_sets  # found although case and final stops differ
    assert sorted(r.image_id for r in shared.images) == ["farm_3.jpg", "farm_6.jpg"]
    assert shared.splits() == {"train": 1, "test": 1}
    [copied] = report.copied_references
    assert copied.sentence == COPIED and copied.labels == ["farm", "harbor"] and copied.images == 2
    assert [(w.image.image_id, w.caption) for w in report.one_word_references] == [("harbor_3.jpg", ONE_WORD)]
    assert report.empty_references == 1
    assert [(r.image_id, n) for r, n in report.few_references] == [("harbor_3.jpg", 4), ("harbor_5.jpg", 3)]
    assert report.known_splits == []


def test_the_threshold_decides_what_is_near_and_hashes_are_reused(planted_dir):
    dataset = load_dataset(planted_dir)
    hashes = hash_images(dataset)
    strict = audit(dataset, threshold=0, hashes=hashes)
    loose = audit(dataset, threshold=6, hashes=hashes)
    distance = loose.near_duplicates[0].distance
    assert distance > 0, "a resized, re-encoded copy is not bit-identical in phash"
    assert strict.near_duplicates == [] and len(strict.exact_duplicates) == 1, "byte-identical files need no slack"
    with pytest.raises(ValueError, match="threshold must be between 0 and 64"):
        audit(dataset, threshold=65, hashes=hashes)


def test_standard_split_lists_are_shipped_as_package_data():
    lists = standard_splits()
    sizes = {key: len(stems) for key, stems in lists.items()}
    assert sizes[("RSICD", "test")] == 1093 and sizes[("RSICD", "val")] == 1094 and sizes[("RSICD", "train")] == 8734
    assert sizes[("UCM-captions", "val")] == 210 and sizes[("Sydney-captions", "train")] == 497
    assert "airport_348" in lists[("RSICD", "test")] and "airport_61" in lists[("RSICD", "val")]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"rsic_core.data" = ["splits/*.txt"' in pyproject, "the lists must be installed with the package"


def test_the_modified_rsicd_files_swapped_splits_are_named(tmp_path):
    lists = standard_splits()
    entries = [(f"{stem}.jpg", "test", ["a plane"]) for stem in sorted(lists[("RSICD", "val")])]
    entries += [(f"{stem}.jpg", "val", ["a plane"]) for stem in sorted(lists[("RSICD", "test")])]
    karpathy(tmp_path / "modified", entries, name="rsicd")

    report = audit(load_dataset(tmp_path / "modified"), check_images=False)

    texts = [k.text for k in report.known_splits]
    assert texts[0] == (
        "this 'test' split is RSICD's original val split, not its test split (1094 of its 1094 images): "
        "the widely copied 'modified' RSICD annotation file swaps val and test"
    )
    assert texts[1].startswith("this 'val' split is RSICD's original test split, not its val split (1093 of its")


def _ucm_relabelled(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the real UCM annotation file with its val split called "test"; images read where they are."""
    ucm = shared_path("data", "ucm-captions")
    data = json.loads((ucm / "dataset_ucm.json").read_text())
    for entry in data["images"]:
        entry["split"] = {"val": "test"}.get(entry["split"], entry["split"])
    (tmp_path / "dataset_ucm.json").write_text(json.dumps(data))
    return tmp_path / "dataset_ucm.json", ucm / "images"


def test_real_ucm_val_relabelled_test_is_recognised(tmp_path):
    annotation, images = _ucm_relabelled(tmp_path)

    report = audit(load_dataset(annotation, image_dir=images), check_images=False)

    assert [k.text for k in report.known_splits] == [
        "'train' is UCM-captions' standard train split (1680 of its 1680 images)",
        "this 'test' split is UCM-captions' standard val split, not its test split (210 of its 210 images)",
    ]


def test_real_ucm_train_val_audit_is_plausible():
    report = audit(load_dataset(shared_path("data", "ucm-captions")))

    assert report.hashed == 1890 and not report.unreadable
    # Checked by eye: no image of val repeats one of train; the closest pairs across splits (phash 10 and 12
    # bits) are different runways and buildings. 102.jpg and 103.jpg (both train) are the same file.
    assert report.exact_duplicates == [] and report.near_duplicates == []
    assert [_pair(p) for p in report.exact_within_splits] == [("102.jpg", "train", "103.jpg", "train")]
    # UCM-captions writes one reference set for many images of a class, so sets repeat across splits...
    assert len(report.shared_reference_sets) == 16 and sum(len(g.images) for g in report.shared_reference_sets) == 366
    # ...and 11 images of six other classes (airplane 148.jpg, harbor 1085.jpg...) carry the farmland set.
    farmland = {c.sentence: c for c in report.copied_references}["There is a piece of farmland ."]
    assert farmland.images == 101 and len(farmland.labels) == 7 and "agricultural" in farmland.labels
    assert report.one_word_references == [] and report.few_references == [] and report.empty_references == 0


def test_cli_text_and_json(planted_dir):
    result = run("data", "audit", str(planted_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "exact duplicate images across splits: 1 pair\n  farm_1.jpg (train) = farm_7.jpg (test)" in out
    assert (
        "near-duplicate images across splits (phash within 6 bits): 1 pair\n  harbor_2.jpg (train) = harbor_7.jpg"
        in out
    )
    assert f"references copied across classes: 1 sentence\n  {COPIED!r} under 2 classes (farm, harbor)" in out
    assert f"one-word references: 1\n  harbor_3.jpg (train): {ONE_WORD!r}" in out
    assert "images with fewer than 5 references: 2" in out and "empty references (dropped while reading): 1" in out

    data = json.loads(run("data", "audit", str(planted_dir), "--json", "--threshold", "0").stdout)
    assert data["threshold"] == 0 and data["near_duplicates"] == []
    assert data["exact_duplicates"][0]["b"]["image_id"] == "farm_7.jpg"
    assert data["shared_reference_sets"][0]["images"][1]["split"] == "test"


def test_cli_relabelled_ucm_with_image_dir(tmp_path):
    annotation, images = _ucm_relabelled(tmp_path)
    result = run("data", "audit", str(annotation), "--image-dir", str(images), "--no-images")
    assert result.returncode == 0, result.stderr
    assert "- this 'test' split is UCM-captions' standard val split, not its test split (210 of its 210 images)" in (
        result.stdout
    )
    assert "images not hashed" in result.stdout


def test_cli_bad_input_is_one_sentence(tmp_path):
    missing = run("data", "audit", str(tmp_path / "nowhere"))
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == f"rsic: error: {tmp_path / 'nowhere'}: no such file or folder"
    )
    (tmp_path / "notes.txt").write_text("not a dataset")
    other = run("data", "audit", str(tmp_path))
    assert other.returncode == 2 and other.stderr.startswith("rsic: error: ") and len(other.stderr.splitlines()) == 1


def open_explorer_audit(dataset_path: str) -> AppTest:
    """The Explorer with ``dataset_path`` loaded and its Audit tab chosen."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["dataset_path"] = dataset_path
    at.session_state["explorer_tab"] = "Audit"
    at.run()
    at.switch_page("views/explorer.py").run()
    return at


def test_the_explorer_audit_tab_shows_pairs_and_findings(planted_dir):
    at = open_explorer_audit(str(planted_dir))

    assert not at.exception, [e.message for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Exact duplicates"] == "1" and metrics["Near-duplicates"] == "1"
    assert metrics["Copied across classes"] == "1" and metrics["One-word references"] == "1"
    assert metrics["Under 5 references"] == "2" and metrics["Shared reference sets"] == "1"
    assert len(at.get("image")) == 4, "both pairs shown as thumbnails, no gallery"
    captions = " ".join(c.value for c in at.caption)
    assert "**farm_7.jpg** · test" in captions and "**harbor_7.jpg** · val" in captions
    assert not [b for b in at.button if b.label == "Details"], "the gallery is not built while the audit is shown"

    at.slider(key="explorer_audit_threshold").set_value(0).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Near-duplicates"] == "0" and metrics["Exact duplicates"] == "1"


def test_the_explorer_audit_tab_names_a_relabelled_split(tmp_path):
    # UCM's val file names called "test" (the app reads a dataset by its path, and refuses images outside its
    # folder, so the files are not there: the split is still named, the images are listed as missing).
    val = sorted(standard_splits()[("UCM-captions", "val")], key=int)
    karpathy(tmp_path, [(f"{stem}.jpg", "test", ["a green field"]) for stem in val], name="ucm")

    at = open_explorer_audit(str(tmp_path))

    assert not at.exception, [e.message for e in at.exception]
    infos = [i.value for i in at.info]
    assert infos == [
        "this 'test' split is UCM-captions' standard val split, not its test split (210 of its 210 images)"
    ]


def test_unreadable_and_sixteen_bit_images_are_handled(tmp_path):
    import numpy as np
    import rasterio
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    (images / "farm_1.jpg").write_bytes(b"not a jpeg at all")
    pixels = (np.random.default_rng(0).random((4, 64, 64)) * 4000).astype("uint16")  # 12-bit data in 4 bands
    where = {"crs": "EPSG:32633", "transform": rasterio.Affine(1, 0, 500000, 0, -1, 4000000)}
    with rasterio.open(
        images / "farm_2.tif", "w", driver="GTiff", width=64, height=64, count=4, dtype="uint16", **where
    ) as f:
        f.write(pixels)
    for i in (3, 4):  # single-band 16-bit: clipped to 8 bits, both would be white and "the same image"
        coarse = Image.fromarray((np.random.default_rng(i).random((4, 4)) * 3000 + 300).astype("float32"))
        smooth = np.asarray(coarse.resize((64, 64), Image.BICUBIC)).clip(300, 3300)  # 12-bit values, none below 300
        Image.fromarray(smooth.astype("uint16")).save(images / f"farm_{i}.tif")
    entries = [("farm_1.jpg", "train", ["a field"]), ("farm_2.tif", "test", ["a field"])]
    entries += [("farm_3.tif", "train", ["a field"]), ("farm_4.tif", "val", ["a field"])]
    karpathy(tmp_path, entries, name="t")

    report = audit(load_dataset(tmp_path))

    assert report.hashed == 3, "16-bit TIFFs are hashed through the raster reader"
    assert report.near_duplicates == [], "16-bit images are stretched, not clipped to white, before hashing"
    assert list(report.unreadable) == ["farm_1.jpg"] and "not a readable image" in report.unreadable["farm_1.jpg"]
    assert "unreadable images (not hashed): 1" in report.to_text()
