"""The facts of demo scenes: one sampler per class, and the words they share with drawing and captions.

A sampler ``sample_<class>(rng, count)`` returns the scene dict described in
:mod:`rsic_core.data.demo.dataset`; keys starting with ``_`` are private to the drawing.
"""

from __future__ import annotations

import numpy as np

SIDES = ("top", "left", "bottom", "right")  # index = counter-clockwise quarter turns from "top"
OPPOSITE = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}


def pick(rng: np.random.Generator, options):
    """One of ``options``, uniformly."""
    return options[int(rng.integers(len(options)))]


def relation(scene: dict, name: str) -> dict | None:
    """The first relation of ``scene`` called ``name`` (a dict), or None."""
    return next((r for r in scene["relations"] if r["relation"] == name), None)


def _scene(cls: str, caption: str, counts=None, colors=None, positions=None, relations=(), **private) -> dict:
    rels = [{"subject": s, "relation": r, "object": o} for s, r, o in relations]
    return {
        "class": cls,
        "caption": caption,
        "counts": counts or {},
        "colors": colors or {},
        "positions": positions or {},
        "relations": rels,
        **{f"_{k}": v for k, v in private.items()},
    }


def _count(rng, count: int | None, high: int) -> int:
    if count is None:
        return int(rng.integers(1, high + 1))
    if not 1 <= count <= high:
        raise ValueError(f"count must be between 1 and {high}, got {count}")
    return int(count)


def sample_airport(rng, count):
    n, side = _count(rng, count, 6), pick(rng, SIDES)
    return _scene(
        "airport",
        "an aerial image of an airport",
        {"plane": n},
        {"plane": "white"},
        {"runway": side},
        [("plane", "beside", "runway"), ("plane", "parked on", "apron")],
    )


def sample_harbor(rng, count):
    n, side, color = _count(rng, count, 6), pick(rng, SIDES), pick(rng, ("white", "red"))
    return _scene(
        "harbor",
        "an aerial image of a harbor",
        {"boat": n},
        {"boat": color, "sea": "blue"},
        {"sea": side},
        [("boat", "beside", "pier"), ("harbor", "next to", "sea")],
    )


def sample_parking(rng, count):
    n, color = _count(rng, count, 6), pick(rng, ("red", "white", "blue", "yellow"))
    if rng.random() < 0.5:
        side = pick(rng, SIDES)
        return _scene(
            "parking",
            "an aerial image of a parking lot",
            {"car": n},
            {"car": color},
            {"building": side},
            [("car", "in", "parking lot"), ("parking lot", "next to", "building")],
        )
    return _scene(
        "parking",
        "an aerial image of a parking lot",
        {"car": n},
        {"car": color},
        {},
        [("car", "in", "parking lot"), ("parking lot", "surrounded by", "trees")],
    )


def sample_storagetanks(rng, count):
    n, side = _count(rng, count, 6), pick(rng, SIDES)
    return _scene(
        "storagetanks",
        "an aerial image of storage tanks",
        {"storage tank": n},
        {"storage tank": "white"},
        {"road": side},
        [("storage tank", "beside", "road")],
    )


def sample_farmland(rng, count):
    color = pick(rng, ("green", "yellow", "green and yellow"))
    road = rng.random() < 0.5
    return _scene(
        "farmland",
        "an aerial image of farmland",
        colors={"field": color},
        relations=[("road", "through", "farmland")] if road else [],
    )


def sample_forest(rng, count):
    road = rng.random() < 0.4
    return _scene(
        "forest",
        "an aerial image of a forest",
        colors={"tree": "green"},
        relations=[("road", "through", "forest")] if road else [],
    )


def sample_river(rng, count):
    banks, orient = pick(rng, ("trees", "fields")), pick(rng, ("horizontal", "vertical"))
    rel = ("river", "surrounded by", "trees") if banks == "trees" else ("river", "between", "fields")
    return _scene(
        "river",
        "an aerial image of a river",
        colors={"river": "blue"},
        positions={"river": orient},
        relations=[rel],
    )


def sample_beach(rng, count):
    side, behind = pick(rng, SIDES), pick(rng, ("trees", "buildings"))
    return _scene(
        "beach",
        "an aerial image of a beach",
        colors={"sea": "blue", "beach": "yellow"},
        positions={"sea": side, behind: OPPOSITE[side]},
        relations=[("beach", "next to", "sea"), (behind, "behind", "beach")],
    )


def sample_residential(rng, count):
    n, color = _count(rng, count, 6), pick(rng, ("red", "white"))
    slots = sorted(int(i) for i in rng.choice(6, size=n, replace=False))
    both = any(i < 3 for i in slots) and any(i >= 3 for i in slots)
    rels = [
        ("house", "along", "road"),
        ("house", "on both sides of" if both else "on the same side of", "road"),
    ]
    if rng.random() < 0.6:
        rels.append(("house", "surrounded by", "trees"))
    return _scene(
        "residential",
        "an aerial image of a residential area",
        {"house": n},
        {"roof": color},
        {"road": pick(rng, ("horizontal", "vertical"))},
        rels,
        slots=slots,
    )


def sample_baseballfield(rng, count):
    n = _count(rng, count, 2)
    if rng.random() < 0.5:
        return _scene(
            "baseballfield",
            "an aerial image of a baseball field",
            {"baseball field": n},
            {"baseball field": "green"},
            {},
            [("baseball field", "surrounded by", "trees")],
        )
    return _scene(
        "baseballfield",
        "an aerial image of a baseball field",
        {"baseball field": n},
        {"baseball field": "green"},
        {"road": pick(rng, SIDES)},
        [("baseball field", "next to", "road")],
    )


def sample_tenniscourt(rng, count):
    n, color = _count(rng, count, 4), pick(rng, ("green", "blue", "red"))
    rels = [("tennis court", "side by side", "tennis court")] if n > 1 else []
    if rng.random() < 0.5:
        return _scene(
            "tenniscourt",
            "an aerial image of tennis courts",
            {"tennis court": n},
            {"tennis court": color},
            {},
            rels + [("tennis court", "surrounded by", "trees")],
        )
    return _scene(
        "tenniscourt",
        "an aerial image of tennis courts",
        {"tennis court": n},
        {"tennis court": color},
        {"road": pick(rng, SIDES)},
        rels + [("tennis court", "next to", "road")],
    )


def sample_bridge(rng, count):
    n, orient = _count(rng, count, 2), pick(rng, ("horizontal", "vertical"))
    rels = [("bridge", "over", "river")]
    if rng.random() < 0.5:
        rels.append(("trees", "on both banks of", "river"))
    return _scene(
        "bridge",
        "an aerial image of a bridge over a river",
        {"bridge": n},
        {"river": "blue"},
        {"river": orient},
        rels,
    )
