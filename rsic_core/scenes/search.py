"""Search a captioned scene by text, and tell which class a caption names.

Tiles are ranked by the cosine similarity of their caption embedding (stored in the GeoJSON by
:func:`rsic_core.scenes.caption.embed_captions`) to the query's embedding, made with the same
sentence embedder (named in the file). Tiles with the same caption tie; ties keep the scene's
order (row by row)::

    hits = search_scene(read_scene("scene.geojson"), "storage tanks", top=10)
    hits[0].score, hits[0].feature["properties"]["caption"]

A caption names a class when the class name, written run together as RSICD writes them
(``storagetanks``, ``baseballfield``), starts at a word of the caption with its spaces removed:
"storage tanks" and "a storage tank" name ``storagetanks``, "tennis courts" names ``tenniscourt``.
Of several classes named, the first in the caption wins ("a bridge over a river": ``bridge``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rsic_core.scenes.geojson import embeddings

UNNAMED = "(none)"  # the class of a caption that names none


@dataclass(frozen=True)
class Hit:
    """One tile found by a search."""

    rank: int  # 1 = best
    score: float  # cosine similarity of the caption to the query, -1..1
    feature: dict  # the GeoJSON feature


def search_scene(collection: dict, query: str, top: int = 10, embedder=None) -> list[Hit]:
    """The ``top`` tiles of a scene (read by :func:`rsic_core.scenes.geojson.read_scene`) closest to ``query``.

    Args:
        collection: the FeatureCollection.
        query: words to look for, e.g. "storage tanks".
        top (10): how many tiles to return (fewer when the scene has fewer).
        embedder (None): a loaded ``SentenceTransformer``; default: the one named in the file.

    Raises:
        ValueError: an empty query, ``top`` under 1, or an embedder whose vectors do not match the file's.
    """
    if not query or not query.strip():
        raise ValueError("the search query is empty: give some words, e.g. 'storage tanks'")
    if top < 1:
        raise ValueError(f"--top must be at least 1 (got {top})")
    vectors = embeddings(collection)
    if embedder is None:
        from rsic_core.text.embeddings import load_embedder

        name = collection.get("rsic_scene", {}).get("embedder") or None
        embedder = load_embedder(name)
    wanted = np.asarray(embedder.encode([query.strip()], normalize_embeddings=True, convert_to_numpy=True))[0]
    if wanted.shape[0] != vectors.shape[1]:
        raise ValueError(
            f"the query embedding has {wanted.shape[0]} dimensions and the file's {vectors.shape[1]}: "
            "search with the embedder the file was written with"
        )
    scores = vectors @ wanted.astype(np.float32)
    order = np.argsort(-scores, kind="stable")[:top]
    return [Hit(rank + 1, float(scores[i]), collection["features"][i]) for rank, i in enumerate(order)]


def named_class(caption: str, classes: Sequence[str]) -> str:
    """The class of ``classes`` that ``caption`` names first, or :data:`UNNAMED`.

    A class name matches from the start of a word to the end of a word (a plural ``s`` or ``es``
    allowed, and a class name's own plural ``s`` optional), spaces in the caption left out; of two
    names starting at the same word the longer wins ("parking lot" is ``parking``, not ``park``).
    """
    words = re.findall(r"[a-z]+", caption.lower())
    joined, starts, ends, at = "".join(words), [], set(), 0
    for word in words:
        starts.append(at)
        at += len(word)
        ends.add(at)
    best = (len(joined) + 1, 0, UNNAMED)
    for name in classes:
        key = re.sub(r"[^a-z]", "", name.lower())
        forms = {key, key[:-1]} if key.endswith("s") and len(key) > 3 else {key}
        for start in starts:
            if any(_matches(joined, form, start, ends) for form in forms if form):
                best = min(best, (start, -len(key), name))
                break
    return best[2]


def _matches(joined: str, form: str, start: int, ends: set[int]) -> bool:
    if not joined.startswith(form, start):
        return False
    end = start + len(form)
    return end in ends or any(end + len(p) in ends and joined.startswith(p, end) for p in ("s", "es"))


def precision_at_k(hits: Sequence[Hit], truth: dict[str, str], wanted: str) -> float:
    """Share of ``hits`` whose tile (feature id) is of class ``wanted`` in ``truth`` (feature id -> class)."""
    if not hits:
        return 0.0
    return sum(truth.get(h.feature.get("id")) == wanted for h in hits) / len(hits)
