"""Per-class drawings of demo scenes: ``draw_<class>(scene, rng)`` returns a 224x224 RGB image.

Each is drawn in a canonical orientation (the reference thing at the top) and turned by a
multiple of 90 degrees, so the positions in the scene stay exact. A drawing of counted objects
also records where it drew each one: ``sc["objects"] = [{"name": "plane", "box": [x0, y0, x1, y1]}]``
in pixels of the 224x224 image (computed from the shapes drawn; no random draw is added, so the
images are the same as before boxes were recorded).
"""

from __future__ import annotations

import math

import numpy as np

from rsic_core.data.demo.canvas import (
    SIZE,
    X,
    Y,
    box,
    dilate,
    draw_object,
    draw_trees,
    field_surface,
    mask_box,
    noise,
    paint,
    paint_road,
    place,
    river_mask,
    texture,
    to_image,
    turn,
    turn_box,
    wave,
)
from rsic_core.data.demo.scenes import SIDES, pick, relation

# Object outlines (pointing along +x, centred on 0), in pixels at scale 1.
_PLANE = [(23, 0), (20, -2.6), (-17, -2.6), (-23, -1.2), (-23, 1.2), (-17, 2.6), (20, 2.6)]
_WINGS = [(6, -2.6), (-5, -22), (-10, -22), (-5, -2.6), (-5, 2.6), (-10, 22), (-5, 22), (6, 2.6)]
_TAIL = [(-16, -2), (-21, -9.5), (-24, -9.5), (-22, -2), (-22, 2), (-24, 9.5), (-21, 9.5), (-16, 2)]
_HULL = [(17, 0), (10, -6), (-17, -6), (-17, 6), (10, 6)]
_CABIN = [(4, -3.5), (-9, -3.5), (-9, 3.5), (4, 3.5)]
_CAR = [(13, -4.5), (11, -6.5), (-12, -6.5), (-13, -5), (-13, 5), (-12, 6.5), (11, 6.5), (13, 4.5)]
_WINDSHIELD = [(7.5, -5.2), (3, -5.5), (3, 5.5), (7.5, 5.2)]
_REAR_WINDOW = [(-8, -5.2), (-10.5, -5), (-10.5, 5), (-8, 5.2)]
_ROOF_A = [(-18, -14), (18, -14), (18, 0), (-18, 0)]
_ROOF_B = [(-18, 0), (18, 0), (18, 14), (-18, 14)]


def _drawn(img, sc: dict, side: str, name: str, boxes: list) -> object:
    """``img`` turned to ``side``; the boxes of its ``name`` objects, turned alike, kept in ``sc["objects"]``."""
    sc["objects"] = [
        {"name": name, "box": [round(min(max(float(v), 0.0), SIZE), 1) for v in turn_box(b, side)]} for b in boxes
    ]
    return turn(img, side)


