"""Caption a scene tile by tile: windowed reads, one stretch for the whole scene, skipped tiles, batches.

The raster is never read whole: each tile is read as a rasterio window when its batch is made, so
memory is bounded by ``CaptionConfig.batch_size`` tiles. 12/16-bit and float bands are stretched to
8 bits the way single images are (:mod:`rsic_core.data.rasters`: each band's 2nd-98th percentile to
0-255, nodata left out), with the percentiles taken once for the whole scene from a decimated read
(at most ``PREVIEW_SIDE`` pixels a side), so that a tile of water is not stretched like a tile of
roofs. A tile is skipped (and counted) when more than ``max_nodata`` of its pixels are nodata, or
when it is empty (every band one value: a fill outside the image's footprint).

Refused in one sentence, before the model is loaded where the header or the decimated read tells: more
windows than ``SceneConfig.max_tiles`` (a header can declare 10^10 pixels in a few kB), complex-valued
bands, a transform or place on Earth that makes no sense (:func:`rsic_core.scenes.geo.checked_geo`), a
scene whose every pixel is nodata, and a file GDAL cannot read (naming the tile). The reads themselves
(strips for PNG) are :mod:`rsic_core.scenes.reads`::

    result = caption_scene("scene.tif", load_captioner(), SceneConfig(tile=224))
    result.tiles[0].caption, result.skipped
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rsic_core.data.rasters import (
    RASTER_DRIVERS,
    STRETCH_PERCENTILES,
    check_dtype,
    choose_bands,
    no_data_left,
    parse_bands,
)
from rsic_core.models.base import Captioner
from rsic_core.models.inference import CaptionConfig, fit_token_limits, generate_captions
from rsic_core.scenes.geo import SceneGeo, checked_geo, scene_geo
from rsic_core.scenes.reads import nodata_mask, read_or_say, tile_bands
from rsic_core.scenes.tiling import EDGES, Tile, grid_shape, tile_windows

GDAL_CACHE_MB = 64  # GDAL's block cache while a scene is read (its default, 5 % of RAM, grows with the scene)
PREVIEW_SIDE = 1024  # longest side of the decimated read that gives the stretch (and the Map page's image)
MAX_TILES = 5000  # default tile budget: about 14,000 x 14,000 px in 224 px tiles (a Sentinel-2 granule is 2,401)


@dataclass
class SceneConfig:
    """How a scene is cut into tiles and read."""

    tile: int = field(default=224, metadata={"help": "Tile side in pixels (the model's input size is best)."})
    overlap: int = field(default=0, metadata={"help": "Pixels shared by neighbouring tiles."})
    bands: str = field(
        default="",
        metadata={
            "help": "1-based bands to caption, e.g. 4,3,2 (1 or 3); empty = RGB from metadata or the first three.",
            "option": "--image-bands",  # as rsic caption and evaluate spell it
            "aliases": ["--bands"],
        },
    )
    edges: str = field(
        default="pad",
        metadata={"help": "Partial tiles at the right and bottom edges: pad (filled with black) or drop."},
    )
    max_nodata: float = field(
        default=0.5, metadata={"help": "Skip a tile when more than this share of its pixels is nodata."}
    )
    embedder: str = field(
        default="", metadata={"help": "Sentence embedder for search (folder or hub id); empty = packaged MiniLM."}
    )
    max_tiles: int = field(
        default=MAX_TILES,
        metadata={"help": "Refuse a scene that makes more tiles than this (the count is checked from the header)."},
    )

    def __post_init__(self):
        if isinstance(self.max_tiles, bool) or not isinstance(self.max_tiles, int) or self.max_tiles < 1:
            raise ValueError(f"--max-tiles must be a whole number of 1 or more (got {self.max_tiles!r})")
        if self.edges not in EDGES:
            raise ValueError(f"--edges must be one of {', '.join(EDGES)} (got {self.edges!r})")
        if not 0.0 <= self.max_nodata < 1.0:
            raise ValueError(f"--max-nodata must be a share from 0 to below 1 (got {self.max_nodata})")
        parse_bands(self.bands, "--image-bands")


@dataclass(frozen=True)
class TileCaption:
    """A captioned tile."""

    tile: Tile
    caption: str
    valid: float  # share of the tile's pixels that hold data


@dataclass
class SceneResult:
    """Everything the GeoJSON and the CSV are written from."""

    path: str  # the scene file
    geo: SceneGeo
    config: SceneConfig
    tiles: list[TileCaption]  # captioned tiles, row by row
    skipped: dict[str, int]  # {"nodata": n, "empty": m}
    total: int  # windows in the scene
    bands: tuple[int, ...]  # the bands captioned (1-based)
    bands_how: str  # why these ("chosen", "RGB from metadata"...)
    stretch: str  # what was done to the values, one sentence
    model: str
    adapter: str | None
    embedder: str = ""
    embeddings: np.ndarray | None = None  # (len(tiles), d), unit length
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OpenedScene:
    """A scene checked before the model is loaded: its size, CRS, bands and stretch."""

    path: Path
    geo: SceneGeo
    bands: tuple[int, ...]
    bands_how: str
    ranges: list[tuple[float, float]] | None  # per band (low, high) of the stretch; None for 8-bit bands
    nodata: float | None
    dtype: str


def open_scene(path: str | Path, config: SceneConfig) -> OpenedScene:
    """Check ``path`` and ``config`` against each other and work out the stretch, reading a decimated copy.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a raster GDAL reads as a GeoTIFF or PNG, a band out of range, or a tile larger
            than the scene; one sentence naming the file.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such scene file")
    with _open(path) as source:
        geo = checked_geo(scene_geo(source), str(path))
        check_budget(geo.width, geo.height, config, str(path))
        interpretation = [c.name for c in source.colorinterp]
        numbers, how = choose_bands(source.count, interpretation, parse_bands(config.bands, str(path)), str(path))
        dtype = str(source.dtypes[numbers[0] - 1])
        check_dtype(dtype, str(path))
        ranges = None
        if np.dtype(dtype) != np.uint8:
            preview = read_or_say(str(path), None, lambda: preview_bands(source, numbers))
            no_data_left(nodata_mask(preview), str(path), "caption")
            ranges = _percentiles(preview)
        return OpenedScene(path, geo, numbers, how, ranges, source.nodata, dtype)


