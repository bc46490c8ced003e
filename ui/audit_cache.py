"""The Explorer's Audit tab: one audit per dataset file, its modification time and the threshold.

Hashing every image is the slow part (about 1 ms an image), so the hashes are kept apart from the report:
another threshold or a rerun of the page never hashes again, until the annotation file changes.
"""

from __future__ import annotations

import streamlit as st

from rsic_core.data.audit import AuditReport, ImageHashes, audit, hash_images
from ui import resources


@st.cache_data(show_spinner="Hashing the images (about 1 s per 1,000 images)...", max_entries=4)
def _hashes(path: str, mtime: float) -> ImageHashes:
    return hash_images(resources.load_dataset(path))


@st.cache_data(show_spinner="Auditing the splits...", max_entries=16)
def _audit(path: str, mtime: float, threshold: int) -> AuditReport:
    return audit(resources.load_dataset(path), threshold=threshold, hashes=_hashes(path, mtime))


def audit_report(path: str, threshold: int) -> AuditReport:
    """The audit of the dataset at ``path`` (see :func:`rsic_core.data.audit.audit`), computed once."""
    return _audit(path, resources._mtime(path), int(threshold))
