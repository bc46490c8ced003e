"""Search a captioned scene by text, and tell which class a caption names.

Tiles are ranked by the cosine similarity of their caption embedding (stored in the GeoJSON by
:func:`rsic_core.scenes.caption.embed_captions`) to the query's embedding, made with the same
sentence embedder (named in the file). Tiles with the same caption tie; ties keep the scene's
order (row by row)::

    hits = search_scene(read_scene("scene.geojson"), "storage tanks", top=10)
    hits[0].score, hits[0].feature["properties"]["caption"]

The class a tile's caption names is read as the Compare page reads a prediction
(:class:`rsic_core.scoring.confusion.SceneNames`), among the classes of the model that captioned the
scene (its card's classes and the objects tied to them), so "there is a piece of farmland" names
``agricultural`` for the ucm model (its training references tie farmland to that class)::

    found = caption_classes([f["properties"]["caption"] for f in collection["features"]],
                            collection["rsic_scene"]["model"])
    found.classes, found.named[0]                  # ("agricultural", ...), "agricultural"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rsic_core.models.cards import model_card
from rsic_core.scenes.geojson import embeddings
from rsic_core.scoring.confusion import NONE, SceneNames
from rsic_core.text.words import words


@dataclass(frozen=True)
class Hit:
    """One tile found by a search."""

    rank: int  # 1 = best
    score: float  # cosine similarity of the caption to the query, -1..1
    feature: dict  # the GeoJSON feature


@dataclass(frozen=True)
class CaptionClasses:
    """The class each caption of a scene names, and which classes were looked for."""

    classes: tuple[str, ...]  # in the card's order (the Map page's colours follow it); empty: no classes known
    named: list[str]  # per caption: a class, several joined by " / ", or "(none)"
    origin: str  # where the classes come from, a phrase ("the 21 classes of the ucm model's card"); "" with none


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


def caption_classes(captions: Sequence[str], model: str | None, labels: Iterable[str] = ()) -> CaptionClasses:
    """The class each caption names, among the classes of the model that wrote the captions.

    The classes are those of the model's card (:func:`rsic_core.models.cards.model_card`) with the
    objects it ties to them; with no card, ``labels`` (e.g. the loaded dataset's classes); with
    neither, none. The class a caption names is :meth:`rsic_core.scoring.confusion.SceneNames.scene`,
    the same reading as the Compare page's scene confusion.

    Args:
        captions: the tiles' captions.
        model: the captioning model's name or folder (``rsic_scene.model`` of a captioned scene), or None.
        labels (none): the classes to use when the model has no card.
    """
    card = model_card(model) if model else None
    if card is not None and card.classes:
        classes = tuple(dict.fromkeys(card.classes))
        origin = f"the {len(classes)} classes of the {card.name} model's card"
        if card.class_keywords:
            n = len(card.class_keywords)
            origin += f" (and {n} object {'word' if n == 1 else 'words'} tied to them)"
        names = SceneNames.of_keywords(classes, card.class_keywords)
    else:
        classes = tuple(sorted({c for c in labels if c}))
        if not classes:
            return CaptionClasses((), [NONE] * len(captions), "")
        origin = f"the {len(classes)} classes of the dataset (the model has no card that lists its own)"
        names = SceneNames(classes)
    named = {c: names.scene(words(c)) for c in set(captions)}  # a scene repeats its captions
    return CaptionClasses(classes, [named[c] for c in captions], origin)


def precision_at_k(hits: Sequence[Hit], truth: dict[str, str], wanted: str) -> float:
    """Share of ``hits`` whose tile (feature id) is of class ``wanted`` in ``truth`` (feature id -> class)."""
    if not hits:
        return 0.0
    return sum(truth.get(h.feature.get("id")) == wanted for h in hits) / len(hits)
