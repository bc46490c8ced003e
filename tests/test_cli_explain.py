"""``rsic explain``: per image a JSON of the caption and its word heatmaps, and an overlay per content word."""

from __future__ import annotations

import contextlib
import io
import json

from PIL import Image

from rsic_core.cli import main
from rsic_core.text.words import is_scene_word


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_explain_writes_the_caption_its_heatmaps_and_overlays(demo_dir, tmp_path, one_thread):
    images = (
        sorted((demo_dir / "images").glob("airport_*.jpg"))[:1] + sorted((demo_dir / "images").glob("parking_*"))[:1]
    )
    options = ["--gen-prompt", "describe en", "--gen-num-beams", 2]
    code, _, err = _run(["explain", *images, "--model", "demo", "--out", tmp_path / "ex", *options])
    assert code == 0, err
    assert "explained 2 of 2 images with lens" in err
    code, printed, _ = _run(["caption", *images, "--model", "demo", *options])
    captions = {json.loads(line)["image"]: json.loads(line)["caption"] for line in printed.splitlines()}
    for image in images:
        data = json.loads((tmp_path / "ex" / f"{image.stem}.json").read_text())
        assert data["caption"] == captions[str(image)]  # the caption rsic caption writes with the same options
        assert data["method"] == "lens" and data["grid"] == [5, 5] and data["image_size"] == [224, 224]
        assert [w["word"] for w in data["words"]] == data["caption"].split()
        assert all(len(w["heatmap"]) == 5 and all(len(r) == 5 for r in w["heatmap"]) for w in data["words"])
        overlays = sorted(p.name for p in (tmp_path / "ex").glob(f"{image.stem}.*.png"))
        content = {f"{image.stem}.{i}.{w['word']}.png" for i, w in enumerate(data["words"]) if is_scene_word(w["word"])}
        assert content and set(overlays) == content  # one per content word: planes, cars... not "the", "at"
        assert not any(f".{w}.png" in " ".join(overlays) for w in ("the", "at", "a", "is", "aerial", "image"))
        with Image.open(tmp_path / "ex" / overlays[0]) as shown:
            assert shown.size == (224, 224)


def test_explain_with_another_method_and_a_missing_image(demo_dir, tmp_path, one_thread):
    image = sorted((demo_dir / "images").glob("harbor_*.jpg"))[0]
    code, _, err = _run(["explain", image, tmp_path / "gone.jpg", "--method", "attention", "--out", tmp_path / "ex"])
    assert code == 1
    assert "gone.jpg: no such image file" in err and "explained 1 of 2 images with attention, 1 failed" in err
    assert json.loads((tmp_path / "ex" / f"{image.stem}.json").read_text())["method"] == "attention"


def test_explain_replaces_its_own_files_but_not_an_overlay_named_file_of_the_users(demo_dir, tmp_path, one_thread):
    image = sorted((demo_dir / "images").glob("harbor_*.jpg"))[0]
    argv = ["explain", image, "--model", "demo", "--out", tmp_path / "ex", "--gen-max-new-tokens", 4]
    assert _run(argv)[0] == 0
    code, _, err = _run(argv)  # a second run replaces what the first wrote
    assert code == 0, err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / f"{image.stem}.0.harbor.png").write_bytes(b"my own picture")
    code, _, err = _run([*argv[:2], "--model", "demo", "--out", tmp_path / "mine"])
    assert code == 2 and f"{image.stem}.0.harbor.png exists and was not written by rsic explain" in err
    assert (tmp_path / "mine" / f"{image.stem}.0.harbor.png").read_bytes() == b"my own picture"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [f"{image.stem}.0.harbor.png"]
