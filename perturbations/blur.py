"""Gaussian blur with OpenCV's kernel rules and a reflect-101 border.

Give ``k`` (odd kernel size, px), ``sigma`` (standard deviation, px) or both:

- only ``k``: OpenCV derives the kernel from k. For k = 3, 5, 7 it uses fixed tables, not a Gaussian formula:
  [1, 2, 1]/4, [1, 4, 6, 4, 1]/16, [2, 7, 14, 18, 14, 7, 2]/64. For k ≥ 9, σ = 0.3·((k − 1)/2 − 1) + 0.8.
- only ``sigma``: the kernel size is round(6σ + 1), forced odd, as OpenCV does for uint8 images.
- both: used as given.

OpenCV blurs uint8 in fixed point, so it may differ by ±1 grey level from an exact float convolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from forgebench.plugin.contract import PerturbationPlugin


@dataclass(frozen=True)
class BlurParams:
    """``k``: odd kernel size in px; ``sigma``: standard deviation in px. At least one is required."""

    k: int | None = None
    sigma: float | None = None

    def __post_init__(self) -> None:
        if self.k is None and self.sigma is None:
            raise ValueError("blur: give k (odd kernel size), sigma (std in px) or both, e.g. blur:k=7")
        if self.k is not None and (
            isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1 or not self.k % 2
        ):
            raise ValueError(f"blur: k must be an odd integer ≥ 1, got {self.k!r}")
        if self.sigma is not None:
            if not math.isfinite(self.sigma) or self.sigma <= 0:
                raise ValueError(f"blur: sigma must be a finite number > 0, got {self.sigma!r}")
            object.__setattr__(self, "sigma", float(self.sigma))


def _blur(pixels: np.ndarray, params: BlurParams, rng: np.random.Generator) -> np.ndarray:
    size = (params.k, params.k) if params.k is not None else (0, 0)
    return cv2.GaussianBlur(pixels, size, sigmaX=params.sigma or 0, borderType=cv2.BORDER_REFLECT_101)


PLUGIN = PerturbationPlugin(
    name="blur",
    summary="Gaussian blur (OpenCV kernel rules, reflect-101 border)",
    params=BlurParams,
    apply=_blur,
    aliases={"ksize": "k", "kernel": "k"},
    details=(
        "k: odd kernel size in px; sigma: standard deviation in px; give either or both. "
        "Only k: OpenCV's fixed tables for k = 3, 5, 7 ([1,2,1]/4, [1,4,6,4,1]/16, [2,7,14,18,14,7,2]/64), "
        "σ = 0.3·((k−1)/2 − 1) + 0.8 for k ≥ 9 (k = 11, 15, 19, 23 → σ = 2.0, 2.6, 3.2, 3.8). "
        "Only sigma: kernel size round(6σ + 1) forced odd. Border reflect-101 (OpenCV default)."
    ),
)
