"""``rsic data``: validate or audit a dataset, generate the offline demo dataset and the demo scene, lay real photos out as a scene."""

from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers) -> None:
    data = subparsers.add_parser(
        "data", help="datasets: validate, audit, the offline demo dataset and scene, real photos as a mosaic"
    ).add_subparsers(dest="data_command", required=True)

    p = data.add_parser("validate", help="report images, captions, splits and every problem of a dataset")
    p.add_argument("path", help="dataset folder or annotation file (format detected)")
    p.add_argument("--image-dir", help="folder the image names are relative to (found from the layout)")
    p.add_argument("--no-images", action="store_true", help="do not decode images (faster; finds missing files only)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--max-problems", type=int, default=50, help="problems to list (default 50)")
    p.set_defaults(func=_validate)

    p = data.add_parser("demo", help="generate the offline demo dataset (Karpathy layout)")
    p.add_argument("out", help="output folder")
    p.add_argument("--images", type=int, default=1200, help="number of images (default 1200)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.set_defaults(func=_demo)

    p = data.add_parser("demo-scene", help="generate the offline demo scene: a GeoTIFF mosaic of demo tiles + truth")
    p.add_argument("out", help="output folder (scene.tif and truth.geojson are written there)")
    p.add_argument("--grid", type=int, default=8, help="tiles of 224 px a side (default 8: 64 tiles)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.set_defaults(func=_demo_scene)

    p = data.add_parser(
        "mosaic", help="lay a split's real photos out as a scene: a GeoTIFF mosaic in UTM + truth (every class)"
    )
    p.add_argument("dataset", help="dataset folder or annotation file whose images have classes (e.g. UCM-captions)")
    p.add_argument("--split", default="val", help="split the photos come from (default val)")
    p.add_argument("--grid", type=int, default=8, help="photos a side (default 8: 64 photos)")
    p.add_argument("--out", required=True, help="output folder (scene.tif and truth.geojson are written there)")
    p.add_argument("--seed", type=int, default=0, help="seed of the choice and places of the photos (default 0)")
    p.add_argument("--image-dir", help="folder the image names are relative to (found from the layout)")
    p.set_defaults(func=_mosaic)

    p = data.add_parser(
        "audit", help="leaks between splits (duplicate images, shared references), weak references, standard splits"
    )
    p.add_argument("path", help="dataset folder or annotation file (format detected)")
    p.add_argument("--image-dir", help="folder the image names are relative to (found from the layout)")
    p.add_argument(
        "--threshold",
        type=int,
        default=6,
        help="perceptual-hash bits (of 64) within which two images are near-duplicates (default 6)",
    )
    p.add_argument("--no-images", action="store_true", help="do not hash images (reference and split checks only)")
    p.add_argument("--examples", type=int, default=5, help="examples listed per finding (default 5)")
    p.add_argument("--json", action="store_true", help="print every finding as JSON")
    p.set_defaults(func=_audit)


def _validate(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.validation import validate

    dataset = load_dataset(args.path, image_dir=args.image_dir)
    report = validate(dataset, check_images=not args.no_images)
    if args.json:
        out = asdict(report)
        out["problems"] = [str(p) for p in report.problems]
        print(json.dumps(out, indent=1))
    else:
        print(report.to_text(max_problems=args.max_problems))
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import generate_demo_dataset

    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            print(f"\r{done}/{total} images", end="", file=sys.stderr, flush=True)

    annotation = generate_demo_dataset(args.out, n_images=args.images, seed=args.seed, progress=progress)
    dataset = load_dataset(annotation)  # read back through the same loader users use
    print(file=sys.stderr)
    print(
        f"wrote {len(dataset)} images, {dataset.num_captions} captions ({dataset.split_counts()}) "
        f"to {annotation.parent} in {time.perf_counter() - start:.1f} s"
    )
    return 0


def _demo_scene(args: argparse.Namespace) -> int:
    from rsic_core.data.demo.mosaic import SCENE_EPSG, SCENE_PIXEL, generate_demo_scene
    from rsic_core.data.mosaic import TRUTH_NAME

    scene = generate_demo_scene(args.out, grid=args.grid, seed=args.seed)
    side = args.grid * 224
    print(
        f"wrote {scene} ({side} x {side} px, {args.grid * args.grid} tiles, EPSG:{SCENE_EPSG}, {SCENE_PIXEL} m pixel) "
        f"and {scene.with_name(TRUTH_NAME)}"
    )
    return 0


def _mosaic(args: argparse.Namespace) -> int:
    import rasterio

    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.mosaic import TRUTH_NAME, photo_mosaic, read_truth

    dataset = load_dataset(args.dataset, image_dir=args.image_dir)
    scene = photo_mosaic(dataset, args.out, split=args.split, grid=args.grid, seed=args.seed)
    with rasterio.open(scene) as source:
        size, crs, pixel = f"{source.width} x {source.height} px", source.crs.to_epsg(), source.res[0]
    classes = len(set(read_truth(scene.with_name(TRUTH_NAME)).values()))
    tile = source.width // args.grid
    print(
        f"wrote {scene} ({size}, {args.grid * args.grid} {args.split} photos of {dataset.name}, {classes} classes, "
        f"EPSG:{crs}, {pixel} m pixel) and {scene.with_name(TRUTH_NAME)}; caption it with "
        f"rsic scene caption {scene} --tile {tile} --out {scene.with_suffix('.geojson')}"
    )
    return 0


def _audit(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from rsic_core.data.audit import audit
    from rsic_core.data.datasets import load_dataset

    dataset = load_dataset(args.path, image_dir=args.image_dir)

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} images", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = audit(dataset, threshold=args.threshold, check_images=not args.no_images, progress=progress)
    print(json.dumps(asdict(report), indent=1) if args.json else report.to_text(examples=args.examples))
    return 0
