"""The hub's layout: parquet files (or a ``save_to_disk`` folder) with an image column of bytes, read offline.

Every dataset here is written by the ``datasets`` library itself (``Dataset.from_dict(...).cast_column(
"image", Image())`` then ``to_parquet`` or ``save_to_disk``), as the files users download are.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from rsic_core.cli import main
from rsic_core.data.datasets import detect_format, load_dataset
from rsic_core.data.thumbnails import make_thumbnail
from rsic_core.data.validation import validate
from tests.support.captioning import CAPTIONS, COLOURS

SCENES = {  # RSICD-style names: the class is the part before the number
    "airport_1.png": ((200, 30, 30), "train"),
    "beach_2.png": ((30, 200, 30), "train"),
    "forest_3.png": ((30, 30, 200), "train"),
    "harbor_4.png": ((200, 200, 30), "test"),
    "river_5.png": ((30, 200, 200), "test"),
}


def png(colour, size=(24, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def hub_dataset(columns: dict):
    """A ``datasets.Dataset`` whose ``image`` column is the Image feature (cells of bytes and path)."""
    import datasets

    datasets.disable_progress_bars()
    return datasets.Dataset.from_dict(columns).cast_column("image", datasets.Image())


def five(name: str) -> list[str]:
    return [f"caption {i} of {name.split('_')[0]}" for i in range(5)]


def rsicd_like(root, split_of=lambda s: s):
    """``data/train-00000-of-00001.parquet`` and ``data/test-...``: filename, image, captions (a list)."""
    for split in ("train", "test"):
        names = [n for n, (_, s) in SCENES.items() if s == split]
        hub_dataset(
            {
                "filename": names,
                "image": [{"bytes": png(SCENES[n][0]), "path": n} for n in names],
                "captions": [five(n) for n in names],
            }
        ).to_parquet(str(root / "data" / f"{split_of(split)}-00000-of-00001.parquet"))
    return root


def test_rsicd_like_parquet_files_load_with_splits_classes_and_lazy_images(tmp_path):
    root = rsicd_like(tmp_path / "rsicd")

    ds = load_dataset(root)

    assert (ds.format, ds.name, len(ds), ds.num_captions) == ("hub", "rsicd", 5, 25)
    assert detect_format(root) == ("hub", root) and ds.problems == []
    assert ds.split_counts() == {"train": 3, "test": 2}
    assert ds.labels() == ["airport", "beach", "forest", "harbor", "river"]
    harbor = ds.get("harbor_4.png")
    assert (harbor.split, harbor.captions) == ("test", five("harbor_4.png"))
    assert str(harbor.path) == f"{root}/data/test-00000-of-00001.parquet#row=0"  # a path inside the folder
    for name, (colour, _) in SCENES.items():  # each record opens its own row, decoded now
        image = ds.get(name).load_image()
        assert image.size == (24, 20) and image.getpixel((3, 3)) == colour, name
    thumb = make_thumbnail(str(harbor.path), size=8)  # the Explorer's and Compare's gallery
    assert Image.open(io.BytesIO(thumb.data)).size == (8, 7) and thumb.note is None
    report = validate(ds)
    assert report.ok and report.images_checked and report.unreadable_images == {}


def test_images_are_decoded_only_when_opened(tmp_path):
    """A cell whose bytes are no image loads without a problem; validation and opening it name the row."""
    from rsic_core.data.images import load_image

    file = tmp_path / "ds" / "data" / "train-00000-of-00001.parquet"
    hub_dataset(
        {
            "image": [{"bytes": png((1, 2, 3)), "path": "good.png"}, {"bytes": b"not an image", "path": "bad.png"}],
            "captions": [["a field"], ["a road"]],
        }
    ).to_parquet(str(file))

    ds = load_dataset(tmp_path / "ds")

    assert [r.image_id for r in ds.records] == ["good.png", "bad.png"] and ds.problems == []
    report = validate(ds)
    assert list(report.unreadable_images) == ["bad.png"]
    assert [str(p) for p in report.problems] == [
        f"{file}#row=1: image bad.png: not a readable image (unknown format or corrupt file)"
    ]
    with pytest.raises(ValueError, match=r"parquet#row=1 \(image bad\.png\): not a readable image"):
        ds.get("bad.png").load_image()
    with pytest.raises(ValueError, match=r"parquet#row=7: no row 7 \(the file has 2\)"):
        load_image(f"{file}#row=7")


def test_one_caption_per_row_and_a_split_column(tmp_path):
    rows = [
        ("a.png", "a red roof", "train"),
        ("a.png", "red roofs of houses", "train"),
        ("b.png", "a lake", "validation"),
    ]
    rows += [("a.png", "a third caption", "train"), ("c.png", "a road", "")]
    hub_dataset(
        {
            "image": [{"bytes": png((9, 9, 9)), "path": name} for name, _, _ in rows],
            "text": [caption for _, caption, _ in rows],
            "split": [split for _, _, split in rows],
        }
    ).to_parquet(str(tmp_path / "captions.parquet"))

    ds = load_dataset(tmp_path / "captions.parquet")

    assert ds.format == "hub" and [r.image_id for r in ds.records] == ["a.png", "b.png", "c.png"]
    assert ds.get("a.png").captions == ["a red roof", "red roofs of houses", "a third caption"]
    assert ds.get("a.png").file == "captions.parquet#row=0"  # the image's first row
    assert ds.split_counts() == {"train": 2, "val": 1}  # 'validation' is this project's 'val'
    assert [str(p) for p in ds.problems] == [
        f"{tmp_path / 'captions.parquet'}: split: no split in the file names or a 'split' column: 1 images put in train"
    ]


def test_a_save_to_disk_folder_with_sentences_and_class_labels(tmp_path):
    import datasets

    def part(names):
        return hub_dataset(
            {
                "image": [{"bytes": png(SCENES[n][0]), "path": None} for n in names],  # no path in the cells
                "sentences": [[{"raw": c, "tokens": c.split()} for c in five(n)] for n in names],
                "label": [list(SCENES).index(n) for n in names],
            }
        ).cast_column("label", datasets.ClassLabel(names=[n.split("_")[0] for n in SCENES]))

    names = list(SCENES)
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": part(names[:3]), "validation": part(names[3:])}).save_to_disk(str(folder))

    ds = load_dataset(folder)

    assert ds.format == "hub" and ds.problems == [] and ds.split_counts() == {"train": 3, "val": 2}
    river = ds.records[4]
    assert river.image_id == "validation/data-00000-of-00001.arrow#row=1"  # no file name anywhere: the row
    assert (river.label, river.captions) == ("river", five("river_5.png"))
    assert river.load_image().getpixel((0, 0)) == SCENES["river_5.png"][0]
    assert validate(ds).ok


def test_a_cell_with_only_a_relative_path_names_an_image_file_in_the_folder(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8), (5, 6, 7)).save(root / "images" / "kept.png")
    (tmp_path / "secret.png").write_bytes(png((1, 1, 1)))
    import pyarrow as pa
    import pyarrow.parquet as pq

    cells = [{"bytes": None, "path": "images/kept.png"}, {"bytes": None, "path": "../secret.png"}]
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # what datasets writes, without the bytes
    pq.write_table(pa.table({"image": pa.array(cells, image), "caption": ["a", "b"]}), root / "train.parquet")

    ds = load_dataset(root)

    assert [r.image_id for r in ds.records] == ["images/kept.png"]
    assert ds.records[0].load_image().getpixel((0, 0)) == (5, 6, 7)
    assert [p.message for p in ds.problems] == [
        f"image path leads outside the dataset folder ({root}); not opened, entry skipped"
    ]


def test_evaluate_a_model_on_two_images_of_a_hub_dataset(taught_model_dir, tmp_path, capsys):
    """The taught model captions each colour right only if it sees the colour stored in that row."""
    names = list(CAPTIONS)
    for split, chosen in (("train", names[:1]), ("test", names)):
        hub_dataset(
            {
                "image": [{"bytes": png(COLOURS[n], (48, 40)), "path": f"{split}-{n}.png"} for n in chosen],
                "captions": [[CAPTIONS[n], f"a {n} scene"] for n in chosen],
            }
        ).to_parquet(str(tmp_path / "colours" / "data" / f"{split}-00000-of-00001.parquet"))
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(taught_model_dir), "--data", str(tmp_path / "colours"), "--out", str(out)]
    code = main([*argv, "--eval-limit", "2", "--no-eval-efficiency", "--metrics", "bleu"])

    assert code == 0, capsys.readouterr()
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    chosen = json.loads((out / "config.json").read_text())["subset"]["image_ids"]  # a seeded sample of 2 of the 3
    assert [p["image_id"] for p in predictions] == chosen and len(set(chosen)) == 2
    assert [p["prediction"] for p in predictions] == [CAPTIONS[i.split("-")[1][:-4]] for i in chosen]
    assert json.loads((out / "metrics.json").read_text())["corpus"]["BLEU-4"] > 0.9


def test_a_training_batch_of_a_hub_dataset_sees_each_row_s_image(taught_model_dir, tmp_path):
    """The collator opens the rows by their paths: the taught captions fit their own images far better."""
    import torch

    from rsic_core.models.registry import load_captioner
    from rsic_core.training.collators import CaptionCollator, caption_pairs

    names = list(CAPTIONS)
    hub_dataset(
        {
            "image": [{"bytes": png(COLOURS[n], (48, 40)), "path": f"{n}.png"} for n in names],
            "caption": [CAPTIONS[n] for n in names],
        }
    ).to_parquet(str(tmp_path / "train.parquet"))
    pairs = caption_pairs(load_dataset(tmp_path / "train.parquet").records)
    captioner = load_captioner(taught_model_dir, device="cpu")
    collate = CaptionCollator(captioner.family, captioner.processor)
    shifted = [dict(p, caption=pairs[(i + 1) % len(pairs)]["caption"]) for i, p in enumerate(pairs)]
    with torch.no_grad():
        right, wrong = (captioner.model(**collate(batch)).loss.item() for batch in (pairs, shifted))
    assert collate.skipped == [] and len(pairs) == 3
    assert right < wrong / 2, (right, wrong)


def test_the_real_ucm_sample_converted_to_the_hub_layout_reads_as_the_karpathy_file(shared_data, tmp_path):
    karpathy = load_dataset(shared_data / "ucm-sample")
    root = tmp_path / "ucm-sample-hub"  # the name tells UCM, as the Karpathy file's does
    for split in karpathy.split_counts():
        records = karpathy.select(split=split)
        hub_dataset(
            {
                "filename": [r.image_id for r in records],
                "image": [{"bytes": r.path.read_bytes(), "path": r.file} for r in records],
                "sentences": [[{"raw": c} for c in r.captions] for r in records],
            }
        ).to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))

    hub = load_dataset(root)

    def fields(ds):
        return [(r.image_id, r.split, r.captions, r.label, r.has_image) for r in ds.records]

    assert fields(hub) == fields(karpathy) and hub.problems == []
    for k, h in zip(karpathy.records[:3], hub.records[:3]):  # the same TIFF bytes, decoded alike
        assert h.load_image().tobytes() == k.load_image().tobytes()
    assert validate(hub).ok
