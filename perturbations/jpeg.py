"""JPEG compression: encode with libjpeg(-turbo) through Pillow at an IJG quality, then decode back to RGB.

Standard IJG tables scaled by ``q``, baseline, no Huffman optimisation, chroma subsampling ``ss`` (default 4:2:0,
the libjpeg and OpenCV default). Already-JPEG test images become double-compressed, which is part of the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from forgebench.perturbations.codec import PILLOW_SUBSAMPLING, decode_jpeg, encode_jpeg
from forgebench.plugin.contract import PerturbationPlugin


@dataclass(frozen=True)
class JpegParams:
    """``q``: IJG quality 1–100; ``ss``: chroma subsampling 444, 422 or 420."""

    q: int | None = None
    ss: Literal[444, 422, 420] = 420

    def __post_init__(self) -> None:
        if self.q is None:
            raise ValueError("jpeg: give the quality q (1–100), e.g. jpeg:q=70")
        if isinstance(self.q, bool) or not isinstance(self.q, int) or not 1 <= self.q <= 100:
            raise ValueError(f"jpeg: q must be an integer 1–100, got {self.q!r}")
        if self.ss not in PILLOW_SUBSAMPLING:
            raise ValueError(f"jpeg: ss must be 444, 422 or 420, got {self.ss!r}")


def _compress(pixels: np.ndarray, params: JpegParams, rng: np.random.Generator) -> np.ndarray:
    return decode_jpeg(encode_jpeg(pixels, params.q, params.ss))


PLUGIN = PerturbationPlugin(
    name="jpeg",
    summary="JPEG re-compression at IJG quality q (libjpeg via Pillow)",
    params=JpegParams,
    apply=_compress,
    aliases={"quality": "q", "subsampling": "ss"},
    details=(
        "q: IJG quality 1–100 (standard IJG tables scaled by q; q=100 is still lossy). "
        "ss: chroma subsampling 444, 422 or 420 (default 420, as libjpeg and OpenCV). "
        "Baseline, no optimize, decoded back to RGB; IMDL-BenCo's {q−1, q} draw is replaced by exactly q."
    ),
)
