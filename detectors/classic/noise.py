"""NOI1, wavelet noise-level inconsistency (Mahdian & Saic 2009), the ``noi1`` detector.

Noise level per block = median(|HH|)/0.6745 of the finest diagonal db8 wavelet band of the luma, one value per
16×16 image pixels; a spliced region is often noisier or smoother than its host, hence the two-sided rule.

Where the blocks sit: ``pywt.dwt2(..., 'db8', mode='symmetric')`` returns (n + 15)//2 coefficients per axis for n
pixels, 7 more than n/2. db8 is minimum-phase, so each coefficient's weight is lopsided: an impulse at pixel 2k or
2k + 1 puts its energy centroid on coefficient k + 1. We therefore drop the first HH row and column
(:data:`HH_LAG`), which makes HH block (i, j) cover image rows 16i…16i + 15 and columns 16j…16j + 15; the ≤15-pixel
remainder at the bottom/right is padded with the map's median. (MKLab crops HH from its first coefficient and
stretches the map over the image, which shifts blocks by up to ~14 pixels.) The first block row/column still sees
mirrored pixels through the 16-tap support, which keeps the noise statistics of the border.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pywt

from forgebench.detectors.classic.calibrate import PerImageDetector, expand_blocks, full_blocks, luma, two_sided
from forgebench.plugin.contract import DetectorCard, DetectorPlugin

HH_BLOCK = 8
IMAGE_BLOCK = 2 * HH_BLOCK
HH_LAG = 1
MEDIAN_ABS_GAUSSIAN = 0.6745  # median of |N(0, 1)|


@dataclass(frozen=True)
class Noi1Options:
    z0: float = 3.0
    """Robust z-score of |log σ| that maps to p = 0.5."""


def noise_level(pixels: np.ndarray) -> np.ndarray:
    """σ (grey levels) per 16×16 image block, shape (H//16, W//16)."""
    rows, cols = full_blocks(pixels.shape, IMAGE_BLOCK)
    _, (_, _, diagonal) = pywt.dwt2(luma(pixels, np.float32), "db8", mode="symmetric")
    band = diagonal[HH_LAG : HH_LAG + rows * HH_BLOCK, HH_LAG : HH_LAG + cols * HH_BLOCK]
    blocks = np.abs(band).reshape(rows, HH_BLOCK, cols, HH_BLOCK).transpose(0, 2, 1, 3)
    return np.median(blocks.reshape(rows, cols, -1), axis=2) / MEDIAN_ABS_GAUSSIAN


def noi1_probability(pixels: np.ndarray, options: Noi1Options) -> np.ndarray:
    """P(forged) per pixel: two-sided rule on the block noise levels, expanded to the image size."""
    return expand_blocks(two_sided(noise_level(pixels), options.z0), IMAGE_BLOCK, pixels.shape)


def _build(options: Noi1Options, device: str) -> PerImageDetector:
    return PerImageDetector(partial(noi1_probability, options=options), device)


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="noi1",
        summary="NOI1 noise level: median(|HH|)/0.6745 of the db8 diagonal band of BT.601 luma per 16×16 px block",
        paper="B. Mahdian, S. Saic, “Using noise inconsistencies for blind image forensics”, "
        "Image and Vision Computing 27(10), 2009",
        licence="Apache-2.0 (own implementation)",
        to_probability="two-sided: p = σ(|log σ − median(log σ)|/(1.4826·MAD(log σ)) − z0), z0 = 3, per image; "
        "σ = 0 floored at the smallest positive σ; constant map → σ(−z0) (abstain); blocks expanded nearest, "
        "remainder padded with the median",
    ),
    options=Noi1Options,
    build=_build,
)
