"""Caption makers for demo scenes: each class lists sentences that are true of its scene.

``captions_<class>(scene, rng)`` returns callables, each making one raw caption (or None when
it does not apply); :func:`rsic_core.data.demo.dataset.write_captions` picks five of them.
"""

from __future__ import annotations

from rsic_core.data.demo.scenes import OPPOSITE, pick, relation
from rsic_core.text.words import NUMBER_WORDS as _ALL_NUMBER_WORDS

NUMBER_WORDS = _ALL_NUMBER_WORDS[:7]  # zero..six: a demo scene counts 1 to 6 objects
_AT = {"top": "at the top", "bottom": "at the bottom", "left": "on the left", "right": "on the right"}
_AWAY = {"top": "below", "bottom": "above", "left": "on the right of", "right": "on the left of"}
_SPAN = {"horizontal": ("the left", "the right"), "vertical": ("the top", "the bottom")}
_FORMS = {
    "plane": (("plane", "planes"), ("airplane", "airplanes"), ("aircraft", "aircraft")),
    "boat": (("boat", "boats"), ("ship", "ships")),
    "car": (("car", "cars"), ("vehicle", "vehicles")),
    "storage tank": (("storage tank", "storage tanks"), ("tank", "tanks")),
    "house": (("house", "houses"), ("building", "buildings"), ("residence", "residences")),
    "baseball field": (("baseball field", "baseball fields"), ("baseball diamond", "baseball diamonds")),
    "tennis court": (("tennis court", "tennis courts"),),
    "bridge": (("bridge", "bridges"),),
}
OBJECT_FORMS = _FORMS  # count key -> the (singular, plural) names captions use for it (the pointing game reads them)
_NEXT_TO = ("beside", "next to", "along")
_VAGUE = {  # quantifiers that are true of 2, 3, and 4 or more objects
    2: ("some",),
    3: ("some", "several", "a few"),
    4: ("many", "several", "some", "lots of"),
}


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def _a(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _np(rng, n: int, forms, color: str | None = None, roof: bool = False) -> str:
    """A noun phrase for ``n`` objects: with a count word, a colour, both, or a vague quantity."""
    singular, plural = pick(rng, forms)
    style = pick(rng, ("count", "count", "both", "both", "color", "vague"))
    if color is None:
        style = {"both": "count", "color": "vague"}.get(style, style)
    colored = style in ("both", "color")
    words = " ".join(([color] if colored and not roof else []) + [singular if n == 1 else plural])
    if n == 1:
        phrase = f"one {words}" if style in ("count", "both") and rng.random() < 0.3 else _a(words)
    elif style in ("count", "both"):
        phrase = f"{NUMBER_WORDS[n]} {words}"
    elif style == "vague":
        phrase = f"{pick(rng, _VAGUE[min(n, 4)])} {words}"
    else:
        phrase = words
    if colored and roof:
        phrase += f" with a {color} roof" if n == 1 else f" with {color} roofs"
    return phrase


def captions_airport(sc, rng):
    n, side = sc["counts"]["plane"], sc["positions"]["runway"]
    be = _be(n)

    def p():
        return _np(rng, n, _FORMS["plane"], "white")

    return [
        lambda: f"there {be} {p()} at the airport",
        lambda: f"{p()} {be} parked {pick(rng, ('beside', 'next to', 'near'))} the runway",
        lambda: f"{p()} {be} parked on the apron",
        lambda: f"an airport with {p()}",
        lambda: f"the runway is {_AT[side]} and {p()} {be} parked beside it",
        lambda: f"{p()} {be} parked {_AWAY[side]} the runway",
        lambda: pick(
            rng,
            ("this is an airport with a long runway", "it is an airport", "a long runway is in the airport"),
        ),
        lambda: f"many {pick(rng, ('planes', 'airplanes'))} are parked at the airport" if n >= 4 else None,
    ]


def captions_harbor(sc, rng):
    n, side, color = sc["counts"]["boat"], sc["positions"]["sea"], sc["colors"]["boat"]
    be = _be(n)

    def p():
        return _np(rng, n, _FORMS["boat"], color)

    return [
        lambda: f"there {be} {p()} in the {pick(rng, ('harbor', 'port'))}",
        lambda: f"{p()} {be} {pick(rng, ('docked', 'moored'))} {pick(rng, _NEXT_TO)} the piers",
        lambda: f"a harbor with {p()} and some piers",
        lambda: f"the sea is {_AT[side]} and {p()} {be} in the water",
        lambda: f"{p()} {be} in the water near the piers",
        lambda: pick(
            rng,
            (
                "this is a port next to the sea",
                "it is a harbor beside the sea",
                "some piers stretch into the sea",
            ),
        ),
        lambda: f"many {pick(rng, ('boats', 'ships'))} are docked in the port" if n >= 4 else None,
        lambda: f"the sea is {_AT[side]} and the land is {_AT[OPPOSITE[side]]}",
    ]


def captions_parking(sc, rng):
    n, color = sc["counts"]["car"], sc["colors"]["car"]
    be = _be(n)
    building = sc["positions"].get("building")

    def p():
        return _np(rng, n, _FORMS["car"], color)

    def around():
        if building:
            return pick(rng, ("the parking lot is next to a large building", f"a large building is {_AT[building]}"))
        return pick(rng, ("the parking lot is surrounded by green trees", "many trees are around the parking lot"))

    where = "next to a building" if building else "surrounded by trees"
    return [
        lambda: f"there {be} {p()} in the parking lot",
        lambda: f"{p()} {be} parked in the parking lot",
        lambda: f"a parking lot with {p()}",
        around,
        lambda: pick(rng, ("there are many empty parking spaces", "most of the parking spaces are empty")),
        lambda: f"{p()} {be} parked in a parking lot {where}",
        lambda: pick(rng, ("it is a parking lot", "this is a parking lot")),
    ]


def captions_storagetanks(sc, rng):
    n, side = sc["counts"]["storage tank"], sc["positions"]["road"]
    be = _be(n)

    def p():
        return _np(rng, n, _FORMS["storage tank"], "white")

    return [
        lambda: f"there {be} {p()} {pick(rng, ('in this area', 'on the ground', 'on the bare land'))}",
        lambda: f"{p()} {be} {pick(rng, ('located', 'built'))} beside a road",
        lambda: f"{p()} {be} {_AWAY[side]} the road",
        lambda: f"the road is {_AT[side]} and {p()} {be} next to it",
        lambda: f"this is an industrial area with {'a storage tank' if n == 1 else 'some storage tanks'}",
        lambda: f"many {pick(rng, ('tanks', 'storage tanks'))} are arranged neatly" if n >= 4 else None,
        lambda: f"{p()} {be} on the bare land",
    ]


def captions_farmland(sc, rng):
    color = sc["colors"]["field"]
    road = relation(sc, "through")
    return [
        lambda: pick(
            rng,
            (
                "there is a piece of farmland",
                "it is a piece of cropland",
                f"it is a piece of {color} farmland",
            ),
        ),
        lambda: f"many {color} fields are arranged neatly",
        lambda: f"the farmland is {color}",
        lambda: (
            pick(rng, (f"a road goes through the {color} farmland", "the farmland is divided by a road"))
            if road
            else None
        ),
        lambda: pick(rng, ("the crops are planted in rows", "the fields are planted in strips")),
        lambda: f"many pieces of {pick(rng, ('farmland', 'cropland'))} are next to each other",
        lambda: f"some rectangular {color} fields",
    ]


def captions_forest(sc, rng):
    road = relation(sc, "through")
    return [
        lambda: pick(rng, ("it is a dense forest", "this is a large forest")),
        lambda: "many green trees are in the forest",
        lambda: "there are lots of dense trees",
        lambda: "the forest is full of dark green trees",
        lambda: (
            pick(rng, ("a road goes through the forest", "a path passes through the dense trees"))
            if road
            else "the trees grow densely together"
        ),
        lambda: "many trees are planted closely",
        lambda: "a piece of forest with many trees",
    ]


def captions_river(sc, rng):
    trees = relation(sc, "surrounded by")
    a, b = _SPAN[sc["positions"]["river"]]
    land = "forest" if trees else pick(rng, ("farmland", "fields"))
    return [
        lambda: f"a river runs through the {land}",
        lambda: f"there is a river {'surrounded by trees' if trees else 'between fields'}",
        lambda: f"a winding river goes from {a} to {b}",
        lambda: pick(rng, ("it is a river", "this is a blue river")),
        lambda: f"{'many green trees' if trees else 'some fields'} are on both sides of the river",
        lambda: f"a river with {'trees' if trees else 'farmland'} on its banks",
        lambda: "the river is blue",
    ]


def captions_beach(sc, rng):
    side = sc["positions"]["sea"]
    behind = "trees" if "trees" in sc["positions"] else "buildings"
    return [
        lambda: pick(rng, ("this is a beach next to the sea", "a beach is beside the sea")),
        lambda: f"the sea is {_AT[side]}",
        lambda: "a yellow beach is next to the blue sea",
        lambda: pick(rng, ("white waves hit the sandy beach", "white waves are on the beach")),
        lambda: "many green trees are behind the beach" if behind == "trees" else "some buildings are behind the beach",
        lambda: pick(rng, ("there is a long beach", "a long sandy beach")),
        lambda: f"the sea is {_AT[side]} and the {behind} are {_AT[OPPOSITE[side]]}",
    ]


def captions_residential(sc, rng):
    n, color = sc["counts"]["house"], sc["colors"]["roof"]
    be = _be(n)
    trees, both = relation(sc, "surrounded by"), relation(sc, "on both sides of")

    def p():
        return _np(rng, n, _FORMS["house"], color, roof=True)

    return [
        lambda: f"there {be} {p()} in this residential area",
        lambda: f"{p()} {be} {pick(rng, ('arranged along', 'built beside', 'located beside'))} a road",
        lambda: (
            f"{p()} {be} surrounded by {pick(rng, ('green trees', 'many trees'))}"
            if trees
            else f"{p()} {be} surrounded by green lawns"
        ),
        lambda: "a road goes through the residential area",
        lambda: "it is a sparse residential area" if n <= 3 else "it is a residential area with many houses",
        lambda: f"a residential area with {p()}",
        lambda: (
            f"{p()} are on both sides of the road"
            if both
            else f"{p()} {be} {'on the same side of' if n > 1 else 'next to'} the road"
        ),
    ]


def captions_baseballfield(sc, rng):
    n = sc["counts"]["baseball field"]
    be = _be(n)
    trees = relation(sc, "surrounded by")

    def p():
        return _np(rng, n, _FORMS["baseball field"], "green")

    return [
        lambda: f"there {be} {p()}{pick(rng, ('', ' here', ' in this area'))}",
        lambda: (
            f"{p()} {be} surrounded by {pick(rng, ('trees', 'green trees'))}" if trees else f"{p()} {be} next to a road"
        ),
        lambda: f"{p()} with {'a sandy infield' if n == 1 else 'sandy infields'}",
        lambda: "it is a baseball field" if n == 1 else f"{p()} are next to each other",
        lambda: f"the outfield{'s are' if n > 1 else ' is'} covered with green grass",
        lambda: f"{p()} {be} shaped like {'a fan' if n == 1 else 'fans'}",
        lambda: (
            pick(rng, ("many trees are around", "some trees are beside")) + f" the field{'s' if n > 1 else ''}"
            if trees
            else f"a road is {_AT[sc['positions']['road']]}"
        ),
    ]


def captions_tenniscourt(sc, rng):
    n, color = sc["counts"]["tennis court"], sc["colors"]["tennis court"]
    be = _be(n)
    trees = relation(sc, "surrounded by")
    s = "s" if n > 1 else ""

    def p():
        return _np(rng, n, _FORMS["tennis court"], color)

    return [
        lambda: f"there {be} {p()}{pick(rng, ('', ' here', ' in this area'))}",
        lambda: f"{p()} {be} arranged side by side" if n > 1 else None,
        lambda: f"{p()} {be} surrounded by trees" if trees else f"{p()} {be} next to a road",
        lambda: f"{p()} {pick(rng, ('with white lines', 'marked with white lines'))}",
        lambda: "it is a tennis court" if n == 1 else f"these are {'two' if n == 2 else 'several'} tennis courts",
        lambda: f"the tennis court{s} {be} {color}",
        lambda: f"a fence surrounds the tennis court{s}",
    ]


def captions_bridge(sc, rng):
    n = sc["counts"]["bridge"]
    be = _be(n)
    a, b = _SPAN[sc["positions"]["river"]]
    trees = relation(sc, "on both banks of")

    def p():
        return _np(rng, n, _FORMS["bridge"])

    return [
        lambda: f"{p()} {be} {pick(rng, ('over', 'across'))} the river",
        lambda: f"there {be} {p()} over a river",
        lambda: f"a river with {p()} across it",
        lambda: f"the river flows under the bridge{'s' if n > 1 else ''}",
        lambda: (
            "many green trees are on both banks of the river" if trees else "green grass is on both banks of the river"
        ),
        lambda: f"a river goes from {a} to {b} and {p()} {'crosses' if n == 1 else 'cross'} it",
        lambda: "a road crosses the river on a bridge" if n == 1 else "two roads cross the river on bridges",
    ]
