"""The Efficiency page's model comparison: real-shape costs counted once per process (seconds each).

:func:`shape_cost` is :func:`rsic_core.scoring.costs.shape_cost` (what ``rsic efficiency --shape``
prints) as a plain dict, cached with ``st.cache_data``: counting builds the model on the meta device
and has no side effect.
"""

from __future__ import annotations

import streamlit as st

from rsic_core.scoring import costs


@st.cache_data(show_spinner=False)
def shape_cost(shape: str) -> dict:
    """:meth:`~rsic_core.scoring.costs.ShapeCost.to_dict` of the real shape ``shape``."""
    return costs.shape_cost(shape).to_dict()


def measured(shapes: list[str]) -> tuple[list[costs.ShapeCost], list[str]]:
    """The costs of ``shapes``, each counted (with a spinner naming it) unless already cached, and one
    sentence per shape that could not be counted."""
    found, errors = [], []
    for shape in shapes:
        with st.spinner(f"Counting {shape} on the meta device (seconds, nothing allocated)..."):
            try:
                found.append(costs.ShapeCost(**shape_cost(shape)))
            except Exception as e:  # a family whose forward cannot run on fake tensors: say so, count the others
                errors.append(f"{shape} could not be counted ({type(e).__name__}: {str(e).splitlines()[0][:200]})")
    return found, errors
