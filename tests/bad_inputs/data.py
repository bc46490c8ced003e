"""Bad inputs of datasets: image paths that leave their folder, files that are not datasets, broken text.

Library cases give the problems ``load_dataset`` (or ``validate``) found, all of them: each dataset
is built so that the one bad input is its only problem, which proves that a broken row is reported
once and nothing else went wrong, and the good rows (``good``) still load. Cases whose file holds
a secret check that the sentence does not quote it. The app's sidebar cases are in ``sidebar.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.bad_inputs import BadInput, Outcome, cli, loaded_images

SECRET = "s3cr3t-token-1234"
CAPTION = "a green field beside a road"


# --- inputs ----------------------------------------------------------------------------------------------------


def png_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (40, 160, 60)).save(path)
    return path


def karpathy_dataset(folder: Path, filenames: list[str], splits: list[str] | None = None, png: bool = True) -> Path:
    """A Karpathy dataset whose images ``filenames`` exist under ``folder/images`` (when ``png``)."""
    entries = []
    for i, name in enumerate(filenames):
        if png and "/" not in name and not name.startswith(".."):
            png_file(folder / "images" / name)
        split = splits[i] if splits else "train"
        entries.append({"filename": name, "imgid": i, "split": split, "sentences": [{"raw": CAPTION}]})
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "dataset_t.json").write_text(json.dumps({"images": entries, "dataset": "t"}))
    return folder


def _secret_file(tmp: Path) -> Path:
    (tmp / "secret").mkdir(exist_ok=True)
    return png_file(tmp / "secret" / "private.png")


def _climbing(tmp: Path) -> Path:
    _secret_file(tmp)
    return karpathy_dataset(tmp / "ds", ["a.png", "../../secret/private.png"])


def _absolute(tmp: Path) -> Path:
    return karpathy_dataset(tmp / "ds", ["a.png", str(_secret_file(tmp))])


def _file_link(tmp: Path) -> Path:
    folder = karpathy_dataset(tmp / "ds", ["a.png", "link.png"], png=False)
    png_file(folder / "images" / "a.png")
    (folder / "images" / "link.png").symlink_to(_secret_file(tmp))
    return folder


def _folder_link(tmp: Path) -> Path:
    """NWPU layout whose class folder ``beach`` is a link to a folder outside."""
    folder = tmp / "nwpu"
    png_file(folder / "NWPU_images" / "airport" / "airport_1.png")
    _secret_file(tmp)
    (folder / "NWPU_images" / "beach").symlink_to(tmp / "secret", target_is_directory=True)
    data = {
        "airport": [{"filename": "airport_1.png", "split": "train", "raw": CAPTION}],
        "beach": [{"filename": "private.png", "split": "train", "raw": CAPTION}],
    }
    (folder / "dataset_nwpu.json").write_text(json.dumps(data))
    return folder


def settings_json(tmp: Path) -> Path:
    file = tmp / "settings.json"
    file.write_text(json.dumps({"api_key": SECRET, "hosts": ["db.internal"], "nested": {"password": SECRET}}))
    return file


def _images_of_strings(tmp: Path) -> Path:
    file = tmp / "config.json"
    file.write_text(json.dumps({"images": [SECRET, "registry.internal/app:latest"]}))
    return file


def _jsonl_not_dataset(tmp: Path) -> Path:
    file = tmp / "events.jsonl"
    file.write_text(json.dumps({"user": "admin", "token": SECRET}) + "\n")
    return file


def _csv_without_captions(tmp: Path) -> Path:
    file = tmp / "files.csv"
    file.write_text(f"path,owner\n/etc/shadow,{SECRET}\n")
    return file


def _csv(tmp: Path, body: str, encoding: str = "utf-8") -> Path:
    """A generic CSV dataset whose images a.png ... e.png exist."""
    folder = tmp / "csv"
    for name in "abcde":
        png_file(folder / f"{name}.png")
    (folder / "captions.csv").write_bytes(body.encode(encoding))
    return folder


HEADER = "image,caption,split\n"


def _unclosed_quote(tmp: Path) -> Path:
    return _csv(tmp, HEADER + "a.png,a red roof,train\n" + 'b.png,"a river,test\n' + "c.png,a bridge,train\n" * 3)


def _quote_closed_later(tmp: Path) -> Path:
    return _csv(tmp, HEADER + 'a.png,a red roof,train\nb.png,"a river,test\nc.png,a "bridge",train\nd.png,x,val\n')


def _unclosed_quote_big(tmp: Path) -> Path:
    rows = "".join(f"c.png,caption {i} {'x' * 100},train\n" for i in range(2000))  # over the csv field limit
    return _csv(tmp, HEADER + "a.png,a red roof,train\n" + 'b.png,"a river,test\n' + rows)


def _latin1_csv(tmp: Path) -> Path:
    return _csv(tmp, HEADER + "a.png,a café by the road,train\n", encoding="latin-1")


def _latin1_json(tmp: Path) -> Path:
    folder = karpathy_dataset(tmp / "ds", ["a.png"])
    data = json.loads((folder / "dataset_t.json").read_text())
    data["images"][0]["sentences"] = [{"raw": "a café by the road"}]
    (folder / "dataset_t.json").write_bytes(json.dumps(data, ensure_ascii=False).encode("latin-1"))
    return folder


def _bom_json(tmp: Path) -> Path:
    folder = karpathy_dataset(tmp / "ds", ["a.png"])
    file = folder / "dataset_t.json"
    file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes())
    return folder


def deep_json(tmp: Path) -> Path:
    file = tmp / "dataset_deep.json"
    file.write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return file


def _deep_jsonl(tmp: Path) -> Path:
    png_file(tmp / "a.png")
    file = tmp / "rows.jsonl"
    file.write_text(json.dumps({"image": "a.png", "caption": CAPTION, "split": "train"}) + "\n" + "[" * 100_000 + "\n")
    return file


def fifo(path: Path) -> Path:
    """A named pipe at ``path``: opening it for reading waits for a writer that never comes."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def _fifo_in_folder(tmp: Path) -> Path:
    folder = tmp / "ds"
    png_file(folder / "images" / "a.png")
    fifo(folder / "dataset_t.json")
    return folder


