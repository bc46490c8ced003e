"""``rsic scene``: caption a whole GeoTIFF tile by tile into GeoJSON, and search it by text.

rsic scene caption scene.tif --out scene.geojson [--tile 224] [--overlap 0] [--image-bands 4,3,2] [--model M] [--adapter DIR]
rsic scene caption scene.tif --out scene.geojson --engine ray [--address auto] [--num-workers N] [--gpus-per-worker G]
rsic scene search scene.geojson "storage tanks" [--top 10] [--json]

``caption`` checks the scene (a raster, the bands, a tile no larger than the scene, at most ``--max-tiles``
tiles, a transform that places it on Earth) and ``--out`` before the model is loaded, shows a progress bar over the tiles, and writes ``--out`` and a CSV
beside it (same name, ``.csv``), each replaced only once complete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rsic_core.cli.arguments import add_model_arguments, dataclass_from_args
from rsic_core.cli.engine import add_engine_arguments, engine_config

_NOT_FOR_SCENES = (
    "image_bands",
    "max_image_pixels",
)  # CaptionConfig fields a scene takes from SceneConfig or not at all


def register(subparsers) -> None:
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.scenes.caption import SceneConfig

    scene = subparsers.add_parser(
        "scene", help="whole scenes: caption a GeoTIFF tile by tile, search it"
    ).add_subparsers(dest="scene_command", required=True)
    p = scene.add_parser(
        "caption",
        help="caption a GeoTIFF tile by tile into a GeoJSON FeatureCollection (and a CSV)",
    )
    p.add_argument("scene", help="the scene: a GeoTIFF (12/16-bit and multi-band welcome)")
    p.add_argument("--out", required=True, help="GeoJSON file to write; the CSV goes beside it")
    add_model_arguments(p)
    p.add_dataclass(SceneConfig)
    p.add_dataclass(CaptionConfig, skip=_NOT_FOR_SCENES)
    add_engine_arguments(p)  # --engine ray: the tiles go through the archive engine, shards beside --out
    p.set_defaults(func=_caption)

    p = scene.add_parser("search", help="tiles of a captioned scene ranked by similarity to a text query")
    p.add_argument("geojson", help="a GeoJSON written by rsic scene caption")
    p.add_argument("query", help='what to look for, e.g. "storage tanks"')
    p.add_argument("--top", type=int, default=10, help="tiles to list (default 10)")
    p.add_argument("--json", action="store_true", help="print the matching features as a GeoJSON FeatureCollection")
    p.set_defaults(func=_search)


def _caption(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner
    from rsic_core.scenes.caption import SceneConfig, caption_scene, embed_captions, open_scene
    from rsic_core.scenes.geojson import feature_collection, summary, write_scene

    out = _check_out(args.out)
    config = dataclass_from_args(SceneConfig, args)
    generation = dataclass_from_args(CaptionConfig, args)
    engine = engine_config(args)
    opened = open_scene(args.scene, config)  # a bad scene, band or tile costs nothing: before the model
    started = time.perf_counter()
    captioner = load_captioner(args.model, adapter=args.adapter, device=args.device, dtype=args.dtype)
    print(f"loaded {captioner.name} on {captioner.device} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not opened.geo.georeferenced:
        why = opened.geo.pixels_reason
        print(f"rsic: note: {args.scene}: {why}: the GeoJSON is in pixel coordinates, not lon/lat", file=sys.stderr)
    with tqdm(total=None, unit="tile", desc="captioning", file=sys.stderr, dynamic_ncols=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        caption_all = _on_ray(args, out, generation, engine, bar) if engine is not None else None
        result = caption_scene(
            opened, captioner, config, generation, progress=progress, embed=False, caption_all=caption_all
        )
    print(
        f"embedding {len(result.tiles)} captions for search ({config.embedder or 'packaged MiniLM'})", file=sys.stderr
    )
    embed_captions(result)
    for note in result.notes:
        print(f"rsic: note: {note}", file=sys.stderr)
    collection = feature_collection(result)
    geojson, table = write_scene(collection, out)
    print(f"{summary(collection)}; {result.stretch}", file=sys.stderr)
    print(f"wrote {geojson} and {table} in {result.seconds:.1f} s")
    return 0


def _on_ray(args: argparse.Namespace, out: Path, generation, engine, bar):
    """A ``caption_all`` for :func:`caption_scene` that captions every tile in one Ray job (shards in ``<out>.shards``).

    The same engine as ``rsic caption --engine ray``: a rerun of a killed scene job captions only the tiles without a
    complete shard. Captions come back keyed by tile id, in the order asked.
    """
    from rsic_core.archive.ray_engine import caption_archive
    from rsic_core.archive.shards import read_archive
    from rsic_core.archive.sources import ImageRef, encode_array

    shards = out.with_name(out.name + ".shards")

    def caption_all(tiles):
        import numpy as np

        refs = [ImageRef(key, encode_array(np.asarray(image))) for key, image in tiles]
        bar.total = len(refs)

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        run = caption_archive(
            refs, shards, args.model, args.adapter, generation, engine, args.device, args.dtype, progress
        )
        print(f"ray: {run.captioned} tiles captioned, {run.skipped} taken from {shards}", file=sys.stderr)
        rows = read_archive(shards).set_index("image")
        failed = rows.loc[[key for key, _ in tiles], "error"].dropna()
        if len(failed):
            raise ValueError(f"{len(failed)} tiles failed on Ray (first: {failed.index[0]}: {failed.iloc[0]})")
        return [str(rows.at[key, "caption"]) for key, _ in tiles]

    return caption_all


def _search(args: argparse.Namespace) -> int:
    from rsic_core.scenes.geojson import read_scene
    from rsic_core.scenes.search import search_scene

    collection = read_scene(args.geojson)
    hits = search_scene(collection, args.query, top=args.top)
    if args.json:
        features = [{**h.feature, "properties": _shown(h)} for h in hits]
        print(json.dumps({"type": "FeatureCollection", "features": features}, indent=1))
        return 0
    print(f"{'rank':>4} {'score':>6} {'row':>4} {'col':>4}  caption")
    for h in hits:
        p = h.feature["properties"]
        print(f"{h.rank:>4} {h.score:>6.3f} {p['row']:>4} {p['col']:>4}  {p['caption']}")
    return 0


def _shown(hit) -> dict:
    """A hit's properties for --json: the score and rank added, the embedding left out."""
    properties = {k: v for k, v in hit.feature["properties"].items() if k != "embedding"}
    return {**properties, "rank": hit.rank, "score": round(hit.score, 4)}


