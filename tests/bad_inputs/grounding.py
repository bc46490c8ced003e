"""Bad inputs of ``rsic explain`` and of the word heatmaps: an unreadable image, an out folder that is a file
or lies under one, an unknown method, a word index out of range."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.bad_inputs import BadInput, Outcome, cli


def _images(tmp: Path) -> dict:
    (tmp / "kept").mkdir()
    Image.new("RGB", (40, 40), (80, 120, 60)).save(tmp / "kept" / "field.png")
    (tmp / "kept" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp / "kept" / "notes.txt").write_text("my notes\n")
    return {"good": tmp / "kept" / "field.png", "broken": tmp / "kept" / "broken.jpg", "tmp": tmp}


def _explain(image: str, out: str, *options):
    def run(built: dict) -> Outcome:
        argv = ["explain", str(built[image]), "--out", out.format(**built), "--gen-max-new-tokens", 4, *options]
        return cli(argv)

    return run


def _word_index(built: dict) -> Outcome:
    import numpy as np

    from rsic_core.models.grounding import Explanation, WordHeatmap

    words = [WordHeatmap(w, [i], np.zeros((2, 2))) for i, w in enumerate(["two", "planes"])]
    try:
        Explanation("a.jpg", "two planes", "lens", (8, 8), words).word(7)
    except ValueError as e:
        return Outcome(str(e))
    raise AssertionError("word(7) of a two-word caption raised nothing")


CASES = [
    BadInput(
        "rsic explain: an image that cannot be read",
        _images,
        _explain("broken", "{tmp}/explained"),
        r"broken\.jpg.*(cannot|not)",
        exit_code=1,
    ),
    BadInput(
        "rsic explain --out a file",
        _images,
        _explain("good", "{tmp}/kept/notes.txt"),
        r"--out .*notes\.txt is a file; name a folder",
        exit_code=2,
    ),
    BadInput(
        "rsic explain --out a folder under a file",
        _images,
        _explain("good", "{tmp}/kept/notes.txt/explained"),
        r"cannot be made: .*notes\.txt is a file, not a folder",
        exit_code=2,
    ),
    BadInput(
        "rsic explain --method a method the family lacks",
        _images,
        _explain("good", "{tmp}/explained", "--method", "saliency"),
        r"unknown grounding method 'saliency' for PaliGemma; use lens, attention, grad_x_act",
        exit_code=2,
    ),
    BadInput(
        "word heatmaps: a word index out of range",
        lambda tmp: None,
        _word_index,
        r"^word index 7 is out of range: the caption 'two planes' has 2 words \(0 to 1\)$",
    ),
]


# --- issue 23: per-image errors stay per image; --out never replaces a file rsic explain did not write ----------


def _with_complex(tmp: Path) -> dict:
    import warnings

    import numpy as np
    import rasterio

    built = _images(tmp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        profile = {"driver": "GTiff", "count": 1, "height": 32, "width": 32, "dtype": "complex64"}
        with rasterio.open(tmp / "kept" / "slc.tif", "w", **profile) as dst:
            dst.write(np.full((1, 32, 32), 1 + 2j, np.complex64))
    return built | {"complex": tmp / "kept" / "slc.tif"}


def _explain_both(built: dict) -> Outcome:
    out = built["tmp"] / "explained"
    outcome = cli(["explain", built["complex"], built["good"], "--out", out, "--gen-max-new-tokens", 4])
    assert (out / "field.json").is_file(), "the batch did not go on past the complex raster"
    return outcome


def _users_json(tmp: Path) -> dict:
    built = _images(tmp)
    (tmp / "mine").mkdir()
    (tmp / "mine" / "field.json").write_text('{"my": "own notes"}\n')
    return built


CASES += [
    BadInput(
        "rsic explain: a complex-valued raster beside a good image (lost the whole batch)",
        _with_complex,
        _explain_both,
        r"slc\.tif: complex-valued pixels \(complex64\) are not an image",
        exit_code=1,
        writes=("explained",),
    ),
    BadInput(
        "rsic explain --out: a folder holding the user's own field.json (was replaced)",
        _users_json,
        _explain("good", "{tmp}/mine"),
        r"--out .*mine: field\.json exists and was not written by rsic explain; move it or name another folder",
        exit_code=2,
    ),
]
