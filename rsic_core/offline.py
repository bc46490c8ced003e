"""Whether the Hugging Face hub can be reached, asked once before a slow hub call fails.

Loading an id that is not in the local cache makes huggingface_hub retry for a minute or more
when there is no network; models and sentence embedders ask :func:`hub_unreachable` first and fail
at once with one sentence instead. It sits at the bottom layer beside ``paths`` so that
``rsic_core.text`` (the embedder) and ``rsic_core.models`` share it.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def hub_unreachable(timeout: float = 3.0) -> bool:
    """True when ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` is set or the hub host does not answer in ``timeout`` s."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return False
    except OSError:
        return True