def check_budget(width: int, height: int, config: SceneConfig, label: str) -> None:
    """Refuse a tiling that cannot work, or one of more windows than ``config.max_tiles``, from the size alone.

    Raises:
        ValueError: see :func:`rsic_core.scenes.tiling.check_tiling`, or the count with the budget, naming ``label``.
    """
    rows, cols = grid_shape(width, height, config.tile, config.overlap, config.edges, label=label)
    if rows * cols > config.max_tiles:
        raise ValueError(
            f"{label}: {width} x {height} px in tiles of {config.tile} px makes {rows * cols:,} tiles ({rows} rows x "
            f"{cols} columns), more than --max-tiles {config.max_tiles:,}; give a larger --tile, crop the scene or "
            "raise --max-tiles"
        )


def caption_scene(
    scene: str | Path | OpenedScene,
    captioner: Captioner,
    config: SceneConfig | None = None,
    caption_config: CaptionConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    embed: bool = True,
    caption_all: Callable[[list[tuple[str, object]]], list[str]] | None = None,
) -> SceneResult:
    """Caption every tile of ``scene`` that holds data, then embed the captions for search.

    Args:
        scene: the GeoTIFF (or an :class:`OpenedScene` of it).
        captioner: from :func:`rsic_core.models.registry.load_captioner`.
        config (None): tiling and bands (default :class:`SceneConfig`).
        caption_config (None): generation settings and ``batch_size`` (tiles per batch).
        progress (None): ``callable(done, total)`` after each batch, in windows (skipped ones count as done).
        embed (True): embed the captions (else call :func:`embed_captions` later).
        caption_all (None): an engine that captions many tiles in one job (``rsic scene caption --engine ray``):
            called once with every tile to caption as ``(tile id, PIL image)`` pairs, it returns their captions in
            that order. Then all tiles are held in memory at once (about 150 KB per 224 px tile); without it tiles
            are captioned batch by batch here and memory stays bounded by the batch.

    Returns:
        The :class:`SceneResult`, embeddings included.
    """
    config = config or SceneConfig()
    opened = scene if isinstance(scene, OpenedScene) else open_scene(scene, config)
    generation, capped = fit_token_limits(captioner, caption_config or CaptionConfig())
    started = time.perf_counter()
    windows = tile_windows(opened.geo.width, opened.geo.height, config.tile, config.overlap, config.edges)
    done, captioned, waiting, skipped = 0, [], [], {"nodata": 0, "empty": 0}
    with _open(opened.path) as source:
        for batch, reasons, seen in _batches(source, opened, windows, config, generation.batch_size):
            for reason in reasons:
                skipped[reason] += 1
            if batch and caption_all is not None:
                waiting += batch  # captioned by the engine in one job below
            elif batch:
                captions = generate_captions(captioner, [image for _, image, _ in batch], generation)
                captioned += [TileCaption(tile, text, valid) for (tile, _, valid), text in zip(batch, captions)]
            done += seen
            if progress is not None and caption_all is None:
                progress(done, len(windows))
    if waiting:
        captions = caption_all([(f"r{tile.row}c{tile.col}", image) for tile, image, _ in waiting])
        captioned = [TileCaption(tile, text, valid) for (tile, _, valid), text in zip(waiting, captions)]
    if skipped["nodata"] == len(windows):
        raise ValueError(
            f"{opened.path}: every tile is nodata (NaN, infinite or the file's nodata value): nothing to caption; "
            "nothing was written"
        )
    result = SceneResult(
        str(opened.path.resolve()),
        opened.geo,
        config,
        captioned,
        skipped,
        len(windows),
        opened.bands,
        opened.bands_how,
        _stretch_note(opened),
        captioner.name,
        captioner.adapter,
        seconds=time.perf_counter() - started,
        notes=[capped] if capped else [],
    )
    if embed:
        embed_captions(result)
    return result


