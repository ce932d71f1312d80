"""Error Level Analysis (Krawetz 2007), the ``ela`` detector.

A region pasted from another source usually carries a different compression history, so re-encoding the whole
image once changes it by a different amount. The map is |I − JPEG_q(I)|, averaged over RGB, box-smoothed (the
per-pixel error follows edges and texture; a box mean turns it into a local level that a region can differ in)
and calibrated one-sided.
The result depends on the encoder: Pillow's libjpeg(-turbo), default DCT method, chroma subsampling pinned to
:data:`SUBSAMPLING`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
from PIL import Image

from forgebench.detectors.classic.calibrate import PerImageDetector, one_sided
from forgebench.plugin.contract import DetectorCard, DetectorPlugin

SUBSAMPLING = "4:2:0"
CHANNEL_MEAN = np.full(3, 1 / 3, np.float32)


@dataclass(frozen=True)
class ElaOptions:
    quality: int = 90
    """JPEG quality of the re-encoding."""
    box: int = 7
    """Side in pixels of the box filter applied to the error map."""
    z0: float = 3.0
    """Robust z-score that maps to p = 0.5."""


def error_level(pixels: np.ndarray, quality: int) -> np.ndarray:
    """Mean over RGB of |I − JPEG_quality(I)| in 0…255 grey levels, float32 H×W."""
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, format="JPEG", quality=quality, subsampling=SUBSAMPLING)
    recompressed = np.asarray(Image.open(encoded).convert("RGB"))
    # A matrix product averages the channels ~10× faster than ndarray.mean(axis=2).
    return cv2.absdiff(pixels, recompressed).astype(np.float32) @ CHANNEL_MEAN


def ela_probability(pixels: np.ndarray, options: ElaOptions) -> np.ndarray:
    """P(forged) per pixel: box-smoothed error level through the one-sided rule."""
    smoothed = cv2.blur(error_level(pixels, options.quality), (options.box, options.box))
    return one_sided(smoothed, options.z0)


def _build(options: ElaOptions, device: str) -> PerImageDetector:
    return PerImageDetector(partial(ela_probability, options=options), device)


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="ela",
        summary=f"Error Level Analysis: mean RGB |I − JPEG_q(I)| (Pillow, q=90, {SUBSAMPLING}), 7×7 box mean",
        paper="N. Krawetz, “A Picture's Worth: Digital Image Analysis and Forensics”, Black Hat Briefings USA 2007",
        licence="Apache-2.0 (own implementation)",
        to_probability="one-sided: p = σ((m − median)/(1.4826·MAD) − z0), z0 = 3, per image; MAD = 0 → "
        "√(π/2)·mean abs deviation; constant map → σ(−z0) everywhere (abstain)",
    ),
    options=ElaOptions,
    build=_build,
)
