"""The Save these captions control of the Caption statistics and Synonym clusters pages.

It writes the captions the page shows (the loaded dataset, the page's settings) as a caption set
under ``rsic_home()/captions/<name>/`` with the writer of ``rsic preprocess --out``
(:func:`rsic_core.data.caption_sets.save_caption_set`); a name already taken is refused, nothing is
overwritten. The Train page offers the saved sets made from the loaded dataset.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rsic_core.data import caption_sets
from rsic_core.paths import captions_dir
from ui import state


def save_control(page: str, dataset, config, result_of: Callable) -> None:
    """A name box and a Save these captions button, in an expander.

    Args:
        page: the page's key prefix (``statistics``, ``synonyms``): keys ``<page>_save_name``, ``<page>_save``.
        dataset: the loaded dataset.
        config: the :class:`~rsic_core.text.preprocess.PreprocessConfig` of the page's settings.
        result_of: returns the :class:`~rsic_core.text.preprocess.PreprocessResult` of ``config`` (called on save).
    """
    with st.expander("Save these captions", icon=":material/save:"):
        st.caption(
            f"Writes the loaded dataset's captions, preprocessed with the settings above, as a caption set under "
            f"`{captions_dir()}` (as `rsic preprocess --out` does); a training run can use it as its targets."
        )
        default = caption_sets.default_set_name(dataset.name, config)
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        # Keyed by the settings, not by the proposed name: after a save the box keeps the name it showed
        # (saving again is refused), and other settings propose a new one.
        key = state.widget_key(f"{page}_save_name", state.dataset_path(), repr(config))
        name = left.text_input("Set name", value=default, key=key)
        if not right.button("Save these captions", key=f"{page}_save", icon=":material/save:"):
            return
        try:
            result = result_of()
            written = caption_sets.save_caption_set(dataset, result, name.strip())
        except (OSError, ValueError) as e:
            st.error(str(e))
            return
        st.success(
            f"Saved caption set **{written.folder.name}** to `{written.folder}`. Train on it with "
            f"`rsic train --data {state.dataset_path()} --train-captions {written.folder}`, or pick it under "
            "Training captions on the Train page."
        )
        for note in written.notes:
            st.info(note)
        if not result.guard.ok:
            st.warning("The guard refuses these captions (see Guard): a training run on this set will be refused.")
