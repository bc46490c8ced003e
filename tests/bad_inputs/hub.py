"""Bad inputs of the hub's layout: parquet files that are not caption sets, broken files, cells without bytes.

The files are written by the ``datasets`` library (or by pyarrow, where a case needs what ``datasets``
would not write), as users download them. A refused file must come back as one sentence naming it
(exit 2 on the command line), never as pyarrow's traceback; a broken row is one problem of the dataset.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from tests.bad_inputs import BadInput, Outcome, cli
from tests.bad_inputs.data import fifo, problems

SECRET = "s3cr3t-token-1234"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 160, 60)).save(out, "PNG")
    return out.getvalue()


def _parquet(file: Path, columns: dict, image: bool = True) -> Path:
    """``columns`` written by ``datasets`` (``image`` cast to its Image feature when ``image``)."""
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_dict(columns)
    if image:
        ds = ds.cast_column("image", datasets.Image())
    file.parent.mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(file))
    return file


def _no_image_column(tmp: Path) -> Path:
    return _parquet(tmp / "data" / "train-00000-of-00001.parquet", {"text": [SECRET], "id": [1]}, image=False)


def _no_caption_column(tmp: Path) -> Path:
    return _parquet(tmp / "ds" / "data" / "train-00000-of-00001.parquet", {"image": [{"bytes": _png(), "path": "a"}]})


def _corrupt(tmp: Path) -> Path:
    good = _parquet(tmp / "good.parquet", {"image": [{"bytes": _png(), "path": "a.png"}], "caption": [SECRET]})
    file = tmp / "train-00000-of-00001.parquet"
    file.write_bytes(good.read_bytes()[:-40])  # the footer cut off, as an interrupted download leaves it
    good.unlink()
    return file


def _cell_without_bytes(tmp: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cells = [{"bytes": _png(), "path": "a.png"}, {"bytes": None, "path": None}]
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # the Image feature's storage
    folder = tmp / "ds" / "data"
    folder.mkdir(parents=True)
    table = pa.table({"filename": ["a.png", "b.png"], "image": pa.array(cells, image), "caption": ["a", "b"]})
    pq.write_table(table, folder / "train-00000-of-00001.parquet")
    return tmp / "ds"


def _link_out(tmp: Path) -> Path:
    """A dataset folder whose test file is a link to a parquet file elsewhere."""
    row = {"image": [{"bytes": _png(), "path": "a.png"}], "caption": ["a field"]}
    _parquet(tmp / "ds" / "data" / "train-00000-of-00001.parquet", row)
    outside = _parquet(tmp / "elsewhere" / "private.parquet", row)
    (tmp / "ds" / "data" / "test-00000-of-00001.parquet").symlink_to(outside)
    return tmp / "ds"


def _broken_state(tmp: Path) -> Path:
    import datasets

    datasets.disable_progress_bars()
    folder = tmp / "saved"
    ds = datasets.Dataset.from_dict({"image": [{"bytes": _png(), "path": "a.png"}], "caption": ["a field"]})
    ds.cast_column("image", datasets.Image()).save_to_disk(str(folder))
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})[:25])
    return folder


def _no_secret(outcome: Outcome) -> Outcome:
    assert SECRET not in outcome.message, outcome.message
    return outcome


CASES = [
    BadInput(
        "rsic data validate: a hub folder whose parquet file is a named pipe (FIFO)",
        lambda tmp: fifo(tmp / "ds" / "data" / "train-00000-of-00001.parquet"),
        lambda file: cli(["data", "validate", file.parents[1]]),
        r"train-00000-of-00001\.parquet: not a regular file \(a named pipe, socket or device\); not read$",
        exit_code=2,
    ),
    BadInput(
        "rsic preprocess: a parquet file that is a named pipe (FIFO)",
        lambda tmp: fifo(tmp / "train.parquet"),
        lambda file: cli(["preprocess", file, "--out", file.parent / "out"]),
        r"train\.parquet: not a regular file \(a named pipe, socket or device\); not read$",
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a parquet file without an image column",
        _no_image_column,
        lambda file: _no_secret(cli(["data", "validate", file])),
        r"train-00000-of-00001\.parquet: no image column \(a `datasets` Image feature: a struct with 'bytes'\); "
        r"not a captioning dataset$",
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a hub folder whose parquet has no caption column",
        _no_caption_column,
        lambda file: cli(["data", "validate", file.parents[1]]),
        r"data/train-00000-of-00001\.parquet: no caption column \(text or a list of texts named caption\(s\), "
        r"sentence\(s\), text or raw, or 'sentences' of \{raw\}\); not a captioning dataset$",
        exit_code=2,
    ),
    BadInput(
        "rsic data validate: a parquet file cut off mid-download",
        _corrupt,
        lambda file: _no_secret(cli(["data", "validate", file])),
        r"train-00000-of-00001\.parquet: not a readable parquet file \(corrupt, truncated or another format\)$",
        exit_code=2,
    ),
    BadInput(
        "dataset: an image cell without bytes",
        _cell_without_bytes,
        problems,
        r"train-00000-of-00001\.parquet: row 1 \(b\.png\): the image cell holds no bytes; image kept as missing$",
        good=("a.png",),
    ),
    BadInput(
        "dataset: a parquet file that is a link leading out of the dataset folder",
        _link_out,
        problems,
        r"data/test-00000-of-00001\.parquet: file: leads outside the dataset folder \(a link\); not read$",
        good=("a.png",),
    ),
    BadInput(
        "rsic data validate: a save_to_disk folder whose state.json is cut off",
        _broken_state,
        lambda folder: cli(["data", "validate", folder]),
        r"saved/state\.json: not valid JSON, so the `save_to_disk` folder cannot be read$",
        exit_code=2,
    ),
]
