"""Drawing primitives for demo scenes on a ``SIZE`` x ``SIZE`` canvas: textured surfaces, roads,
rivers, fields, trees and turned polygons. ``X`` and ``Y`` are the canvas's pixel coordinates.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from rsic_core.data.demo.scenes import SIDES, pick

SIZE = 224  # every scene is drawn on a 224x224 canvas, other sizes are resized from it
Y, X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
_GREENS = ((38, 74, 32), (48, 88, 38), (60, 100, 44), (42, 80, 50), (70, 108, 52))


def noise(rng, cells: int) -> np.ndarray:
    """Smooth noise over the canvas: a ``cells`` x ``cells`` Gaussian grid, upsampled."""
    low = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(low, "F").resize((SIZE, SIZE), Image.Resampling.BICUBIC))


def texture(rng, rgb, low: float = 10.0, fine: float = 5.0, cells: int = 10) -> np.ndarray:
    """A float HxWx3 surface of colour ``rgb`` with smooth blotches and fine grain."""
    grain = rng.standard_normal((SIZE, SIZE, 1), dtype=np.float32) * fine
    return np.asarray(rgb, np.float32) + noise(rng, cells)[..., None] * low + grain


def paint(base: np.ndarray, mask: np.ndarray, rgb, rng, low: float = 6.0, fine: float = 4.0) -> None:
    """Cover ``base`` where ``mask`` is True with a texture of colour ``rgb``."""
    base[mask] = texture(rng, rgb, low, fine)[mask]


def to_image(base: np.ndarray) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """The RGB image of a float surface and a translucent-capable drawer on it."""
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    return img, ImageDraw.Draw(img, "RGBA")


def turn(img: Image.Image, side: str) -> Image.Image:
    """Turn a canonical drawing (reference thing at the top) so that thing ends up at ``side``."""
    k = SIDES.index(side)
    turns = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)
    return img if k == 0 else img.transpose(turns[k - 1])


def wave(rng, mean: float, amp: float, axis: np.ndarray | None = None) -> np.ndarray:
    """A smooth curve ``mean + amp * f(x)`` over the canvas (1-D, or evaluated on ``axis``)."""
    x = np.arange(SIZE, dtype=np.float32) if axis is None else axis
    p1, p2 = rng.uniform(180, 420), rng.uniform(70, 140)
    f1, f2 = rng.uniform(0, 2 * math.pi, 2)
    return mean + amp * (0.75 * np.sin(2 * math.pi * x / p1 + f1) + 0.25 * np.sin(2 * math.pi * x / p2 + f2))


def place(points, cx: float, cy: float, angle: float, scale: float = 1.0) -> list[tuple[float, float]]:
    """``points`` scaled, turned by ``angle`` and moved to ``(cx, cy)``."""
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]


def draw_object(draw, parts, cx, cy, angle, scale=1.0, shadow=(3, 3)) -> list[float]:
    """Draw polygons ``[(points, fill), ...]`` turned by ``angle``, the first with a shadow.

    Returns:
        The box ``[x0, y0, x1, y1]`` of the polygons drawn (the shadow left out).
    """
    draw.polygon(place(parts[0][0], cx + shadow[0], cy + shadow[1], angle, scale), fill=(0, 0, 0, 90))
    corners = []
    for points, fill in parts:
        placed = place(points, cx, cy, angle, scale)
        draw.polygon(placed, fill=fill)
        corners += placed
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return [min(xs), min(ys), max(xs), max(ys)]


def turn_box(box_: list[float], side: str) -> list[float]:
    """Where the box ``[x0, y0, x1, y1]`` of a canonical drawing lies after :func:`turn` to ``side``."""
    x0, y0, x1, y1 = box_
    k = SIDES.index(side)
    if k == 1:  # a quarter turn counter-clockwise: (x, y) -> (y, SIZE - x)
        return [y0, SIZE - x1, y1, SIZE - x0]
    if k == 2:
        return [SIZE - x1, SIZE - y1, SIZE - x0, SIZE - y0]
    if k == 3:  # clockwise: (x, y) -> (SIZE - y, x)
        return [SIZE - y1, x0, SIZE - y0, x1]
    return [x0, y0, x1, y1]


def mask_box(mask: np.ndarray) -> list[float]:
    """The box ``[x0, y0, x1, y1]`` of the pixels where ``mask`` is True (pixel edges, not centres)."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def draw_trees(draw, rng, free: np.ndarray, n: int, rmin: float = 5.0, rmax: float = 9.0) -> None:
    """Up to ``n`` tree crowns at random places whose whole crown lies where ``free`` is True."""
    xs, ys = rng.uniform(0, SIZE, n), rng.uniform(0, SIZE, n)
    rs = rng.uniform(rmin, rmax, n)
    shades = rng.integers(len(_GREENS), size=n)
    jitter = rng.integers(-8, 9, size=n)
    ok = np.ones(n, bool)
    for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        px = np.clip(xs + dx * rs * 0.8, 0, SIZE - 1).astype(int)
        py = np.clip(ys + dy * rs * 0.8, 0, SIZE - 1).astype(int)
        ok &= free[py, px]
    for x, y, r, shade, j in zip(xs[ok], ys[ok], rs[ok], shades[ok], jitter[ok]):
        rgb = tuple(int(v + j) for v in _GREENS[shade])
        draw.ellipse((x - r + r * 0.45, y - r + r * 0.45, x + r + r * 0.45, y + r + r * 0.45), fill=(0, 0, 0, 80))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rgb)
        h = r * 0.45
        draw.ellipse(
            (x - r * 0.3 - h, y - r * 0.3 - h, x - r * 0.3 + h, y - r * 0.3 + h),
            fill=tuple(min(255, v + 22) for v in rgb),
        )


