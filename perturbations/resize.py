"""Rescaling by a factor with OpenCV: new size max(1, ⌊s·W + 0.5⌋) × max(1, ⌊s·H + 0.5⌋).

Bilinear (the default) is OpenCV ``INTER_LINEAR``: half-pixel centres, no antialiasing, as OpenCV and
albumentations resize by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from forgebench.plugin.contract import PerturbationPlugin

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST_EXACT,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}


@dataclass(frozen=True)
class ResizeParams:
    """``s``: scale factor > 0 (required); ``interp``: interpolation name."""

    s: float | None = None
    interp: Literal["nearest", "bilinear", "bicubic", "area", "lanczos"] = "bilinear"

    def __post_init__(self) -> None:
        if self.s is None or not math.isfinite(self.s) or self.s <= 0:
            raise ValueError(f"resize: s must be a scale factor > 0, e.g. resize:s=0.5, got {self.s!r}")
        if self.interp not in INTERPOLATIONS:
            raise ValueError(f"resize: interp must be one of {', '.join(INTERPOLATIONS)}, got {self.interp!r}")
        object.__setattr__(self, "s", float(self.s))


def resized_size(height: int, width: int, s: float) -> tuple[int, int]:
    """(height, width) after scaling by ``s``: each side max(1, ⌊s·side + 0.5⌋)."""
    return max(1, math.floor(s * height + 0.5)), max(1, math.floor(s * width + 0.5))


def _resize(pixels: np.ndarray, params: ResizeParams, rng: np.random.Generator) -> np.ndarray:
    height, width = resized_size(pixels.shape[0], pixels.shape[1], params.s)
    return cv2.resize(pixels, (width, height), interpolation=INTERPOLATIONS[params.interp])


PLUGIN = PerturbationPlugin(
    name="resize",
    summary="rescale by a factor s (OpenCV interpolation)",
    params=ResizeParams,
    apply=_resize,
    aliases={"scale": "s"},
    details=(
        "s: scale factor > 0; new size max(1, ⌊s·W + 0.5⌋) × max(1, ⌊s·H + 0.5⌋). "
        "interp: nearest (INTER_NEAREST_EXACT), bilinear (INTER_LINEAR, default: half-pixel centres, no antialias), "
        "bicubic (INTER_CUBIC), area (INTER_AREA) or lanczos (INTER_LANCZOS4). "
        "The detector's map is resized back to the ground-truth size before scoring."
    ),
)
