"""JPEG encoding and decoding through Pillow (libjpeg-turbo, standard IJG tables), and float → uint8 rounding.

Shared by the ``jpeg`` and ``osn`` perturbations so that both produce byte-identical files for the same settings.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image

PILLOW_SUBSAMPLING = {444: 0, 422: 1, 420: 2}
"""Chroma subsampling as forgebench names it → Pillow's ``subsampling`` argument."""


def encode_jpeg(pixels: np.ndarray, quality: int, subsampling: int, progressive: bool = False) -> bytes:
    """H×W×3 uint8 RGB → JPEG file bytes at IJG ``quality`` 1–100 and ``subsampling`` 444, 422 or 420.

    Baseline with libjpeg's standard Huffman tables unless ``progressive`` (libjpeg then always optimises them);
    the quantisation tables, and so the decoded pixels, do not depend on either.
    """
    buffer = BytesIO()
    Image.fromarray(pixels).save(
        buffer,
        format="JPEG",
        quality=quality,
        subsampling=PILLOW_SUBSAMPLING[subsampling],
        optimize=False,
        progressive=progressive,
    )
    return buffer.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG file bytes → H×W×3 uint8 RGB (writable)."""
    with Image.open(BytesIO(data)) as image:
        return np.array(image.convert("RGB"))


def round_to_uint8(values: np.ndarray) -> np.ndarray:
    """Round to nearest (ties to even) and clip to [0, 255]; a truncating cast would darken by 0.5 on average."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