def draw_airport(sc, rng):
    base = texture(rng, (124, 132, 88), 12, 6)
    ry, rw = int(rng.integers(8, 20)), 30
    ay = ry + rw + 22  # apron top
    paint(base, (Y >= ry) & (Y < ry + rw), (88, 88, 92), rng, 3, 3)
    for tx in rng.choice([40, 112, 184], size=2, replace=False):
        paint(base, (Y >= ry + rw) & (Y < ay) & (np.abs(X - tx) < 7), (100, 100, 102), rng, 3, 3)
    paint(base, (Y >= ay) & (Y < 204), (138, 138, 134), rng, 4, 3)
    paint(base, Y >= 208, (150, 152, 160), rng, 3, 3)  # terminal roof
    img, draw = to_image(base)
    draw.line((0, ry + 3, SIZE, ry + 3), fill=(230, 230, 230))
    draw.line((0, ry + rw - 4, SIZE, ry + rw - 4), fill=(230, 230, 230))
    for x in range(int(rng.integers(0, 20)), SIZE, 22):
        draw.rectangle((x, ry + rw // 2 - 1, x + 11, ry + rw // 2), fill=(235, 235, 235))
    nose = -math.pi / 2 if rng.random() < 0.75 else math.pi / 2
    slots = [(x, ay + dy) for dy in (32, 96) for x in (37, 112, 187)]
    boxes = []
    for i in rng.choice(6, size=sc["counts"]["plane"], replace=False):
        x, y = slots[i]
        parts = [(_WINGS, (236, 236, 236)), (_TAIL, (236, 236, 236)), (_PLANE, (246, 246, 246))]
        cx, cy = x + rng.uniform(-5, 5), y + rng.uniform(-4, 4)
        angle, scale = nose + rng.normal(0, 0.12), rng.uniform(0.95, 1.08)
        boxes.append(draw_object(draw, parts, cx, cy, angle, scale, shadow=(4, 4)))
    return _drawn(img, sc, sc["positions"]["runway"], "plane", boxes)


def draw_harbor(sc, rng):
    coast = wave(rng, 132, 4)
    base = texture(rng, (150, 147, 138), 8, 5)
    sea = Y < coast[None, :]
    paint(base, sea, (36, 76, 110), rng, 5, 3)
    base[np.abs(Y - coast[None, :]) < 2] = (105, 103, 98)  # quay edge
    piers = (70, 154) if rng.random() < 0.5 else (40, 112, 184)
    for px in piers:
        base[(np.abs(X - px) < 4) & (Y > 30) & (Y <= coast[int(px)])] = (172, 170, 162)
    img, draw = to_image(base)
    for _ in range(int(rng.integers(2, 5))):  # warehouses on land
        x0, y0 = rng.uniform(0, 170), rng.uniform(coast.max() + 12, 180)
        shade = pick(rng, ((120, 130, 150), (175, 175, 170), (160, 95, 70)))
        draw.rectangle((x0 + 3, y0 + 3, x0 + 51, y0 + 31), fill=(0, 0, 0, 70))
        draw.rectangle((x0, y0, x0 + 48, y0 + 28), fill=shade)
    hull, cabin = (
        ((236, 236, 236), (160, 182, 200)) if sc["colors"]["boat"] == "white" else ((196, 36, 34), (236, 236, 236))
    )
    slots = [(px + side * 13, coast[int(px)] - 26 - 40 * k) for px in piers for side in (-1, 1) for k in (0, 1)]
    boxes = []
    for i in rng.choice(len(slots), size=sc["counts"]["boat"], replace=False):
        x, y = slots[i]
        heading = (-math.pi / 2 if rng.random() < 0.5 else math.pi / 2) + rng.normal(0, 0.04)
        parts = [(_HULL, hull), (_CABIN, cabin)]
        boxes.append(draw_object(draw, parts, x, y + rng.uniform(-3, 3), heading, rng.uniform(0.95, 1.1)))
    return _drawn(img, sc, sc["positions"]["sea"], "boat", boxes)


def draw_parking(sc, rng):
    base = texture(rng, (98, 132, 72), 10, 5)
    building = "building" in sc["positions"]
    x0, y0, x1, y1 = (8, 72, 216, 216) if building else (30, 34, 194, 190)
    if building:
        paint(base, box(10, 6, 214, 60), (176, 176, 178), rng, 3, 3)
    paint(base, box(x0, y0, x1, y1), (82, 82, 86), rng, 3, 3)
    img, draw = to_image(base)
    if building:
        for _ in range(5):  # roof equipment
            bx, by = rng.uniform(20, 190), rng.uniform(12, 44)
            draw.rectangle((bx, by, bx + 10, by + 7), fill=(140, 140, 145))
    else:
        draw_trees(draw, rng, ~box(x0 - 4, y0 - 4, x1 + 4, y1 + 4), 260, 6, 10)
    stalls = (x1 - x0 - 8) // 20
    left = x0 + (x1 - x0 - stalls * 20) / 2
    rows = ((y0 + 6, y0 + 40), (y1 - 40, y1 - 6))
    for ra, rb in rows:
        for k in range(stalls + 1):
            draw.line((left + 20 * k, ra, left + 20 * k, rb), fill=(225, 225, 220))
    body = {"red": (200, 34, 30), "white": (238, 238, 236), "blue": (40, 72, 196), "yellow": (232, 200, 40)}[
        sc["colors"]["car"]
    ]
    slots = [(left + 20 * k + 10, (ra + rb) / 2, r) for r, (ra, rb) in enumerate(rows) for k in range(stalls)]
    boxes = []
    for i in rng.choice(len(slots), size=sc["counts"]["car"], replace=False):
        x, y, r = slots[i]
        heading = (math.pi / 2 if (r == 0) == (rng.random() < 0.7) else -math.pi / 2) + rng.normal(0, 0.04)
        parts = [(_CAR, body), (_WINDSHIELD, (40, 46, 56)), (_REAR_WINDOW, (40, 46, 56))]
        cx, cy = x + rng.uniform(-1.5, 1.5), y + rng.uniform(-2, 2)
        boxes.append(draw_object(draw, parts, cx, cy, heading, 1.15, shadow=(2, 2)))
    return _drawn(img, sc, sc["positions"]["building"] if building else pick(rng, SIDES), "car", boxes)


def draw_storagetanks(sc, rng):
    base = texture(rng, (178, 168, 146), 10, 6)
    paint_road(base, rng, 8, 26)
    img, draw = to_image(base)
    slots = [(x, y) for y in (82, 168) for x in (40, 112, 184)]
    chosen = sorted(rng.choice(6, size=sc["counts"]["storage tank"], replace=False))
    tanks = [(slots[i][0] + rng.uniform(-5, 5), slots[i][1] + rng.uniform(-5, 5), rng.uniform(17, 25)) for i in chosen]
    for x, y, _ in tanks:
        draw.line((x, 26, x, y), fill=(112, 110, 106), width=2)  # pipes to the road, under the tanks
    for x, y, r in tanks:
        draw.rectangle((x - r - 7, y - r - 7, x + r + 7, y + r + 7), outline=(140, 130, 110), width=2)
        draw.ellipse((x - r + 4, y - r + 4, x + r + 4, y + r + 4), fill=(0, 0, 0, 90))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(230, 230, 226), outline=(188, 188, 184))
        draw.ellipse((x - r * 0.65, y - r * 0.65, x + r * 0.65, y + r * 0.65), outline=(198, 198, 194))
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(170, 170, 166))
    boxes = [[x - r, y - r, x + r, y + r] for x, y, r in tanks]
    return _drawn(img, sc, sc["positions"]["road"], "storage tank", boxes)