def _check_out(out: str) -> Path:
    """``--out`` refused (one sentence) before any work when the GeoJSON could not or should not be written there."""
    path = Path(out).expanduser()
    if path.is_dir():
        raise ValueError(f"--out {out} is a folder; name a file in it, e.g. {path / 'scene.geojson'}")
    if path.suffix.lower() == ".csv":
        raise ValueError(f"--out {out}: name the GeoJSON file (e.g. scene.geojson); the CSV is written beside it")
    folder = next(p for p in path.parents if p.exists())
    if not folder.is_dir():
        raise ValueError(f"--out {out} cannot be written: {folder} is a file, not a folder")
    if path.exists() and not _is_scene_file(path):
        raise ValueError(f"--out {out} exists and is not a GeoJSON of rsic scene caption; name another file")
    table = path.with_suffix(".csv")
    if table.exists() and not _starts_with(table, b"row,col,x,y,width,height,caption"):
        raise ValueError(f"{table} exists and is not the CSV of rsic scene caption; move it or name another --out")
    return path


def _starts_with(path: Path, prefix: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(prefix)) == prefix
    except OSError:
        return False


def _is_scene_file(path: Path) -> bool:
    return _starts_with(path, b'{"type":"FeatureCollection","bbox":') or _starts_with(
        path, b'{"type":"FeatureCollection","rsic_scene":'
    )