def embed_captions(result: SceneResult) -> None:
    """Fill ``result.embeddings`` (unit length) and ``result.embedder`` with the sentence embedder of its config."""
    from rsic_core.text.embeddings import embedder_name, load_embedder

    model = load_embedder(result.config.embedder or None)
    texts = sorted({t.caption for t in result.tiles})  # few distinct captions: each embedded once
    vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True) if texts else np.zeros((0, 1))
    index = {text: i for i, text in enumerate(texts)}
    rows = [index[t.caption] for t in result.tiles]
    result.embeddings = np.asarray(vectors, np.float32)[rows] if rows else np.zeros((0, vectors.shape[1]), np.float32)
    result.embedder = embedder_name(result.config.embedder or None)


def preview_bands(source, numbers: tuple[int, ...], side: int = PREVIEW_SIDE) -> np.ma.MaskedArray:
    """The chosen bands read decimated to at most ``side`` pixels a side (nearest pixels), masked where nodata."""
    from rasterio.enums import Resampling

    scale = min(1.0, side / max(source.width, source.height))
    shape = (len(numbers), max(1, round(source.height * scale)), max(1, round(source.width * scale)))
    return source.read(list(numbers), out_shape=shape, masked=True, resampling=Resampling.nearest)


def preview_image(path: str | Path, bands: tuple[int, ...] | None = None, side: int = PREVIEW_SIDE) -> np.ndarray:
    """The scene decimated to at most ``side`` pixels a side, as (height, width, 3) uint8, stretched as its tiles were.

    Args:
        path: the scene file.
        bands (None): 1-based bands (default: as :func:`open_scene` chooses them).
        side (1024): longest side of the picture.
    """
    with _open(Path(path).expanduser()) as source:
        interpretation = [c.name for c in source.colorinterp]
        numbers, _ = choose_bands(source.count, interpretation, tuple(bands) if bands else None, str(path))
        read = preview_bands(source, numbers, side)
        ranges = None if np.dtype(source.dtypes[numbers[0] - 1]) == np.uint8 else _percentiles(read)
        return to_8bit(read, ranges)


