"""From a classic detector's raw map to forgebench's probability map.

A raw map is in the detector's own units, so each image is calibrated against itself: a value's robust z-score
within the map, minus ``z0``, goes through the logistic function, and p > 0.5 means "more than z0 robust standard
deviations above (one-sided) or away from (two-sided) this image's typical level".

Magnitude maps (ELA) go through :func:`one_sided`, noise-level maps (NOI1) through :func:`two_sided`; block maps
are brought to the image size by :func:`expand_blocks`. :class:`PerImageDetector` wraps a pixels → probability
function into the contract's :class:`~forgebench.plugin.contract.Detector`; :func:`luma` is the grey image the block
detectors (NOI1, ADQ1) read.

Robust scale: 1.4826·MAD (σ of a Gaussian). When more than half the values equal the median (e.g. ELA on an image
that is mostly flat) the MAD is 0; the scale then falls back to √(π/2)·mean|m − median|, which is also σ for a
Gaussian. When that is 0 too the map is constant and every pixel gets σ(−z0): the detector abstains (nothing is
forged at the 0.5 threshold). No epsilon is added anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from forgebench.plugin.contract import Detector, ImageInput, Prediction

MAD_TO_SIGMA = 1.4826
MEAN_DEVIATION_TO_SIGMA = math.sqrt(math.pi / 2)
BT601 = np.array([0.299, 0.587, 0.114])
"""ITU-R BT.601 weights of R, G and B in the luma Y (JPEG's Y of YCbCr)."""


def luma(pixels: np.ndarray, dtype: type[np.floating] = np.float64) -> np.ndarray:
    """BT.601 luma of H×W×3 RGB in 0…255 grey levels, H×W, computed and returned in ``dtype``."""
    return pixels.astype(dtype) @ BT601.astype(dtype)


def robust_z(values: np.ndarray) -> np.ndarray:
    """(values − median) / robust scale; all zeros for a constant map (see the module docstring)."""
    centre = np.median(values)
    deviation = np.abs(values - centre)
    scale = MAD_TO_SIGMA * np.median(deviation)
    if scale == 0:
        scale = MEAN_DEVIATION_TO_SIGMA * deviation.mean()
    if scale == 0:
        return np.zeros(values.shape)
    return (values - centre) / scale


def one_sided(magnitude: np.ndarray, z0: float = 3.0) -> np.ndarray:
    """p = σ(robust_z(m) − z0): only values well above the image's typical level count as forged."""
    return expit(robust_z(magnitude) - z0).astype(np.float32)


def two_sided(level: np.ndarray, z0: float = 3.0) -> np.ndarray:
    """p = σ(|robust_z(log m)| − z0) for a level map m ≥ 0: a region noisier *or* smoother than the rest is forged.

    Zeros (a perfectly flat block) are floored at the smallest positive value, so they count as "the smoothest
    block seen" instead of −∞; a map without any positive value is constant and abstains.
    """
    positive = level[level > 0]
    if positive.size == 0:
        return np.full(level.shape, expit(-z0), np.float32)
    return expit(np.abs(robust_z(np.log(np.maximum(level, positive.min())))) - z0).astype(np.float32)


def full_blocks(shape: tuple[int, ...], block_px: int) -> tuple[int, int]:
    """How many whole block_px × block_px blocks fit in an image of ``shape`` (rows, columns)."""
    rows, cols = shape[0] // block_px, shape[1] // block_px
    if rows == 0 or cols == 0:
        raise ValueError(f"image {shape[0]}×{shape[1]} is smaller than one {block_px}×{block_px} block")
    return rows, cols


def expand_blocks(block_map: np.ndarray, block_px: int, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest upsampling (block (i, j) → pixels [i·b, (i+1)·b) × [j·b, (j+1)·b)) to ``shape[:2]``, float32.

    Rows and columns past the last whole block get the map's median, so the remainder reads as "typical" and
    neither as forged nor as pristine.
    """
    expanded = np.full(shape[:2], np.median(block_map), np.float32)
    covered = np.repeat(np.repeat(block_map, block_px, axis=0), block_px, axis=1)[: shape[0], : shape[1]]
    expanded[: covered.shape[0], : covered.shape[1]] = covered
    return expanded


@dataclass(frozen=True)
class PerImageDetector(Detector):
    """A weight-free CPU detector that turns each image's pixels into a probability map on its own."""

    probability_map: Callable[[np.ndarray], np.ndarray]
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.device != "cpu":
            raise ValueError(f"classic detectors run on cpu only, not {self.device!r}")

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        return [Prediction(probability=self.probability_map(item.pixels)) for item in batch]
