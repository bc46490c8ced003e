"""The captioned demo scene that the Map page opens on: generated and captioned once, kept under ``RSIC_HOME``.

path = demo_scene_geojson()     # RSIC_HOME/demo-scene/scene.geojson (with scene.tif, truth.geojson, scene.csv)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from rsic_core.data.demo.mosaic import generate_demo_scene
from rsic_core.data.mosaic import SCENE_NAME
from rsic_core.paths import rsic_home
from rsic_core.scenes.caption import SceneConfig, caption_scene
from rsic_core.scenes.geojson import feature_collection, write_scene

DEMO_GRID = 8  # 8 x 8 tiles of 224 px: 1,792 px a side
GEOJSON_NAME = "scene.geojson"


def demo_scene_dir() -> Path:
    """Where the captioned demo scene lives."""
    return rsic_home() / "demo-scene"


def demo_scene_geojson(
    grid: int = DEMO_GRID, seed: int = 0, captioner=None, progress: Callable[[int, int], None] | None = None
) -> Path:
    """The demo scene captioned by the demo model, made on first use (about 20 s on 2 cores).

    Args:
        grid (8): tiles a side.
        seed (0): generator seed.
        captioner (None): the demo model, already loaded (loaded here when None).
        progress (None): ``callable(done, total)`` while captioning.

    Returns:
        The GeoJSON's path; ``scene.tif``, ``truth.geojson`` and ``scene.csv`` lie beside it.
    """
    folder = demo_scene_dir()
    wanted = {"grid": grid, "seed": seed, "model": "demo"}
    stamp = folder / "demo_scene.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted and (folder / GEOJSON_NAME).is_file():
        return folder / GEOJSON_NAME
    if captioner is None:
        from rsic_core.models.registry import load_captioner

        captioner = load_captioner()
    # Made beside the final folder and swapped in, so that a reader never sees half of it.
    tmp = Path(tempfile.mkdtemp(prefix="demo-scene-", dir=rsic_home()))
    generate_demo_scene(tmp, grid=grid, seed=seed)
    collection = feature_collection(caption_scene(tmp / SCENE_NAME, captioner, SceneConfig(), progress=progress))
    final_scene = str((folder / SCENE_NAME).resolve())
    collection["rsic_scene"]["scene"] = final_scene  # where the scene will be once swapped in
    write_scene(collection, tmp / GEOJSON_NAME)
    stamp_text = json.dumps(wanted)
    (tmp / "demo_scene.json").write_text(stamp_text)
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    try:
        tmp.rename(folder)
    except OSError:  # another process made it at the same time
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / GEOJSON_NAME
