"""The photographs the synthetic suite is cut from: bundled with scikit-image and matplotlib, never downloaded."""

from __future__ import annotations

from functools import cache
from types import MappingProxyType

import cv2
import matplotlib.cbook
import numpy as np
import skimage.data
from PIL import Image

SOURCE_SPLITS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "train": (
            "chelsea", "hubble_deep_field", "immunohistochemistry", "retina",
            "moon", "brick", "grass", "gravel", "cell",
        ),
        "val": ("clock", "coins", "page", "motorcycle_left", "motorcycle_right"),
        "test": ("astronaut", "coffee", "rocket", "grace_hopper", "camera"),
    }
)  # fmt: skip
"""Which photographs each split may use; no photograph appears in two splits."""

SPLITS = tuple(SOURCE_SPLITS)


@cache
def load_photo(name: str) -> np.ndarray:
    """The named photograph as a read-only H×W×3 uint8 RGB array (grey photographs expanded)."""
    known = sorted(name for names in SOURCE_SPLITS.values() for name in names)
    if name not in known:
        raise ValueError(f"unknown source photograph {name!r}; choose one of {known}")
    if name == "grace_hopper":
        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    elif name.startswith("motorcycle_"):  # the two views of scikit-image's stereo pair
        pixels = skimage.data.stereo_motorcycle()[0 if name.endswith("left") else 1]
    else:
        pixels = getattr(skimage.data, name)()
    pixels = np.ascontiguousarray(np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels[..., :3])
    pixels.setflags(write=False)
    return pixels


def random_crop(photo: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A ``size`` = (height, width) crop at a random place; a smaller photograph is upscaled once to cover it."""
    height, width = size
    scale = max(height / photo.shape[0], width / photo.shape[1])
    if scale > 1:
        cover = (max(width, round(photo.shape[1] * scale)), max(height, round(photo.shape[0] * scale)))
        photo = cv2.resize(photo, cover, interpolation=cv2.INTER_CUBIC)
    top = int(rng.integers(0, photo.shape[0] - height + 1))
    left = int(rng.integers(0, photo.shape[1] - width + 1))
    return photo[top : top + height, left : left + width].copy()
