"""Image cells of hub data files: one image's bytes, read by reference from a parquet or arrow file.

A hub dataset's record names its image ``data/train-00000-of-00001.parquet#row=12`` (relative to the
dataset folder, like any image file name). :func:`image_bytes` reads that one cell: from a parquet
file the row group that holds it (two row groups are kept, so reading the rows in order reads each
group once), from a ``save_to_disk`` arrow file the row of the memory-mapped file. Nothing else of
the file is read, and no image is decoded here (:mod:`rsic_core.data.images` does that).
"""

from __future__ import annotations

import bisect
import re
import threading
from functools import lru_cache
from pathlib import Path

from rsic_core.paths import check_regular

ROW = "#row="  # data file + ROW + row number: one image inside a parquet or arrow file
_REFERENCE = re.compile(r"(?P<file>.+\.(?:parquet|arrow))#row=(?P<row>\d+)")
_LOCK = threading.Lock()  # one reader at a time: the threads of a validation share the row-group cache


def image_column(schema) -> str | None:
    """The first column that is a struct with binary ``bytes`` (the ``datasets`` Image feature), or None."""
    import pyarrow as pa

    for f in schema:
        if pa.types.is_struct(f.type) and f.type.get_field_index("bytes") >= 0:
            kind = f.type.field("bytes").type
            if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
                return f.name
    return None


def schema(file: Path):
    """The arrow schema of a parquet or arrow file (its footer or header only).

    Raises:
        ValueError: the file is missing or not readable as parquet (arrow); the message names it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = "arrow" if file.suffix == ".arrow" else "parquet"
    check_regular(file)
    try:
        if kind == "arrow":
            return _arrow_table(str(file), _stamp(file)).schema
        return pq.read_schema(file)
    except FileNotFoundError:
        raise ValueError(f"{file}: no such {kind} file") from None
    except (pa.ArrowException, OSError):
        raise ValueError(f"{file}: not a readable {kind} file (corrupt, truncated or another format)") from None


def reference(file: str, row: int) -> str:
    """How a record names row ``row`` of a data file (a path relative to the dataset folder, like a file name)."""
    return f"{file}{ROW}{row}"


def file_of(name: str) -> str:
    """The data file of a reference (``data/train.parquet#row=3`` -> ``data/train.parquet``); other names as they are."""
    found = _REFERENCE.fullmatch(name)
    return found["file"] if found else name


def image_bytes(path: str | Path, label: str) -> bytes | None:
    """The image bytes a reference points to; None when ``path`` is no reference.

    Raises:
        ValueError: the data file is missing or unreadable, has no image column or no such row, or the
            cell holds no bytes; the message starts with ``label``.
    """
    found = _REFERENCE.fullmatch(str(path))
    if not found:
        return None
    file, row = Path(found["file"]), int(found["row"])
    try:
        with _LOCK:
            image = _image_column_of(str(file), _stamp(file))
            if image is None:
                raise ValueError(f"{file}: no image column (a struct with 'bytes')")
            cell = _arrow_cell(file, row, image) if file.suffix == ".arrow" else _parquet_cell(file, row, image)
    except ValueError as e:
        raise ValueError(f"{label}: {str(e).removeprefix(f'{file}: ')}") from None
    except OSError as e:  # the file went away or became unreadable after its schema was read
        raise ValueError(f"{label}: cannot be read ({e.strerror or e})") from None
    if cell is None:
        raise ValueError(f"{label}: the image cell holds no bytes")
    return cell


@lru_cache(maxsize=16)
def _image_column_of(file: str, stamp: tuple[int, int]) -> str | None:
    return image_column(schema(Path(file)))


def _stamp(file: Path) -> tuple[int, int]:
    """What makes a cached read of ``file`` stale: its modification time and size."""
    stat = file.stat()
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=8)
def _arrow_table(file: str, stamp: tuple[int, int]):
    """An arrow file ``save_to_disk`` wrote (the IPC stream format), memory-mapped: rows are read when used."""
    import pyarrow as pa

    return pa.ipc.open_stream(pa.memory_map(file)).read_all()


def arrow_table(file: Path):
    """The memory-mapped table of an arrow file (see :func:`schema` for the errors)."""
    schema(file)
    return _arrow_table(str(file), _stamp(file))