def draw_farmland(sc, rng):
    base, rows = field_surface(rng, sc["colors"]["field"])
    if relation(sc, "through"):
        paint(base, np.abs(Y - pick(rng, rows)) < 5, (112, 112, 110), rng, 3, 3)
    img, _ = to_image(base)
    return turn(img, pick(rng, SIDES))


def draw_forest(sc, rng):
    base = texture(rng, (30, 56, 26), 8, 5)
    free = np.ones((SIZE, SIZE), bool)
    if relation(sc, "through"):
        road = np.abs(X - wave(rng, 112, 30, Y)) < 5
        paint(base, road, (150, 132, 102), rng, 4, 4)
        free = ~dilate(road, 4)
    img, draw = to_image(base)
    draw_trees(draw, rng, free, 520, 6, 10)
    return turn(img, pick(rng, SIDES))


def draw_river(sc, rng):
    water, bank = river_mask(rng, 112, rng.uniform(10, 24), rng.uniform(15, 20))
    trees = relation(sc, "surrounded by")
    base = texture(rng, (32, 60, 28), 8, 5) if trees else field_surface(rng, "green and yellow")[0]
    paint(base, bank, (158, 146, 116), rng, 4, 4)
    paint(base, water, (42, 84, 112), rng, 5, 3)
    img, draw = to_image(base)
    if trees:
        draw_trees(draw, rng, ~dilate(bank, 3), 480, 6, 10)
    turns = ("top", "bottom") if sc["positions"]["river"] == "horizontal" else ("left", "right")
    return turn(img, pick(rng, turns))


def draw_beach(sc, rng):
    coast = wave(rng, 78, 8)[None, :]
    inland = coast + wave(rng, 62, 6)[None, :]
    base = texture(rng, (222, 206, 160), 8, 5)
    depth = np.clip((coast - Y) / 70, 0, 1)[..., None]
    sea = texture(rng, (0, 0, 0), 4, 3) + (1 - depth) * np.array([74, 156, 168]) + depth * np.array([28, 74, 116])
    base[Y < coast] = sea[Y < coast]
    base[(Y >= coast) & (Y < coast + 5)] -= 28  # wet sand
    foam = (coast - Y >= 0) & (coast - Y < 3 + 2 * noise(rng, 30))
    for offset in (14, 27):
        foam |= np.abs(coast - Y - offset - 2 * noise(rng, 20)) < 0.9
    base[foam] = base[foam] * 0.3 + np.array([240, 244, 244]) * 0.7
    land = Y >= inland + 10
    paint(base, (Y >= inland) & ~land, (100, 100, 102), rng, 3, 3)  # beach road
    paint(base, land, (82, 120, 64), rng, 8, 5)
    img, draw = to_image(base)
    if "trees" in sc["positions"]:
        draw_trees(draw, rng, land & (Y > inland + 13), 240, 6, 10)
    else:
        top = int(inland.max()) + 14
        for y in range(top, SIZE, 38):
            for x in np.arange(rng.uniform(-10, 10), SIZE, 44):
                w, h = rng.uniform(26, 36), rng.uniform(20, 28)
                shade = pick(rng, ((205, 205, 200), (178, 92, 70), (150, 150, 160), (224, 216, 196)))
                draw.rectangle((x + 3, y + 3, x + w + 3, y + h + 3), fill=(0, 0, 0, 70))
                draw.rectangle((x, y, x + w, y + h), fill=shade)
    return turn(img, sc["positions"]["sea"])


