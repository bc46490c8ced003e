"""``rsic explain``: caption images and show where the model looked for each word.

rsic explain scene1.jpg scenes/ --model demo --gen-prompt "describe en" --out explained/

For each image it writes ``OUT/<image stem>.json`` = ``{"caption", "method", "words": [{"word",
"heatmap": [[rows]]}]}`` (the heatmap on the model's image grid, 0..1; ``grid`` and ``image_size``
say its shape and the image's) and ``OUT/<image stem>.<n>.<word>.png``, the image with the heatmap
of its n-th word (0-based) laid over it, for every content word. The caption is the one ``rsic
caption`` writes with the same options. ``--out`` is checked before the model is loaded, and a
file in it is replaced only when an earlier ``rsic explain`` wrote it (as ``rsic caption --out``): a
``<stem>.json`` of the user's, or an overlay-named PNG with no explanation of ours beside it, is refused.
An image that cannot be read gets its error line and the others go on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from rsic_core.cli.arguments import (
    add_model_arguments,
    dataclass_from_args,
)


def register(subparsers) -> None:
    from rsic_core.models.grounding import METHODS
    from rsic_core.models.inference import CaptionConfig

    p = subparsers.add_parser(
        "explain",
        help="caption images and write a heatmap per word (where the model looked)",
    )
    p.add_argument("images", nargs="+", help="image files or folders of images (jpg, png, tif...)")
    add_model_arguments(p)
    p.add_argument("--out", required=True, help="folder to write the JSON and overlay PNG files into")
    p.add_argument(
        "--method",
        default="auto",
        help="auto (the family's default), " + "; ".join(f"{name}: {text}" for name, text in METHODS.items()),
    )
    p.add_dataclass(CaptionConfig)
    p.set_defaults(func=_explain)


EXPLANATION_KEYS = {"image", "caption", "method", "words"}  # what a JSON written by rsic explain holds
EXPLANATION_BYTES = 64 << 20  # an explanation is one JSON line; heatmaps make it far longer than a caption's


def check_out_folder(out: str) -> Path:
    """The ``--out`` folder, refused (one sentence) when it is a file, lies under a file or cannot be written."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {out} is a file; name a folder to write the explanations into")
    parent = next(p for p in [path, *path.parents] if p.exists())
    if not parent.is_dir():
        raise ValueError(f"--out {out} cannot be made: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out} cannot be written: no permission to write in {parent}")
    return path


def _explain(args: argparse.Namespace) -> int:
    from rsic_core.cli.outputs import progress_printer
    from rsic_core.data.images import collect_images
    from rsic_core.models.grounding import choose_method, explain_images
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner

    out = check_out_folder(args.out)  # before the model is loaded
    images = collect_images(args.images)
    stems = _stems(images)
    check_not_users(out, args.out, stems)
    config = dataclass_from_args(CaptionConfig, args)
    captioner = load_captioner(args.model, adapter=args.adapter, device=args.device, dtype=args.dtype)
    method = choose_method(captioner, args.method)
    out.mkdir(parents=True, exist_ok=True)
    progress, failed = progress_printer("images"), 0
    for done, path in enumerate(images, 1):
        (explanation,) = explain_images(captioner, [str(path)], config, method)
        if not explanation.ok:
            failed += 1
            print(f"rsic: error: {' '.join(explanation.error.split())}", file=sys.stderr)
        else:
            _write(out, stems[done - 1], explanation, path, config.image_bands)
        progress(done, len(images))
    print(
        f"explained {len(images) - failed} of {len(images)} images with {method}"
        + (f", {failed} failed" if failed else "")
        + f", wrote {out}",
        file=sys.stderr,
    )
    return 1 if failed else 0


def _stems(images: list[Path]) -> list[str]:
    """Each image's stem, made unique among the images of this run (``scene``, ``scene-2``...)."""
    taken, stems = set(), []
    for path in images:
        stem, n = path.stem, 1
        while stem in taken:
            n += 1
            stem = f"{path.stem}-{n}"
        taken.add(stem)
        stems.append(stem)
    return stems


def check_not_users(out: Path, given: str, stems) -> None:
    """Refuse (one sentence, before the model is loaded) to replace a file in ``out`` that rsic explain did not write.

    A ``<stem>.json`` must be an explanation (the rule of ``rsic caption --out``:
    :func:`~rsic_core.cli.outputs.written_by_rsic`); without one, no overlay-named ``<stem>.<n>.<word>.png``
    may be there, since a run of ours would have written the JSON beside it.
    """
    from rsic_core.cli.outputs import written_by_rsic

    if not out.is_dir():
        return
    overlays = {}  # stem -> an overlay-named PNG already there
    for name in os.listdir(out):
        named = re.fullmatch(r"(.+)\.\d+\.[A-Za-z0-9_-]+\.png", name)
        if named:
            overlays.setdefault(named.group(1), name)
    for stem in stems:
        found = out / f"{stem}.json"
        if found.exists() or found.is_symlink():
            if found.is_file() and written_by_rsic(found, EXPLANATION_KEYS, EXPLANATION_BYTES):
                continue
        elif stem in overlays:
            found = out / overlays[stem]
        else:
            continue
        raise ValueError(
            f"--out {given}: {found.name} exists and was not written by rsic explain; move it or name another folder"
        )


def _write(out: Path, stem: str, explanation, path: Path, bands: str) -> None:
    from rsic_core.data.images import load_image
    from rsic_core.models.grounding import overlay

    (out / f"{stem}.json").write_text(json.dumps(explanation.to_dict()), encoding="utf-8")
    image = load_image(str(path), bands=bands or None)
    for i, word in enumerate(explanation.words):
        if word.content:
            safe = re.sub(r"[^A-Za-z0-9_-]+", "", word.word) or "word"
            overlay(image, word.heatmap).save(out / f"{stem}.{i}.{safe}.png")