def _arrow_cell(file: Path, row: int, image: str) -> bytes | None:
    table = _arrow_table(str(file), _stamp(file))
    if row >= table.num_rows:
        raise ValueError(f"{file}: no row {row} (the file has {table.num_rows})")
    return table.column(image)[row]["bytes"].as_py()


def _parquet_cell(file: Path, row: int, image: str) -> bytes | None:
    starts = _row_groups(str(file), _stamp(file))
    if row >= starts[-1]:
        raise ValueError(f"{file}: no row {row} (the file has {starts[-1]})")
    group = bisect.bisect_right(starts, row) - 1
    return _group_images(str(file), _stamp(file), group, image)[row - starts[group]].as_py()


@lru_cache(maxsize=16)
def _row_groups(file: str, stamp: tuple[int, int]) -> list[int]:
    """The first row of each row group of a parquet file, then its row count."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(file).metadata
    starts = [0]
    for g in range(meta.num_row_groups):
        starts.append(starts[-1] + meta.row_group(g).num_rows)
    return starts


@lru_cache(maxsize=2)  # a row group of images can hold 100 MB: two in memory at most
def _group_images(file: str, stamp: tuple[int, int], group: int, image: str):
    """The image bytes of one row group (only the ``bytes`` leaf is read)."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(file).read_row_group(group, columns=[f"{image}.bytes"])
    return table.column(0).combine_chunks().field("bytes")


def read_columns(file: Path, image: str, wanted: list[str]) -> tuple[dict[str, list], list, list[bool]]:
    """The values of every column but the images, each image cell's path, and whether it holds bytes.

    No image is read: an arrow file is memory-mapped, and a parquet row group whose statistics say
    that no cell lacks bytes is taken at its word (the bytes of the others are read to find which).

    Raises:
        ValueError: the file cannot be read (its data is corrupt or truncated); the message names it.
    """
    import pyarrow as pa

    try:
        return _read_columns(file, image, wanted)
    except (pa.ArrowException, OSError):
        kind = "arrow" if file.suffix == ".arrow" else "parquet"
        raise ValueError(f"{file}: not a readable {kind} file (corrupt or truncated data)") from None


def _read_columns(file: Path, image: str, wanted: list[str]) -> tuple[dict[str, list], list, list[bool]]:
    import pyarrow.parquet as pq

    if file.suffix == ".arrow":
        table = arrow_table(file)
        images = table.column(image)
        return {c: table.column(c).to_pylist() for c in wanted}, _paths(images), _with_bytes(images)
    parquet = pq.ParquetFile(file)
    with_path = parquet.schema_arrow.field(image).type.get_field_index("path") >= 0
    table = parquet.read(columns=wanted + ([f"{image}.path"] if with_path else []))
    paths = _paths(table.column(image)) if with_path else [None] * table.num_rows
    return {c: table.column(c).to_pylist() for c in wanted}, paths, _parquet_with_bytes(parquet, image)


def _paths(images) -> list:
    """The ``path`` of each cell of a chunked struct column (None where the cell or its path is null)."""
    out: list = []
    for chunk in images.chunks:
        if chunk.type.get_field_index("path") < 0:
            out += [None] * len(chunk)
        else:
            valid = chunk.is_valid().to_pylist()
            out += [p if v else None for p, v in zip(chunk.field("path").to_pylist(), valid)]
    return out


def _with_bytes(images) -> list[bool]:
    """Whether each cell of a chunked struct column holds bytes (the bytes are not copied)."""
    import pyarrow.compute as pc

    out: list[bool] = []
    for chunk in images.chunks:
        out += pc.and_(chunk.is_valid(), chunk.field("bytes").is_valid()).to_pylist()
    return out


def _parquet_with_bytes(parquet, image: str) -> list[bool]:
    """Whether each image cell of a parquet file holds bytes, from the row groups' null counts where they tell."""
    meta = parquet.metadata
    leaf = next(i for i in range(meta.num_columns) if meta.schema.column(i).path == f"{image}.bytes")
    out: list[bool] = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        stats = group.column(leaf).statistics
        if stats is not None and stats.has_null_count and stats.null_count == 0:
            out += [True] * group.num_rows
        else:
            out += _with_bytes(parquet.read_row_group(g, columns=[f"{image}.bytes"]).column(image))
    return out
