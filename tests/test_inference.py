"""Batched captioning and safe image loading: what a user sees for good, broken and huge images."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from rsic_core.data.images import load_image
from rsic_core.models.inference import CaptionConfig, caption_images
from rsic_core.models.registry import load_captioner
from tests.support.captioning import CAPTIONS, COLOURS, colour_images

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def taught(taught_model_dir):
    return load_captioner(taught_model_dir)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    """The three colour images as jpg, png and 16-bit tif files, a corrupt file and a huge one."""
    folder = tmp_path_factory.mktemp("images")
    red, green, blue = colour_images()
    red.save(folder / "red.jpg", quality=95)
    green.convert("RGBA").save(folder / "green.png")
    blue.save(folder / "blue.tif")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.new("1", (12000, 12000)).save(folder / "huge.png")  # 144 megapixels, a few kB on disk
    return folder


def test_results_come_back_in_input_order_with_errors_in_place(taught, image_files):
    names = ["red.jpg", "broken.jpg", "green.png", "huge.png", "blue.tif"]
    results = caption_images(taught, [str(image_files / n) for n in names], CaptionConfig(batch_size=2))
    assert [r.name for r in results] == [str(image_files / n) for n in names]
    assert [r.caption for r in results if r.ok] == list(CAPTIONS.values())
    broken, huge = results[1], results[3]
    assert "broken.jpg" in broken.error and "not a readable image" in broken.error and broken.caption == ""
    assert "huge.png" in huge.error and "12000 x 12000" in huge.error
    assert all(r.seconds > 0 for r in results if r.ok)


def test_batch_size_and_beam_search_keep_the_captions(taught):
    images = colour_images() * 3
    one_by_one = caption_images(taught, images, CaptionConfig(batch_size=1))
    batched = caption_images(taught, images, CaptionConfig(batch_size=4))
    beams = caption_images(taught, images, CaptionConfig(batch_size=4, gen_num_beams=5))
    expected = list(CAPTIONS.values()) * 3
    assert [r.caption for r in one_by_one] == [r.caption for r in batched] == [r.caption for r in beams] == expected


def test_progress_is_reported_per_batch_and_length_is_capped(taught):
    calls = []
    results = caption_images(
        taught,
        colour_images() * 2,
        CaptionConfig(batch_size=4, gen_max_new_tokens=2),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(4, 6), (6, 6)]
    tokenizer = taught.processor.tokenizer
    assert all(len(tokenizer(r.caption, add_special_tokens=False)["input_ids"]) <= 2 for r in results)


def test_uploads_as_bytes_and_file_objects_are_read():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), COLOURS["red"]).save(buffer, format="PNG")

    class Upload(io.BytesIO):
        name = "upload.png"

    assert load_image(buffer.getvalue()).size == (20, 10)
    assert load_image(Upload(buffer.getvalue())).mode == "RGB"
    with pytest.raises(ValueError, match="upload.png: the file is empty"):
        load_image(Upload(b""))


def test_sixteen_bit_rasters_are_stretched_to_visible_grey(tmp_path):
    band = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 3 + 1000).astype(np.uint16)
    Image.fromarray(band).save(tmp_path / "band.tif")
    image = np.asarray(load_image(tmp_path / "band.tif"))
    assert image.shape == (64, 64, 3) and image.min() == 0 and image.max() == 255


def test_limits_are_enforced_before_decoding(tmp_path):
    Image.new("RGB", (300, 300)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match="big.png: 300 x 300 pixels is larger than the limit"):
        load_image(tmp_path / "big.png", max_pixels=200 * 200)
    with pytest.raises(ValueError, match="larger than the 0 MB limit"):
        load_image(tmp_path / "big.png", max_bytes=100)
    with pytest.raises(ValueError, match="no such image file"):
        load_image(tmp_path / "missing.jpg")


def test_rsic_caption_writes_one_json_line_per_image_and_fails_when_any_image_does(
    taught_model_dir, image_files, tmp_path, capsys
):
    from rsic_core.cli import main

    out = tmp_path / "preds.jsonl"
    code = main(
        [
            "caption",
            str(image_files / "red.jpg"),
            str(image_files / "broken.jpg"),
            str(image_files / "blue.tif"),
            str(tmp_path / "missing.png"),
            "--model",
            str(taught_model_dir),
            "--gen-num-beams",
            "5",
            "--out",
            str(out),
        ]
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 1 and len(lines) == 4  # like `rsic data validate`: a failure shows in the exit status
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rsic: error:")]
    assert len(errors) == 2 and "broken.jpg" in errors[0] and "missing.png" in errors[1]
    assert lines[0]["caption"] == CAPTIONS["red"] and lines[2]["caption"] == CAPTIONS["blue"]
    assert lines[1]["caption"] == "" and "broken.jpg" in lines[1]["error"]


def test_rsic_caption_exits_0_when_every_image_is_captioned(taught_model_dir, image_files, tmp_path):
    from rsic_core.cli import main

    assert (
        main(
            [
                "caption",
                str(image_files / "red.jpg"),
                "--model",
                str(taught_model_dir),
                "--out",
                str(tmp_path / "p.jsonl"),
            ]
        )
        == 0
    )


def test_progress_is_one_line_per_step_in_a_log_and_one_rewritten_line_on_a_terminal():
    import io

    from rsic_core.cli.outputs import progress_printer

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        progress = progress_printer("images captioned", stream)
        progress(8, 12)
        progress(12, 12)
    assert log.getvalue() == "8/12 images captioned\n12/12 images captioned\n"
    assert terminal.getvalue() == "\r8/12 images captioned\r12/12 images captioned\n"


def test_rsic_caption_reports_a_missing_model_in_one_line(image_files, capsys):
    from rsic_core.cli import main

    assert main(["caption", str(image_files / "red.jpg"), "--model", "nobody/nothing"]) == 2
    assert "nobody/nothing" in capsys.readouterr().err


def test_token_limits_are_capped_at_the_model_context_and_say_so(image_files):
    from rsic_core.models.inference import fit_token_limits, prompt_length
    from rsic_core.models.registry import build_tiny

    captioner = build_tiny("paligemma", text={"max_position_embeddings": 40})
    used = prompt_length(captioner)
    real = captioner.family.encode(captioner.processor, colour_images()[:1])["input_ids"].shape[1]
    assert used == real and 16 < used < 40  # 16 image tokens, BOS, "caption en" and the closing newline
    config, note = fit_token_limits(captioner, CaptionConfig(gen_max_new_tokens=2000, gen_min_new_tokens=2000))
    assert config.gen_max_new_tokens == config.gen_min_new_tokens == 40 - used
    assert note == (
        f"gen_max_new_tokens 2000 and gen_min_new_tokens 2000 capped at {40 - used}: "
        f"the model's context holds 40 tokens and the prompt takes {used}"
    )
    assert fit_token_limits(captioner, CaptionConfig(gen_max_new_tokens=5)) == (
        CaptionConfig(gen_max_new_tokens=5),
        None,
    )
    results = caption_images(captioner, [str(image_files / "red.jpg")], CaptionConfig(gen_max_new_tokens=2000))
    tokens = captioner.processor.tokenizer(results[0].caption, add_special_tokens=False)["input_ids"]
    assert results[0].note.startswith(f"gen_max_new_tokens 2000 capped at {40 - used}") and len(tokens) <= 40 - used


def test_a_shortest_caption_longer_than_the_longest_is_refused():
    with pytest.raises(ValueError, match=r"gen_min_new_tokens \(2000\) is greater than gen_max_new_tokens \(30\)"):
        CaptionConfig(gen_min_new_tokens=2000)
    with pytest.raises(ValueError, match="gen_min_new_tokens must be 0 or more"):
        CaptionConfig(gen_min_new_tokens=-1)


def test_results_come_batch_by_batch_in_input_order(taught):
    from rsic_core.models.inference import iter_captions

    batches = list(iter_captions(taught, colour_images() + ["missing.png"], CaptionConfig(batch_size=2)))
    assert [[r.name for r in batch] for batch in batches] == [["<image>", "<image>"], ["<image>", "missing.png"]]
    assert [r.caption for batch in batches for r in batch][:3] == list(CAPTIONS.values())
    assert batches[1][1].error == "missing.png: no such image file" and batches[1][1].note is None


def test_eight_parallel_captioners_on_one_model_folder_do_not_collide(taught_model_dir, image_files):
    """Eight threads, half sharing one loaded model (app sessions), half loading their own (commands)."""
    from concurrent.futures import ThreadPoolExecutor

    shared = load_captioner(taught_model_dir)
    images = [str(image_files / n) for n in ("red.jpg", "green.png", "blue.tif")]

    def work(i: int) -> list[str]:
        captioner = shared if i % 2 else load_captioner(taught_model_dir)
        return [r.caption for r in caption_images(captioner, images * 2, CaptionConfig(batch_size=1 + i % 3))]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(work, range(8)))
    assert outputs == [list(CAPTIONS.values()) * 2] * 8


def test_rsic_caption_checks_out_before_loading_the_model(image_files, tmp_path, capsys):
    """A folder or a path under a file is refused first (the model named here does not even exist)."""
    from rsic_core.cli import main

    (tmp_path / "notes.txt").write_text("my notes\n")
    for out, expected in [
        (tmp_path, "is a folder; name a file in it"),
        (tmp_path / "notes.txt" / "x.jsonl", "notes.txt is a file, not a folder"),
        (tmp_path / "notes.txt", "exists and is not a predictions file of rsic caption"),
    ]:
        code = main(["caption", str(image_files / "red.jpg"), "--model", "nobody/nothing", "--out", str(out)])
        assert code == 2 and expected in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"


def test_rsic_caption_replaces_its_own_predictions_whole_and_leaves_no_partial_file(
    taught_model_dir, image_files, tmp_path, capsys
):
    from rsic_core.cli import main

    out = tmp_path / "preds.jsonl"
    out.write_text('{"image": "old.jpg", "caption": "an old caption"}\n')
    args = ["caption", str(image_files / "red.jpg"), str(image_files / "blue.tif"), "--model", str(taught_model_dir)]
    assert main([*args, "--out", str(out), "--batch-size", "1"]) == 0
    assert [json.loads(line)["caption"] for line in out.read_text().splitlines()] == [CAPTIONS["red"], CAPTIONS["blue"]]
    assert "(replacing the previous predictions)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl"]


def test_finished_lines_survive_an_interruption_and_the_output_is_untouched(tmp_path):
    from rsic_core.cli.outputs import StreamedLines

    out = tmp_path / "preds.jsonl"
    out.write_text("previous\n")
    with pytest.raises(KeyboardInterrupt), StreamedLines(out) as sink:
        sink.write(['{"image": "a.jpg"}', '{"image": "b.jpg"}'])
        raise KeyboardInterrupt
    assert out.read_text() == "previous\n"
    assert sink.partial.read_text() == '{"image": "a.jpg"}\n{"image": "b.jpg"}\n'
    with pytest.raises(FileExistsError):  # a second writer never shares the partial file
        StreamedLines(out).__enter__()


def test_a_full_disk_leaves_the_output_as_it_was_and_no_partial_file(tmp_path):
    import errno

    from rsic_core.cli.outputs import StreamedLines

    class FullDisk:
        """A real file whose second write fails as on a full disk."""

        def __init__(self, *args, **kwargs):
            self.file, self.writes = open(*args, **kwargs), 0

        def write(self, text):
            self.writes += 1
            if self.writes > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(text)

        def __getattr__(self, name):
            return getattr(self.file, name)

    out = tmp_path / "preds.jsonl"
    out.write_text("previous\n")
    with pytest.raises(OSError, match=r"could not write .*preds.jsonl \(No space left on device\); nothing was"):
        with StreamedLines(out, opener=FullDisk) as sink:
            sink.write(["line 1", "line 2"])
    assert out.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl"]
    new = tmp_path / "new.jsonl"
    with pytest.raises(OSError), StreamedLines(new, opener=FullDisk) as sink:
        sink.write(["line 1", "line 2"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl"]  # no 0-byte file, no partial


def four_band_tiff(path, seed: int = 0):
    """A 4-band 12-bit-in-16-bit GeoTIFF (blue, green, red, near infrared), written with rasterio."""
    import rasterio

    bands = np.random.default_rng(seed).integers(200, 4000, size=(4, 48, 48), dtype=np.uint16)
    profile = dict(driver="GTiff", width=48, height=48, count=4, dtype="uint16")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
    return path


def test_a_multi_band_16_bit_raster_is_captioned_with_a_note_on_the_bands_shown(taught, tmp_path):
    scene = four_band_tiff(tmp_path / "scene.tif")
    default, chosen = (
        caption_images(taught, [str(scene)], CaptionConfig(image_bands=bands))[0] for bands in ("", "4,3,2")
    )
    assert default.ok and default.caption and "16-bit, 4 bands: showed bands 1,2,3 (the first three)" in default.note
    assert chosen.ok and "showed bands 4,3,2 (chosen)" in chosen.note and "stretched" in chosen.note
    too_far = caption_images(taught, [str(scene)], CaptionConfig(image_bands="7,3,2"))[0]
    assert "there is no band 7: the image has 4 bands" in too_far.error
    assert caption_images(taught, colour_images()[:1])[0].note is None  # an ordinary image: nothing to say
    with pytest.raises(ValueError, match="image_bands: bands must be 1-based band numbers"):
        CaptionConfig(image_bands="4,x,2")


def test_rsic_caption_writes_the_note_and_takes_image_bands(taught_model_dir, image_files, tmp_path):
    from rsic_core.cli import main

    scene, out = four_band_tiff(tmp_path / "scene.tif"), tmp_path / "preds.jsonl"
    options = ["--model", str(taught_model_dir), "--out", str(out)]
    assert main(["caption", str(scene), *options, "--image-bands", "4,3,2"]) == 0
    assert "showed bands 4,3,2 (chosen)" in json.loads(out.read_text())["note"]
    assert main(["caption", str(scene), str(image_files / "red.jpg"), *options]) == 0
    raster, plain = [json.loads(line) for line in out.read_text().splitlines()]
    assert "showed bands 1,2,3 (the first three)" in raster["note"] and raster["caption"]
    assert "note" not in plain and plain["caption"] == CAPTIONS["red"]