def box(x0, y0, x1, y1) -> np.ndarray:
    """Mask of the rectangle ``x0 <= x < x1``, ``y0 <= y < y1``."""
    return (X >= x0) & (X < x1) & (Y >= y0) & (Y < y1)


def paint_road(base, rng, y0: float, y1: float) -> None:
    """A horizontal asphalt road between rows ``y0`` and ``y1`` with a dashed centre line."""
    paint(base, (Y >= y0) & (Y < y1), (96, 96, 98), rng, 3, 3)
    mid = (y0 + y1) / 2
    base[(np.abs(Y - mid) < 1) & ((X % 18) < 9)] = (215, 215, 205)


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """``mask`` grown by ``r`` pixels along rows and columns."""
    out = mask.copy()
    for d in range(1, r + 1):
        out[d:] |= mask[:-d]
        out[:-d] |= mask[d:]
        out[:, d:] |= mask[:, :-d]
        out[:, :-d] |= mask[:, d:]
    return out


def river_mask(rng, mean, amp, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Water and bank masks of a horizontal river winding around row ``mean``."""
    centre = wave(rng, mean, amp, X)
    return np.abs(Y - centre) < half, np.abs(Y - centre) < half + 3


def field_surface(rng, color: str) -> tuple[np.ndarray, list[float]]:
    """Rectangular plots in strips of ``color`` crops; returns the surface and the row edges."""
    palette = {
        "green": ((72, 122, 50), (92, 140, 60), (60, 108, 46)),
        "yellow": ((204, 184, 104), (214, 196, 124), (188, 164, 92)),
    }
    cols = np.r_[0, np.sort(rng.uniform(0.2, 0.8, int(rng.integers(1, 3)))) * SIZE, SIZE]
    rows = np.r_[0, np.sort(rng.uniform(0.25, 0.75, int(rng.integers(1, 3)))) * SIZE, SIZE]
    plots = [(a, b, c, d) for a, b in zip(cols, cols[1:]) for c, d in zip(rows, rows[1:])]
    kinds = [pick(rng, ("green", "yellow")) if color == "green and yellow" else color for _ in plots]
    if color == "green and yellow":
        first, second = rng.choice(len(plots), size=2, replace=False)
        kinds[first], kinds[second] = "green", "yellow"
    base = texture(rng, (0, 0, 0), 6, 4)
    for (x0, x1, y0, y1), kind in zip(plots, kinds):
        mask = box(x0, y0, x1, y1)
        period = rng.uniform(5, 9)
        along = X if rng.random() < 0.5 else Y
        stripes = ((along // (period / 2)) % 2)[..., None] * 14 - 7
        base[mask] += (np.asarray(pick(rng, palette[kind]), np.float32) + stripes)[mask]
    edges = np.zeros((SIZE, SIZE), bool)
    for c in cols[1:-1]:
        edges |= np.abs(X - c) < 1.5
    for r in rows[1:-1]:
        edges |= np.abs(Y - r) < 1.5
    base[edges] = (128, 112, 84)
    return base, list(rows[1:-1])
