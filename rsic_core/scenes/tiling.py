"""Tile windows over a scene: a grid of ``tile`` x ``tile`` windows, ``overlap`` pixels shared by neighbours.

The windows start at multiples of the stride (``tile - overlap``) from the top-left corner. At the
right and bottom edges a window that would run past the scene is either **padded** (the default:
the window is cut at the scene's edge, so it is smaller; the tile shown to the model is filled up
to ``tile`` x ``tile`` with black, the colour nodata is shown in) or **dropped** (the strip of
pixels past the last whole window is not captioned). With no overlap, padded windows cover every
pixel of the scene exactly once::

    windows = tile_windows(width=1000, height=600, tile=224)   # 5 x 3 windows, the last column 104 px wide
"""

from __future__ import annotations

from dataclasses import dataclass

EDGES = ("pad", "drop")  # what happens to the partial windows at the right and bottom edges


@dataclass(frozen=True)
class Tile:
    """One window of the scene, in pixels (``x``: column offset, ``y``: row offset)."""

    row: int  # 0-based tile row (top to bottom)
    col: int  # 0-based tile column (left to right)
    x: int  # first pixel column of the window
    y: int  # first pixel row of the window
    width: int  # pixels of the scene inside the window (less than the tile size at a padded edge)
    height: int

    @property
    def window(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)``: the pixel window, as rasterio's ``Window(col_off, row_off, width, height)``."""
        return self.x, self.y, self.width, self.height


def check_tiling(width: int, height: int, tile: int, overlap: int = 0, edges: str = "pad", label: str = "scene"):
    """Refuse a tiling that cannot work, in one sentence naming ``label``.

    Raises:
        ValueError: a tile under 16 px, an overlap not below the tile size, an unknown edge rule, or a
            tile larger than the scene.
    """
    if tile < 16:
        raise ValueError(f"--tile must be at least 16 pixels (got {tile})")
    if not 0 <= overlap < tile:
        raise ValueError(f"--overlap must be 0 or more and less than the tile size {tile} (got {overlap})")
    if edges not in EDGES:
        raise ValueError(f"--edges must be one of {', '.join(EDGES)} (got {edges!r})")
    if tile > width or tile > height:
        raise ValueError(
            f"{label}: a tile of {tile} px is larger than the scene ({width} x {height} px); give a smaller --tile"
        )


def tile_windows(width: int, height: int, tile: int = 224, overlap: int = 0, edges: str = "pad") -> list[Tile]:
    """The windows of a ``width`` x ``height`` scene, row by row.

    Args:
        width: scene width in pixels.
        height: scene height in pixels.
        tile (224): window side in pixels.
        overlap (0): pixels shared by neighbouring windows.
        edges ("pad"): "pad" keeps the partial windows at the right and bottom edges (cut at the
            scene's edge), "drop" leaves them out.

    Raises:
        ValueError: see :func:`check_tiling`.
    """
    check_tiling(width, height, tile, overlap, edges)
    xs, ys = _starts(width, tile, overlap, edges), _starts(height, tile, overlap, edges)
    return [
        Tile(r, c, x, y, min(tile, width - x), min(tile, height - y))
        for r, y in enumerate(ys)
        for c, x in enumerate(xs)
    ]


def grid_shape(
    width: int, height: int, tile: int = 224, overlap: int = 0, edges: str = "pad", label: str = "scene"
) -> tuple[int, int]:
    """(tile rows, tile columns) of :func:`tile_windows` for the same arguments, counted without listing them."""
    check_tiling(width, height, tile, overlap, edges, label)
    return _count(height, tile, overlap, edges), _count(width, tile, overlap, edges)


def _count(size: int, tile: int, overlap: int, edges: str) -> int:
    """``len(_starts(...))`` by arithmetic: a header of 10^9 pixels must not build a list to count it."""
    stride = tile - overlap
    whole = (size - tile) // stride + 1
    return whole + (edges == "pad" and (whole - 1) * stride + tile < size)


def _starts(size: int, tile: int, overlap: int, edges: str) -> list[int]:
    stride = tile - overlap
    starts = list(range(0, size - tile + 1, stride))  # whole windows
    last = starts[-1] + tile
    if edges == "pad" and last < size:  # pixels left past the last whole window: one more, cut at the edge
        starts.append(starts[-1] + stride)
    return starts