def to_8bit(bands: np.ma.MaskedArray, ranges: list[tuple[float, float]] | None) -> np.ndarray:
    """(height, width, 3) uint8 pixels of ``bands``: 8-bit as they are, others stretched by ``ranges``; nodata black."""
    planes = []
    for i, band in enumerate(bands):
        band = np.ma.masked_invalid(band) if band.dtype.kind == "f" else band
        mask = np.ma.getmaskarray(band)
        if ranges is None:
            planes.append(np.where(mask, 0, band.filled(0)).astype(np.uint8))
            continue
        low, high = ranges[i]
        values = band.filled(low).astype(np.float64)
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        planes.append(np.where(mask, 0, np.clip(np.rint(scaled), 0, 255)).astype(np.uint8))
    return np.stack(planes * 3 if len(planes) == 1 else planes, axis=-1)


def _percentiles(bands: np.ma.MaskedArray) -> list[tuple[float, float]]:
    ranges = []
    for band in bands:
        valid = np.ma.masked_invalid(band).compressed() if band.dtype.kind == "f" else band.compressed()
        low, high = np.percentile(valid, STRETCH_PERCENTILES) if valid.size else (0.0, 0.0)
        ranges.append((float(low), float(high)))
    return ranges


def _batches(source, opened: OpenedScene, windows: list[Tile], config: SceneConfig, size: int) -> Iterator:
    """(tiles to caption: [(tile, image, valid share)], reasons of the skipped ones, windows seen), ``size`` at a time."""
    from PIL import Image

    batch, reasons, seen = [], [], 0
    for tile, bands in tile_bands(source, opened.path, opened.bands, opened.dtype, windows):
        seen += 1
        mask = nodata_mask(bands, every_band=False)
        valid = 1.0 - float(mask.mean())
        if 1.0 - valid > config.max_nodata:
            reasons.append("nodata")
        elif all(np.ma.ptp(band) == 0 for band in bands):  # one value everywhere: a fill, nothing to see
            reasons.append("empty")
        else:
            pixels = np.zeros((config.tile, config.tile, 3), np.uint8)  # padded edges stay black
            pixels[: tile.height, : tile.width] = to_8bit(bands, opened.ranges)
            batch.append((tile, Image.fromarray(pixels, mode="RGB"), valid))
        if len(batch) == size:
            yield batch, reasons, seen
            batch, reasons, seen = [], [], 0
    if batch or reasons or seen:
        yield batch, reasons, seen


def _stretch_note(opened: OpenedScene) -> str:
    dtype = np.dtype(opened.dtype)
    depth = f"{dtype.itemsize * 8}-bit" + {"f": " float", "i": " signed"}.get(dtype.kind, "")
    numbers = ",".join(str(n) for n in opened.bands)
    shown = f"band {numbers} as grey" if len(opened.bands) == 1 else f"bands {numbers}"
    note = f"{depth}: captioned {shown} ({opened.bands_how})"
    if opened.ranges:
        low, high = STRETCH_PERCENTILES
        spans = ", ".join(f"b{n} {lo:g}-{hi:g}" for n, (lo, hi) in zip(opened.bands, opened.ranges))
        note += f", each band stretched {low:g}-{high:g} % over the whole scene ({spans})"
    return note


@contextlib.contextmanager
def _open(path: Path):
    """``rasterio.open`` of a GeoTIFF or PNG only (one sentence for anything else), quiet about a missing CRS."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    with warnings.catch_warnings(), rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        source = None
        for driver in RASTER_DRIVERS:  # only these GDAL drivers: never a VRT that opens further files
            try:
                source = rasterio.open(path, driver=driver)
                break
            except RasterioIOError:
                continue
        if source is None:
            raise ValueError(f"{path}: not a raster that can be read (a GeoTIFF or PNG is expected)")
        with source:
            yield source
