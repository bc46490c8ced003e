"""Cached captioning models for the app (one load per model, adapter, device and precision)."""

from __future__ import annotations

import streamlit as st

from rsic_core.models.base import Captioner
from rsic_core.models.registry import load_captioner


@st.cache_resource(show_spinner="Loading the captioning model...", max_entries=2)
def captioner(
    model: str = "demo", adapter: str | None = None, device: str | None = None, dtype: str | None = None
) -> Captioner:
    """The model loaded by :func:`rsic_core.models.registry.load_captioner`, kept across reruns and sessions."""
    return load_captioner(model or "demo", adapter=adapter or None, device=device or None, dtype=dtype or None)