def draw_residential(sc, rng):
    base = texture(rng, (96, 136, 70), 10, 5)
    paint_road(base, rng, 104, 120)
    base[(np.abs(Y - 102) < 1.5) | (np.abs(Y - 122) < 1.5)] = (176, 176, 170)  # kerbs
    light, dark = (
        ((192, 72, 56), (150, 52, 40)) if sc["colors"]["roof"] == "red" else ((242, 242, 238), (200, 200, 196))
    )
    houses = np.zeros((SIZE, SIZE), bool)
    img, draw = to_image(base)
    across = rng.random() < 0.3  # ridge across the road instead of along it
    boxes = []
    for i in sc["_slots"]:
        x, y = (40, 112, 184)[i % 3] + rng.uniform(-4, 4), (66, 158)[i // 3] + rng.uniform(-3, 3)
        drive = x + rng.uniform(-8, 8)
        draw.rectangle((drive - 4, min(y, 110), drive + 4, max(y, 112)), fill=(150, 150, 148))
        angle = (math.pi / 2 if across else 0) + rng.normal(0, 0.04)
        parts = [(_ROOF_A, light), (_ROOF_B, dark)]
        boxes.append(draw_object(draw, parts, x, y, angle, rng.uniform(0.92, 1.05), shadow=(4, 4)))
        draw.line(place([(-18, 0), (18, 0)], x, y, angle), fill=tuple(v - 25 for v in dark), width=1)
        houses |= box(x - 26, y - 26, x + 26, y + 26)
        houses |= box(drive - 8, min(y, 110), drive + 8, max(y, 112))
    if relation(sc, "surrounded by"):
        draw_trees(draw, rng, ~houses & ~box(0, 98, SIZE, 126), 200, 5, 9)
    turns = ("top", "bottom") if sc["positions"]["road"] == "horizontal" else ("left", "right")
    return _drawn(img, sc, pick(rng, turns), "house", boxes)


def draw_baseballfield(sc, rng):
    base = texture(rng, (104, 136, 76), 10, 5)
    road = "road" in sc["positions"]
    if road:
        paint_road(base, rng, 6, 24)
    if sc["counts"]["baseball field"] == 1:
        diamonds = [(112 + rng.uniform(-8, 8), 204, 146.0, 225.0)]
    else:
        diamonds = [(62, 212, 92.0, 205.0), (162, 212, 92.0, 245.0)]
    fans = np.zeros((SIZE, SIZE), bool)
    boxes = []
    mow = ((X + Y) // 9 % 2)[..., None] * 12
    for hx, hy, radius, start in diamonds:
        ang = (np.degrees(np.arctan2(Y - hy, X - hx)) - start) % 360
        fan = (np.hypot(X - hx, Y - hy) < radius) & (ang <= 90)
        base[fan] = (np.array([78, 148, 62], np.float32) + mow)[fan]
        fans |= dilate(fan, 6)
        boxes.append(mask_box(fan))
    img, draw = to_image(base)
    for hx, hy, radius, start in diamonds:
        u1 = np.array([math.cos(math.radians(start)), math.sin(math.radians(start))])
        u2 = np.array([math.cos(math.radians(start + 90)), math.sin(math.radians(start + 90))])
        home = np.array([hx, hy])
        r_in = radius * 0.46
        draw.pieslice((hx - r_in, hy - r_in, hx + r_in, hy + r_in), start, start + 90, fill=(192, 150, 104))
        b = radius * 0.28
        corners = [home + 0.1 * b * (u1 + u2), home + b * u1, home + b * (u1 + u2) * 0.93, home + b * u2]
        draw.polygon([tuple(c) for c in corners], fill=(86, 156, 66))
        for end in (u1, u2):
            draw.line((hx, hy, *(home + radius * end)), fill=(240, 240, 236), width=1)
        for c in (home, home + b * u1, home + b * (u1 + u2), home + b * u2):
            draw.rectangle((c[0] - 2, c[1] - 2, c[0] + 2, c[1] + 2), fill=(244, 244, 240))
        mound = home + 0.5 * b * (u1 + u2)
        draw.ellipse((mound[0] - 3.5, mound[1] - 3.5, mound[0] + 3.5, mound[1] + 3.5), fill=(192, 150, 104))
    if not road:
        draw_trees(draw, rng, ~fans, 300, 6, 10)
    return _drawn(img, sc, sc["positions"]["road"] if road else pick(rng, SIDES), "baseball field", boxes)


def draw_tenniscourt(sc, rng):
    base = texture(rng, (102, 138, 74), 10, 5)
    road = "road" in sc["positions"]
    if road:
        paint_road(base, rng, 6, 24)
    n = sc["counts"]["tennis court"]
    court, surround = {
        "green": ((64, 140, 82), (46, 100, 62)),
        "blue": ((48, 88, 172), (60, 122, 84)),
        "red": ((186, 86, 60), (150, 70, 52)),
    }[sc["colors"]["tennis court"]]
    width = n * 44 + (n - 1) * 2
    x0, y0 = 112 - width / 2 + rng.uniform(-6, 6), 124 - 44 + rng.uniform(-6, 6)
    img, draw = to_image(base)
    block = box(x0 - 12, y0 - 12, x0 + width + 12, y0 + 100)
    draw.rectangle((x0 - 4, y0 - 4, x0 + width + 4, y0 + 92), fill=surround, outline=(34, 52, 40), width=2)
    line = (240, 240, 240)
    boxes = []
    for k in range(n):
        cx = x0 + 22 + 46 * k
        top, bottom, mid = y0 + 9, y0 + 79, y0 + 44
        boxes.append([cx - 18, top, cx + 18, bottom])  # the court and its net posts
        draw.rectangle((cx - 15, top, cx + 15, bottom), fill=court, outline=line)
        draw.line((cx - 11, top, cx - 11, bottom), fill=line)
        draw.line((cx + 11, top, cx + 11, bottom), fill=line)
        draw.line((cx - 11, mid - 20, cx + 11, mid - 20), fill=line)
        draw.line((cx - 11, mid + 20, cx + 11, mid + 20), fill=line)
        draw.line((cx, mid - 20, cx, mid + 20), fill=line)
        draw.line((cx - 18, mid, cx + 18, mid), fill=(36, 36, 36), width=2)
    if not road:
        draw_trees(draw, rng, ~block, 300, 6, 10)
    return _drawn(img, sc, sc["positions"]["road"] if road else pick(rng, SIDES), "tennis court", boxes)


def draw_bridge(sc, rng):
    water, bank = river_mask(rng, 112 + rng.uniform(-10, 10), rng.uniform(0, 8), rng.uniform(24, 31))
    base = texture(rng, (104, 134, 74), 10, 5)
    paint(base, bank, (150, 140, 112), rng, 4, 4)
    paint(base, water, (42, 84, 112), rng, 5, 3)
    n = sc["counts"]["bridge"]
    xs = [112 + rng.uniform(-30, 30)] if n == 1 else [60 + rng.uniform(-12, 12), 164 + rng.uniform(-12, 12)]
    roads = np.zeros((SIZE, SIZE), bool)
    for x in xs:
        road = np.abs(X - x) < 7
        roads |= dilate(road, 3)
        paint(base, road & ~bank, (98, 98, 100), rng, 3, 3)
        base[road & water] = base[road & water] * 0.55  # deck shadow, the deck is drawn over it
    img, draw = to_image(base)
    boxes = []
    for x in xs:
        span = np.nonzero(bank[:, int(x)])[0]
        y0, y1 = span.min() - 6, span.max() + 6
        boxes.append([x - 8, y0, x + 8, y1])
        draw.rectangle((x - 8 + 5, y0 + 4, x + 8 + 5, y1 + 4), fill=(0, 0, 0, 80))
        draw.rectangle((x - 8, y0, x + 8, y1), fill=(172, 172, 168))
        draw.line((x - 8, y0, x - 8, y1), fill=(232, 232, 228), width=2)
        draw.line((x + 7, y0, x + 7, y1), fill=(232, 232, 228), width=2)
    if relation(sc, "on both banks of"):
        near = dilate(bank, 30) & ~dilate(bank, 3) & ~roads
        draw_trees(draw, rng, near, 260, 5, 9)
    turns = ("top", "bottom") if sc["positions"]["river"] == "horizontal" else ("left", "right")
    return _drawn(img, sc, pick(rng, turns), "bridge", boxes)