def _long_first_line(tmp: Path) -> Path:
    """A JSONL whose first row carries a 40 MB field beside its image and caption."""
    png_file(tmp / "big" / "a.png")
    file = tmp / "big" / "rows.jsonl"
    row = {"image": "a.png", "caption": CAPTION, "split": "train", "meta": "x" * 40_000_000}
    file.write_text(json.dumps(row) + "\n")
    return file


# --- ways to give them to the project --------------------------------------------------------------------------


def problems(path, **kwargs) -> Outcome:
    """Every problem ``load_dataset`` reports, one per line, and the images that still load."""
    from rsic_core.data.datasets import load_dataset

    ds = load_dataset(path, **kwargs)
    return Outcome(message="\n".join(str(p) for p in ds.problems), loaded=loaded_images(ds))


def validated(path) -> Outcome:
    """Every problem ``validate`` reports with images decoded, one per line, and the images that still load."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.validation import validate

    ds = load_dataset(path)
    return Outcome(message="\n".join(str(p) for p in validate(ds).problems), loaded=loaded_images(ds))


def _read(path, expect: str = "caf\u00e9") -> Outcome:
    """:func:`problems` of a dataset whose caption must come out as written (``expect`` in it)."""
    from rsic_core.data.datasets import load_dataset

    captions = [c for r in load_dataset(path).records for c in r.captions]
    assert any(expect in c for c in captions), captions
    return problems(path)


def _summary(path) -> Outcome:
    """``rsic data validate`` of a dataset that reads cleanly: the line that says what was read."""
    read = _read(path, expect=CAPTION)
    outcome = cli(["data", "validate", path])
    first = outcome.output.splitlines()[0] if outcome.output else ""
    return Outcome(first, outcome.exit_code, outcome.output, stray=outcome.message + read.message, loaded=read.loaded)


def no_secret(outcome: Outcome) -> Outcome:
    assert SECRET not in outcome.message and "api_key" not in outcome.message, outcome.message
    return outcome


# --- cases -----------------------------------------------------------------------------------------------------

A, ABC = ("a.png",), ("a.png", "b.png", "c.png")  # the good rows of a partly bad dataset
OUTSIDE = r"outside the dataset folder .*; not opened, entry skipped"
NOT_DATASET = r"not a captioning dataset: expected the Karpathy layout"

PATH_CASES = [
    BadInput(
        "dataset: an image path climbing out with ../..", _climbing, problems, r"image \.\./\.\./s.*" + OUTSIDE, good=A
    ),
    BadInput("dataset: an absolute image path", _absolute, problems, r"private\.png: image /.*" + OUTSIDE, good=A),
    BadInput(
        "dataset: an image that is a link leading out", _file_link, problems, r"image link\.png: .*" + OUTSIDE, good=A
    ),
    BadInput(
        "dataset: a class folder that is a link leading out",
        _folder_link,
        problems,
        r"image beach/private\.png: .*" + OUTSIDE,
        good=("airport/airport_1.png",),
    ),
    BadInput(
        "rsic data validate: a JSON that is not a dataset",
        settings_json,
        lambda file: no_secret(cli(["data", "validate", file])),
        r"settings\.json: " + NOT_DATASET,
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a JSON whose 'images' are not image entries",
        _images_of_strings,
        lambda file: no_secret(cli(["data", "validate", file])),
        r"config\.json: " + NOT_DATASET,
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a JSONL that is not a dataset",
        _jsonl_not_dataset,
        lambda file: no_secret(cli(["data", "validate", file])),
        r"events\.jsonl: not a captioning dataset.*\(the first line has no image and caption fields\)",
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a CSV with a path column but no caption column",
        _csv_without_captions,
        lambda file: no_secret(cli(["data", "validate", file])),
        r"files\.csv: CSV header has no caption column",
        exit_code=2,
    ),
]

TEXT_CASES = [
    BadInput(
        "CSV: an unclosed quote that swallows the 4 rows after it",
        _unclosed_quote,
        problems,
        r"captions\.csv: rows 3-6: an unclosed quote \(\"\) in row 3 runs to the end of the file: 4 rows",
        good=A,
    ),
    BadInput(
        "CSV: a quote closed two rows later",
        _quote_closed_later,
        problems,
        r"captions\.csv: rows 3-4: a quote \(\"\) opened in row 3 closes only in row 4: 2 rows were read as one",
        good=("a.png", "d.png"),
    ),
    BadInput(
        "CSV: an unclosed quote longer than the csv field limit",
        _unclosed_quote_big,
        problems,
        r"captions\.csv: rows 3-2003: an unclosed quote .*field larger than field limit.*: 2001 rows",
        good=A,
    ),
    BadInput(
        "CSV: Latin-1 text",
        _latin1_csv,
        _read,
        r"captions\.csv: encoding: not UTF-8 \(first non-UTF-8 byte on line 2\): read as Windows-1252, a guess",
        good=A,
    ),
    BadInput(
        "JSON: Latin-1 text",
        _latin1_json,
        _read,
        r"dataset_t\.json: encoding: not UTF-8 .*read as Windows-1252, a guess",
        good=A,
    ),
    BadInput(
        "rsic data validate: JSON with a byte-order mark",
        _bom_json,
        _summary,
        r"^t \(karpathy\): 1 images, 1 captions$",
        exit_code=0,
        good=A,
    ),
    BadInput(
        "CSV: no split column",
        lambda tmp: _csv(tmp, "image,caption\na.png,a roof\nb.png,a river\nc.png,a farm\n"),
        problems,
        r"captions\.csv: split: no 'split' column: all 3 images put in train$",
        good=ABC,
    ),
    BadInput(
        "JSON: entries without a split",
        lambda tmp: karpathy_dataset(tmp / "ds", ["a.png", "b.png", "c.png"], splits=["test", "", ""]),
        problems,
        r"dataset_t\.json: split: 2 of 3 images have no 'split': put in train$",
        good=ABC,
    ),
    BadInput(
        "rsic data validate: JSON nested 100000 levels deep",
        deep_json,
        lambda file: cli(["data", "validate", file]),
        r"dataset_deep\.json: JSON nested too deeply \(over about 1000 levels\) to be a dataset",
        exit_code=2,
    ),
    BadInput(
        "dataset: a JSONL line nested 100000 levels deep",
        _deep_jsonl,
        problems,
        r"rows\.jsonl: line 2: JSON nested too deeply; skipped$",
        good=A,
    ),
    BadInput(
        "rsic data validate: a file name over 255 bytes",
        lambda tmp: tmp / ("a" * 300 + ".json"),
        lambda file: cli(["data", "validate", file]),
        r"aaa\.\.\.: the file name is too long \(a name may have at most 255 bytes\)",
        exit_code=2,
    ),
    BadInput(
        "dataset: an image folder (image_dir) with a name over 255 bytes",
        lambda tmp: karpathy_dataset(tmp / "ds", ["a.png"]),
        lambda folder: problems(folder, image_dir=folder / ("d" * 300)),
        r"image a\.png: image file is missing$",
    ),
    BadInput(
        "dataset: an image file name over 255 bytes",
        lambda tmp: karpathy_dataset(tmp / "ds", ["b" * 300 + ".png"], png=False),
        validated,
        r"bbb\.png: image b+\.png: image file is missing$",
    ),
]

PIPE = r"not a regular file \(a named pipe, socket or device\); not read$"

SPECIAL_CASES = [
    BadInput(
        "rsic data validate: a dataset folder whose annotation file is a named pipe (FIFO)",
        _fifo_in_folder,
        lambda folder: cli(["data", "validate", folder]),
        r"ds/dataset_t\.json: " + PIPE,
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a named pipe (FIFO) given as the annotation file",
        lambda tmp: fifo(tmp / "captions.jsonl"),
        lambda file: cli(["data", "validate", file]),
        r"captions\.jsonl: " + PIPE,
        exit_code=2,
    ),
    BadInput(
        "rsic preprocess: a dataset folder whose annotation file is a named pipe (FIFO)",
        _fifo_in_folder,
        lambda folder: cli(["preprocess", folder, "--out", folder.parent / "out"]),
        r"ds/dataset_t\.json: " + PIPE,
        exit_code=2,
    ),
    BadInput(
        "rsic preprocess: a --config file that is a named pipe (FIFO)",
        lambda tmp: {"data": karpathy_dataset(tmp / "ds", ["a.png"]), "config": fifo(tmp / "pre.json")},
        lambda b: cli(["preprocess", b["data"], "--config", b["config"], "--out", b["data"].parent / "out"]),
        r"pre\.json: " + PIPE,
        exit_code=2,
    ),
    BadInput(
        "rsic caption: a --config file with a key that is no option of the command (a typo: beam)",
        lambda tmp: _text_file(tmp / "cap.yaml", "model: ucm\nbeam: 5\n"),
        lambda config: cli(["caption", config.parent / "a.png", "--config", config]),
        r"cap\.yaml: unknown field\(s\) beam; `rsic caption --help` lists the fields$",
        exit_code=2,
    ),
    BadInput(
        "rsic evaluate: a --config file whose engine is not one of the choices (argparse checks only the command line)",
        lambda tmp: _text_file(tmp / "eval.yaml", "engine: rya\n"),
        lambda config: cli(["evaluate", "--data", config.parent, "--config", config]),
        r'eval\.yaml: engine must be one of local, ray \(got "rya"\)$',
        exit_code=2,
    ),
    BadInput(
        "rsic scene caption: a --config that is a folder",
        lambda tmp: (tmp / "conf").mkdir() or tmp / "conf",
        lambda folder: cli(
            ["scene", "caption", folder.parent / "s.tif", "--out", folder.parent / "s.geojson", "--config", folder]
        ),  # fmt: skip
        r"conf: a folder, not a config file; give a JSON or YAML file$",
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a JSONL whose first line is 40 MB (it has the image and caption fields)",
        _long_first_line,
        _summary,
        r"^big \(generic\): 1 images, 1 captions$",
        exit_code=0,
        good=A,
    ),
]

CASES = PATH_CASES + TEXT_CASES + SPECIAL_CASES


def _text_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
