"""Loaders for every format, on small files written here, including broken ones."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from rsic_core.data.datasets import detect_format, load_dataset
from rsic_core.data.validation import validate
from tests.support.datasets import FIVE, jpg, karpathy


def test_karpathy_reads_splits_classes_and_images(tmp_path):
    karpathy(tmp_path, [("airport_1.jpg", "train", FIVE), ("beach_2.jpg", "test", FIVE[:3])])
    jpg(tmp_path / "RSICD_images" / "airport_1.jpg")
    jpg(tmp_path / "RSICD_images" / "beach_2.jpg")

    ds = load_dataset(tmp_path)

    assert (ds.format, ds.name, len(ds), ds.num_captions) == ("karpathy", "rsicd", 2, 8)
    assert ds.image_dir == tmp_path / "RSICD_images"
    assert ds.split_counts() == {"train": 1, "test": 1}
    assert ds.labels() == ["airport", "beach"]
    assert ds.select(split="test")[0].path == tmp_path / "RSICD_images" / "beach_2.jpg"
    assert ds.problems == []
    assert validate(ds).ok


def test_karpathy_missing_image_truncated_jpeg_and_empty_caption_are_reported(tmp_path):
    karpathy(
        tmp_path,
        [
            ("airport_1.jpg", "train", FIVE),
            ("airport_2.jpg", "train", FIVE),  # file missing
            ("harbor_3.jpg", "val", FIVE),  # truncated
            ("forest_4.jpg", "test", ["a dense forest", "   ", "green trees"]),
        ],
    )
    for name in ("airport_1.jpg", "harbor_3.jpg", "forest_4.jpg"):
        jpg(tmp_path / "images" / name)
    jpeg = (tmp_path / "images" / "harbor_3.jpg").read_bytes()
    (tmp_path / "images" / "harbor_3.jpg").write_bytes(jpeg[: len(jpeg) // 2])

    ds = load_dataset(tmp_path)
    report = validate(ds)

    assert len(ds) == 4, "every entry with a filename is kept"
    messages = [str(p) for p in report.problems]
    assert any("airport_2.jpg" in m and "image file is missing" in m for m in messages)
    assert any("harbor_3.jpg" in m and "not a readable image (corrupt or truncated" in m for m in messages)
    assert any("images[3] (forest_4.jpg)" in m and "caption 2 is empty; dropped" in m for m in messages)
    assert ds.get("forest_4.jpg").captions == ["a dense forest", "green trees"]
    assert report.missing_images == ["airport_2.jpg"]
    assert list(report.unreadable_images) == ["harbor_3.jpg"]
    assert report.empty_captions == 1
    assert {s.split: (s.missing_images, s.unreadable_images) for s in report.splits} == {
        "train": (1, 0),
        "val": (0, 1),
        "test": (0, 0),
    }


def test_malformed_json_names_file_line_and_column(tmp_path):
    (tmp_path / "dataset_rsicd.json").write_text('{"images": [{"filename": "a.jpg",, }]}')
    with pytest.raises(
        ValueError, match=r"dataset_rsicd\.json: not valid JSON \(line 1, column 34\): Expecting property name"
    ):
        load_dataset(tmp_path)


def test_karpathy_entry_without_filename_is_skipped_and_named(tmp_path):
    file = tmp_path / "dataset_x.json"
    file.write_text(
        json.dumps(
            {
                "images": [
                    {"split": "train", "sentences": [{"raw": "a field"}]},
                    {"filename": "farm_1.jpg", "split": "train", "sentences": [{"raw": "a field"}]},
                ]
            }
        )
    )
    ds = load_dataset(file)
    assert [r.image_id for r in ds.records] == ["farm_1.jpg"]
    assert any(p.entry == "images[0]" and "no 'filename'" in p.message for p in ds.problems)


def test_ucm_numbers_map_to_classes(tmp_path):
    karpathy(tmp_path, [("1.tif", "train", FIVE), ("2100.tif", "test", FIVE), ("205.tif", "val", FIVE)], name="ucm")
    ds = load_dataset(tmp_path)
    assert [r.label for r in ds.records] == ["agricultural", "tenniscourt", "baseballdiamond"]


def test_nwpu_layout(tmp_path):
    data = {
        "airport": [
            {
                "filename": "airport_001.jpg",
                "imgid": 0,
                "split": "train",
                "raw": "an airport .",
                "raw_1": "planes at an airport .",
                "raw_2": "",
                "raw_3": "a runway .",
                "raw_4": "an apron .",
                "sentids": 0,
                "sentids_1": 1,
                "sentids_2": 2,
                "sentids_3": 3,
                "sentids_4": 4,
            }
        ],
        "beach": [
            {
                "filename": "beach_001.jpg",
                "imgid": 1,
                "split": "test",
                "raw": "a beach .",
                "raw_1": "b",
                "raw_2": "c",
                "raw_3": "d",
                "raw_4": "e",
            }
        ],
    }
    (tmp_path / "dataset_nwpu.json").write_text(json.dumps(data))
    jpg(tmp_path / "NWPU_images" / "airport" / "airport_001.jpg")

    ds = load_dataset(tmp_path)

    assert ds.format == "nwpu" and ds.labels() == ["airport", "beach"]
    airport = ds.get("airport/airport_001.jpg")
    assert airport.has_image and airport.captions == [
        "an airport .",
        "planes at an airport .",
        "a runway .",
        "an apron .",
    ]
    assert not ds.get("beach/beach_001.jpg").has_image
    assert any("airport[0] (airport_001.jpg)" in str(p) and "caption 3 is empty" in str(p) for p in ds.problems)


def test_risc_csv_with_a_malformed_row(tmp_path):
    rows = [
        "source,split,image,caption_1,caption_2,caption_3,caption_4,caption_5",
        "NWPU,train,NWPU_1.jpg,a plane,two planes,an airport,a runway,planes parked",
        'UCM,test,UCM_7.jpg,a beach,the sea,sand,waves,"a beach, with waves"',
        "RSICD,val,RSICD_3.jpg,broken row",
    ]
    (tmp_path / "captions.csv").write_text("\n".join(rows) + "\n")
    jpg(tmp_path / "resized" / "NWPU_1.jpg")
    jpg(tmp_path / "resized" / "UCM_7.jpg")

    ds = load_dataset(tmp_path)

    assert ds.format == "risc" and ds.sources() == ["NWPU", "UCM"]
    assert ds.split_counts() == {"train": 1, "test": 1}
    assert ds.get("UCM_7.jpg").captions[-1] == "a beach, with waves"
    assert [str(p) for p in ds.problems] == [
        f"{tmp_path / 'captions.csv'}: row 4: expected 8 columns, found 4; skipped"
    ]


def test_generic_csv_one_row_per_caption_is_merged(tmp_path):
    (tmp_path / "labels.csv").write_text(
        "image,caption,split,class\n"
        "a.png,a red roof,train,residential\n"
        "a.png,houses with red roofs,train,residential\n"
        ",orphan caption,train,x\n"
        "b.png,a river,test,river\n"
    )
    Image.new("RGB", (64, 64)).save(tmp_path / "a.png")
    Image.new("RGB", (64, 64)).save(tmp_path / "b.png")

    ds = load_dataset(tmp_path)

    assert ds.format == "generic"
    assert ds.get("a.png").captions == ["a red roof", "houses with red roofs"]
    assert ds.get("b.png").label == "river" and ds.get("b.png").split == "test"
    assert any(p.entry == "row 4" and "no image name" in p.message for p in ds.problems)


def test_generic_jsonl_with_a_malformed_line_and_tif(tmp_path):
    (tmp_path / "data.jsonl").write_text(
        json.dumps({"image": "x.tif", "captions": ["a bridge over a river", "a bridge"]})
        + "\n"
        + "{not json\n"
        + json.dumps({"image": "y.tif", "captions": ["a farm"], "split": "val"})
        + "\n"
    )
    Image.new("RGB", (256, 256), (10, 200, 30)).save(tmp_path / "x.tif")
    ds = load_dataset(tmp_path / "data.jsonl")
    assert [r.image_id for r in ds.records] == ["x.tif", "y.tif"]
    assert any(p.entry == "line 2" and "not valid JSON" in p.message for p in ds.problems)
    report = validate(ds)
    assert report.missing_images == ["y.tif"] and report.unreadable_images == {}


def test_folder_without_annotations_says_what_it_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FileNotFoundError, match="found no annotation file"):
        detect_format(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_dataset(tmp_path / "nope")


def test_real_samples(shared_data):
    ucm = load_dataset(shared_data / "ucm-sample")
    assert len(ucm) == 42 and ucm.num_captions == 210 and len(ucm.labels()) == 21
    report = validate(ucm)
    assert report.ok and report.duplicate_captions > 0  # UCM pads references with copies
    image = ucm.records[0].load_image()  # real UC Merced TIFF, read lazily
    assert image.size == (256, 256) and image.mode == "RGB"

    sydney = load_dataset(shared_data / "sydney-captions" / "dataset_sydney.json")
    assert sydney.split_counts() == {"train": 497, "val": 58, "test": 58}
    assert sydney.num_captions == 3065
    report = validate(sydney, check_images=False)
    assert len(report.missing_images) == 613
    assert "looked in" in "\n".join(report.summary())
    with pytest.raises(ValueError, match=r"1\.tif \(image 1\.tif\): no such image file"):
        sydney.records[0].load_image()


def test_image_paths_that_leave_the_dataset_folder_are_skipped_and_never_opened(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    jpg(secret / "private.jpg")
    root = tmp_path / "ds"
    jpg(root / "images" / "farm_1.jpg")
    jpg(root / "images" / "sub" / "farm_2.jpg")
    (root / "images" / "link.jpg").symlink_to(secret / "private.jpg")  # a link leading out
    (root / "images" / "inner.jpg").symlink_to(root / "images" / "farm_1.jpg")  # a link that stays inside
    (root / "images" / "out").symlink_to(secret, target_is_directory=True)
    names = [
        "farm_1.jpg",
        "sub/farm_2.jpg",
        "sub/../farm_1.jpg",  # climbs, but stays inside
        "inner.jpg",
        "../../secret/private.jpg",
        str(secret / "private.jpg"),  # absolute
        "link.jpg",
        "out/private.jpg",
    ]
    karpathy(root, [(name, "train", FIVE) for name in names])

    ds = load_dataset(root)

    assert [r.image_id for r in ds.records] == names[:4] and all(r.has_image for r in ds.records)
    outside = [p for p in ds.problems if "outside the dataset folder" in p.message]
    assert [p.entry for p in outside] == [f"image {name}" for name in names[4:]]
    assert all(p.message.endswith("not opened, entry skipped") for p in outside)
    assert validate(ds).unreadable_images == {}


def test_a_json_that_is_not_a_dataset_is_refused_without_quoting_it(tmp_path):
    secrets = {"api_key": "s3cr3t-token", "hosts": ["db.internal"], "nested": {"password": "hunter2"}}
    for name, content in {
        "settings.json": secrets,
        "lists.json": {"tokens": ["s3cr3t-token"], "names": [{"user": "hunter2"}]},
        "images.json": {"images": ["s3cr3t-token", "hunter2"]},
    }.items():
        (tmp_path / name).write_text(json.dumps(content))
        with pytest.raises(ValueError, match="not a captioning dataset") as error:
            load_dataset(tmp_path / name)
        assert (
            "s3cr3t" not in str(error.value) and "hunter2" not in str(error.value) and "api_key" not in str(error.value)
        )
    (tmp_path / "rows.jsonl").write_text(json.dumps({"user": "hunter2"}) + "\n")
    with pytest.raises(ValueError, match="not a captioning dataset") as error:
        load_dataset(tmp_path / "rows.jsonl")
    assert "hunter2" not in str(error.value)
    with pytest.raises((ValueError, FileNotFoundError), match="not a captioning dataset") as error:
        load_dataset(tmp_path)  # the folder of them
    assert "hunter2" not in str(error.value) and "s3cr3t" not in str(error.value)


def test_an_image_folder_that_is_itself_a_link_is_the_dataset_folder(tmp_path):
    jpg(tmp_path / "big-disk" / "ucm" / "farm_1.jpg")  # images kept on another disk, linked in: common
    karpathy(tmp_path / "ds", [("farm_1.jpg", "train", FIVE)])
    (tmp_path / "ds" / "images").symlink_to(tmp_path / "big-disk" / "ucm", target_is_directory=True)
    ds = load_dataset(tmp_path / "ds")
    assert ds.records[0].has_image and ds.problems == [] and validate(ds).ok


KARPATHY_ENTRY = {"filename": "farm_1.jpg", "split": "train", "sentences": [{"raw": "a green field"}]}
NWPU_ENTRY = {"filename": "farm_1.jpg", "split": "train", "raw": "a green field"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("labels.json", json.dumps({"images": [KARPATHY_ENTRY]}), "karpathy"),  # any name: the fields tell
        ("dataset_x.json", json.dumps({"farm": [NWPU_ENTRY]}), "nwpu"),
        ("captions.csv", "source,split,image,caption_1\nUCM,train,farm_1.jpg,a green field\n", "risc"),
        ("rows.csv", "file_name,sentence\nfarm_1.jpg,a green field\n", "generic"),
        ("rows.jsonl", json.dumps({"path": "farm_1.jpg", "captions": ["a green field"]}) + "\n", "generic"),
    ],
)
def test_each_format_is_told_by_its_fields(tmp_path, name, content, expected):
    (tmp_path / name).write_text(content)
    jpg(tmp_path / "images" / "farm_1.jpg")
    assert detect_format(tmp_path) == (expected, tmp_path / name)
    ds = load_dataset(tmp_path)
    assert ds.format == expected and [r.captions for r in ds.records] == [["a green field"]]


@pytest.mark.parametrize(
    "content",
    [
        {"images": [{"filename": "farm_1.jpg", "width": 256}]},  # image entries without sentences
        {"images": []},
        {"farm": [{"filename": "farm_1.jpg", "size": 3}]},  # class -> entries without 'raw'
        {"images": [{"file_name": "a.jpg", "id": 1}], "annotations": [{"image_id": 1, "caption": "a"}]},  # COCO
        {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": None},  # a save_to_disk state.json
    ],
)
def test_json_that_only_looks_like_a_format_is_refused(tmp_path, content):
    file = tmp_path / "dataset_x.json"
    file.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=rf"^{file}: not a captioning dataset: expected the Karpathy layout"):
        load_dataset(file)
    with pytest.raises(ValueError, match=rf"^{tmp_path}: not a captioning dataset: .*\(none of its 1 \.json"):
        load_dataset(tmp_path)


def test_a_folder_picks_its_dataset_over_unrelated_json(tmp_path):
    """The bug of the trial: any unrelated JSON beside the annotations loaded as an empty NWPU-Captions."""
    jpg(tmp_path / "images" / "farm_1.jpg")
    (tmp_path / "captions.json").write_text(json.dumps({"images": [KARPATHY_ENTRY], "dataset": "farms"}))
    (tmp_path / "annotations.json").write_text(json.dumps({"files": [{"filename": "farm_1.jpg", "bytes": 3}]}))
    (tmp_path / "dataset_info.json").write_text(json.dumps({"description": "", "features": {"filename": {}}}))
    (tmp_path / "config.json").write_text(json.dumps({"images": ["logo.png"], "filename": "x"}))

    ds = load_dataset(tmp_path)

    assert (ds.format, ds.name, ds.annotation_file) == ("karpathy", "farms", tmp_path / "captions.json")
    assert len(ds) == 1 and ds.problems == [] and validate(ds).ok

    csv_folder = tmp_path / "csv"
    jpg(csv_folder / "farm_1.jpg")
    (csv_folder / "rows.csv").write_text("image,caption\nfarm_1.jpg,a green field\n")
    (csv_folder / "dataset_meta.json").write_text(json.dumps({"farm": [{"filename": "farm_1.jpg"}]}))
    assert detect_format(csv_folder) == ("generic", csv_folder / "rows.csv")


def test_a_broken_annotation_file_is_named_when_nothing_else_in_the_folder_is_a_dataset(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"theme": "dark"}))
    (tmp_path / "dataset_rsicd.json").write_text('{"images": [{"filename": "a.jpg"')  # cut off mid-download
    with pytest.raises(ValueError, match=r"dataset_rsicd\.json: not valid JSON \(line 1, column 33\)"):
        load_dataset(tmp_path)
    jpg(tmp_path / "a.jpg")
    (tmp_path / "rows.csv").write_text("image,caption\na.jpg,a field\n")
    assert load_dataset(tmp_path).format == "generic"  # a readable dataset beside it wins
