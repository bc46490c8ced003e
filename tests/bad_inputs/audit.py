"""Bad inputs of ``rsic data audit``: a path that is not there, a file that is not a dataset, a threshold out of range."""

from __future__ import annotations

from tests.bad_inputs import BadInput, cli
from tests.bad_inputs.data import NOT_DATASET, karpathy_dataset, no_secret, settings_json

CASES = [
    BadInput(
        "rsic data audit: a path that does not exist",
        lambda tmp: tmp / "nowhere",
        lambda path: cli(["data", "audit", path]),
        r"^rsic: error: .*nowhere: no such file or folder$",
        exit_code=2,
    ),
    BadInput(
        "rsic data audit: a JSON that is not a dataset",
        settings_json,
        lambda file: no_secret(cli(["data", "audit", file])),
        r"settings\.json: " + NOT_DATASET,
        exit_code=2,
    ),
    BadInput(
        "rsic data audit: a threshold over the 64 bits of the hash",
        lambda tmp: karpathy_dataset(tmp / "ds", ["a.png", "b.png"], ["train", "test"]),
        lambda folder: cli(["data", "audit", folder, "--threshold", "65"]),
        r"^rsic: error: threshold must be between 0 and 64 bits of the perceptual hash, got 65$",
        exit_code=2,
    ),
]
