"""Training-image augmentation for aerial photos: dihedral views and random crops.

    rsic train --data UCM --augment dihedral,crop ...      # TrainConfig.augment
    augment = Augmenter(("dihedral", "crop"), seed=0)
    image = augment(image)                                 # a PIL image in, a PIL image out

An aerial photo has no "up": its eight dihedral views (four 90-degree rotations, each mirrored or
not) show the same scene, so ``dihedral`` multiplies a small training set by eight for free.
``crop`` keeps a random square of 60-100 % of the image's area (the model's processor resizes it
to its input size), so the model does not tie a class to the exact scale of one photo.

Written here with Pillow's own ``transpose`` and ``crop`` because torchvision (whose
``RandomResizedCrop`` and flips do this) cannot be installed beside this project's torch; the
draws come from a seeded :class:`random.Random`, so a run with the same seed sees the same views.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from PIL import Image

AUGMENTATIONS = ("dihedral", "crop")
CROP_AREA = (0.6, 1.0)  # share of the image's area that a random crop keeps
_DIHEDRAL = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)


def check_augmentations(names: Iterable[str]) -> tuple[str, ...]:
    """The augmentation names, each one of :data:`AUGMENTATIONS`; an unknown one is refused in one sentence."""
    names = tuple(names)
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"augment: unknown augmentation {unknown[0]!r} (choose from {', '.join(AUGMENTATIONS)})")
    return names


class Augmenter:
    """Applies the chosen augmentations to one image at a time, drawing from a seeded generator.

    Args:
        names: augmentations of :data:`AUGMENTATIONS` (empty: images pass unchanged).
        seed (0): seed of the draws.
    """

    def __init__(self, names: Iterable[str] = (), seed: int = 0):
        self.names = check_augmentations(names)
        self.rng = random.Random(seed)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, image: Image.Image) -> Image.Image:
        if "crop" in self.names:
            side = min(image.size)
            crop = max(1, round(side * math.sqrt(self.rng.uniform(*CROP_AREA))))
            left = self.rng.randint(0, image.width - crop)
            top = self.rng.randint(0, image.height - crop)
            image = image.crop((left, top, left + crop, top + crop))
        if "dihedral" in self.names:
            view = self.rng.choice(_DIHEDRAL)
            image = image.transpose(view) if view is not None else image
        return image
