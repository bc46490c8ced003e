"""Word heatmaps for the app pages, computed once per model, image, caption settings and method.

A page asks for an image's explanation only when the user picks a word; the result (plain data: the
caption, the method and each word's heatmap on the model's grid) is kept with ``st.cache_data``, so
reruns, other words of the same caption and other sessions do not compute it again. :func:`word_picker`
draws the words of a caption as pills, flagged words first, and the overlay of the one picked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from rsic_core.models.grounding import Explanation, WordHeatmap, explain_images, overlay
from rsic_core.models.inference import CaptionConfig
from ui import models_cache


@st.cache_data(show_spinner="Finding where the model looked...", max_entries=256)
def explanation(
    image, model: str, adapter: str | None, caption: dict, method: str | None = None, name: str = ""
) -> dict:
    """:func:`rsic_core.models.grounding.explain_images` of one image (a path or an upload's bytes), as a dict.

    Args:
        image: a path (str) or raw bytes of an upload.
        model / adapter: as :func:`ui.models_cache.captioner` takes them.
        caption: the fields of the :class:`CaptionConfig` the caption was made with (unknown fields ignored).
        method (None): grounding method; None = the family's default.
        name (""): how to call the image in messages.
    """
    known = {f.name for f in dataclasses.fields(CaptionConfig)}
    config = CaptionConfig(**{k: v for k, v in (caption or {}).items() if k in known})
    captioner = models_cache.captioner(model, adapter)
    (found,) = explain_images(captioner, [image], config, method, names=[name or str(image)[:80]])
    return found.to_dict()


def from_dict(data: dict) -> Explanation:
    """The :class:`Explanation` of a cached dict."""
    words = [WordHeatmap(w["word"], [], np.asarray(w["heatmap"], dtype=np.float32)) for w in data.get("words", [])]
    size = tuple(data.get("image_size") or (0, 0))
    return Explanation(data.get("image", ""), data["caption"], data["method"], size, words, data.get("error"))


def ordered_words(words: list[str], flagged=()) -> list[int]:
    """Indices of the words worth a heatmap, the flagged ones (hallucinated objects) first.

    Those are the caption's content words less the words of its frame: "aerial" and the nouns that frame a
    scene or a place in it ("image", "area", "middle": :func:`rsic_core.text.words.is_scene_word`), which every
    "an aerial image of ..." caption has and whose heatmap says nothing about the scene.
    """
    from rsic_core.text.words import is_scene_word

    flagged = {f.lower() for f in flagged or ()}
    content = [i for i, w in enumerate(words) if is_scene_word(w)]
    return [i for i in content if words[i].lower() in flagged] + [i for i in content if words[i].lower() not in flagged]


def word_picker(container, key: str, image, shown, text: str, model: str, adapter, caption: dict, flagged=()) -> None:
    """Pills of the content words of the caption ``text`` (flagged first, marked ⚠); the overlay of the word picked.

    Args:
        container: where to draw (a column or the page).
        key: widget key, unique on the page.
        image: what the model reads (a path, or an upload's bytes).
        shown: the PIL image to draw the overlay on.
        text: the caption as the page shows it.
        model / adapter / caption: how the caption was made (see :func:`explanation`).
        flagged (()): words to list first (objects no reference names).

    Nothing is computed until a word is picked.
    """
    words = text.split()
    order = ordered_words(words, flagged)
    if not order:
        return
    flags = {w.lower() for w in flagged or ()}
    picked = container.pills(
        "Where the model looked for",
        order,
        format_func=lambda i: f"⚠ {words[i]}" if words[i].lower() in flags else words[i],
        key=key,
        help="Pick a word to see where the model looked for it (flagged words first).",
        wrap=True,  # in a column Streamlit keeps pills on one row that ran off the card
    )
    if picked is None:
        return
    data = explanation(image, model, adapter, caption)
    if data.get("error"):
        container.warning(data["error"])
        return
    found = from_dict(data)
    index = picked
    if found.caption != text:  # a run's captions were made in batches: the one made alone may differ
        container.caption(f"Made again alone, the caption reads “{found.caption}”; its heatmaps are shown.")
        same = [i for i, w in enumerate(found.words) if w.word.lower() == words[picked].lower()]
        if not same:
            container.info(f"“{words[picked]}” is not in the caption made again, so it has no heatmap.")
            return
        index = same[0]
    word = found.word(index)
    container.image(overlay(shown, word.heatmap), caption=f"{word.word} · {found.method}", width="stretch")
