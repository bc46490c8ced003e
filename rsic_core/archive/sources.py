"""What an archive job captions: ``SOURCE...`` arguments turned into image references (no ray here).

A source is an image file, a folder, a dataset annotation file of any format the project reads
(:func:`rsic_core.data.datasets.load_dataset`) or a parquet file with an image column. A folder
gives the images under it (as ``rsic caption`` does), else the image cells of the parquet files
under it, else the dataset it holds (a ``save_to_disk`` folder, a Karpathy folder without images).

Example::

    refs = collect_sources(["scenes/", "extra.parquet"])
    refs[0].key          # "/data/scenes/a.jpg", or "/data/extra.parquet#row=0" for a parquet cell (resolved paths)

Scene tiles or images already in memory are ``ImageRef(key, data)`` with ``data`` the encoded
image (PNG/JPEG/TIFF bytes) or a NumPy array (see :func:`encode_array`); ``key`` names the image
in the archive and must be unique.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from rsic_core.data import cells
from rsic_core.data.images import images_under

DATASET_SUFFIXES = (".json", ".jsonl", ".csv")
NPY_MAGIC = b"\x93NUMPY"  # how :func:`encode_array` bytes start


@dataclass(frozen=True)
class ImageRef:
    """One image of an archive job: its unique key and, for images not on disk, its bytes."""

    key: str  # the image's name in the archive: a path, a ``file.parquet#row=N`` cell, or a tile id
    data: bytes | None = None  # encoded image or :func:`encode_array` bytes; None: read ``key`` as a path

    @property
    def source(self):
        """What :func:`rsic_core.data.images.read_image` opens for this image."""
        return self.data if self.data is not None else self.key


def encode_array(array) -> bytes:
    """A NumPy image array (H x W x 3 uint8, or H x W) as ``.npy`` bytes (no pickle) for :class:`ImageRef`."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def decode_source(data: bytes | None, key: str):
    """The ``read_image`` source of a reference's data: a PIL image for ``.npy`` bytes, else the bytes or key."""
    if data is None:
        return key
    if bytes(data[:6]) == NPY_MAGIC:
        import numpy as np
        from PIL import Image

        try:
            return Image.fromarray(np.load(io.BytesIO(data), allow_pickle=False))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{key}: not an image array ({e})") from None
    return bytes(data)


def collect_sources(paths: list[str]) -> list[ImageRef]:
    """The images the ``SOURCE...`` arguments name, in order, each image once, keyed by resolved path.

    However a path is spelled (relative, with ``..``, through a link), the same file gets the same key,
    so an archive resumed with another spelling captions nothing twice.

    Raises:
        FileNotFoundError: a source does not exist, or nothing at all was found.
        ValueError: a dataset or parquet source cannot be read (one sentence naming it).
    """
    refs: dict[str, ImageRef] = {}
    for name in paths:
        for ref in _expand(Path(name).expanduser()):
            ref = ImageRef(canonical_key(ref.key)) if ref.data is None else ref
            refs.setdefault(ref.key, ref)
    if not refs:
        raise FileNotFoundError(f"no image found in {', '.join(paths)}")
    return list(refs.values())


def canonical_key(key: str) -> str:
    """The key of an image on disk by its resolved path (links followed), so that ``imgs/a.jpg``, ``./imgs/a.jpg``
    and ``/data/imgs/a.jpg`` are one image in the archive; a ``file.parquet#row=N`` cell by its file's."""
    file, mark, row = key.partition(cells.ROW)
    try:
        return str(Path(file).expanduser().resolve()) + mark + row
    except (OSError, RuntimeError):  # a link loop, a name too long: the image's error row names it as typed
        return key


def refs_of_records(records) -> list[ImageRef]:
    """One reference per dataset record (its image path, or its parquet cell), keyed by ``str(record.path)``."""
    return [ImageRef(str(r.path)) for r in records]


def _expand(path: Path) -> list[ImageRef]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        images = images_under(path)
        if images:
            return [ImageRef(str(p)) for p in images]
        tables = sorted(path.rglob("*.parquet"))
        if tables:
            return [ref for table in tables for ref in parquet_cells(table)]
        return _dataset(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return parquet_cells(path)
    if suffix in DATASET_SUFFIXES:
        return _dataset(path)
    return [ImageRef(str(path))]  # an image, or a file that gets its error row when read


def parquet_cells(file: Path) -> list[ImageRef]:
    """One reference per row of a parquet file's image column (``file.parquet#row=N``).

    Raises:
        ValueError: the file is not readable parquet or has no image column of ``{bytes, path}``.
    """
    import pyarrow.parquet as pq

    schema = cells.schema(file)
    if cells.image_column(schema) is None:
        raise ValueError(f"{file}: no image column (a struct with binary 'bytes', as the datasets Image feature)")
    rows = pq.ParquetFile(file).metadata.num_rows
    return [ImageRef(cells.reference(str(file), row)) for row in range(rows)]


def _dataset(path: Path) -> list[ImageRef]:
    from rsic_core.data.datasets import load_dataset

    return refs_of_records(load_dataset(path).records)
