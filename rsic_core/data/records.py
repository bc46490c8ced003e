"""The plain values a dataset is made of: an image with its captions, and a problem found in input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class ImageRecord:
    """One image and its reference captions."""

    image_id: str  # unique within the dataset (the file name relative to the image folder)
    folder: Path  # the image folder (one shared object: building 44k Paths costs a second)
    file: str  # relative to ``folder`` (a class subfolder in NWPU; ``data/x.parquet#row=3`` for the hub layout)
    split: str  # train / val / test (or what the file says)
    captions: list[str]  # reference captions as written in the file, empty ones dropped
    label: str | None = None  # scene class where the format tells it (RSICD, UCM, NWPU, demo)
    source: str | None = None  # originating dataset where the format tells it (RISC)
    has_image: bool = True  # False when the file was not found while indexing (or a hub cell has no bytes)

    @property
    def path(self) -> Path:
        """Where the image file is (or should be); what :func:`rsic_core.data.images.load_image` opens."""
        return self.folder / self.file

    def load_image(self):
        """The image as RGB PIL, read now (``ValueError`` naming the file if it cannot be)."""
        from rsic_core.data.images import load_image

        return load_image(self.path, name=f"{self.path} (image {self.image_id})")


@dataclass(slots=True, frozen=True)
class Problem:
    """Something wrong in the input, named by file and entry."""

    file: str  # the annotation or image file
    entry: str  # the row, image or field inside it
    message: str  # what is wrong and what was done about it

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}"
