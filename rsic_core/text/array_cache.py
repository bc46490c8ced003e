"""Caches of plain arrays on disk (word vectors, 2-D layouts): read without pickle, written atomically.

A cache file that is absent reads as nothing; one that is planted, truncated or of another layout
raises ``ValueError`` saying why, so the caller can compute again and say so. Writing goes to a
temporary file renamed into place, so a reader never sees half a file.

Example::

    vectors = read_word_vectors(path)                            # {} when there is no file
    write_atomically(path, lambda f: np.savez(f, words=w, vectors=v))
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np


def read_word_vectors(path: Path) -> dict[str, np.ndarray]:
    """``{word: vector}`` from a word-vector cache file; empty when there is none.

    Raises:
        ValueError: the file is broken or not the word and vector arrays such a file holds (the reason).
    """
    if not (path.exists() or path.is_symlink()):
        return {}
    try:
        with np.load(path, allow_pickle=False) as stored:
            words, vectors = stored["words"], stored["vectors"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:  # truncated, object arrays...
        raise ValueError(" ".join(str(e).split()) or type(e).__name__) from None
    if words.dtype.kind != "U" or vectors.dtype.kind != "f" or vectors.ndim != 2 or len(words) != len(vectors):
        raise ValueError("not the word and vector arrays of a word-vector cache")
    return dict(zip(words.tolist(), vectors))


def write_atomically(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place.

    A cache that cannot be written (read-only or full disk) is skipped: the next call recomputes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
