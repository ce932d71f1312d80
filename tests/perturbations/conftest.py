"""Shared perturbation-test helpers: the IJG quantisation tables, a JPEG file reader and smooth test images."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import cv2
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural (row-major) order.
IJG_LUMINANCE = [
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
IJG_CHROMINANCE = [
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
]  # fmt: skip


def scaled_ijg_tables(quality: int) -> dict[int, list[int]]:
    """The two tables libjpeg writes at IJG ``quality``, in natural order (as Pillow's ``quantization`` gives them)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return {
        slot: [min(max((entry * scale + 50) // 100, 1), 255) for entry in base]
        for slot, base in enumerate([IJG_LUMINANCE, IJG_CHROMINANCE])
    }


@dataclass(frozen=True)
class JpegFacts:
    """What a JPEG file says about how it was encoded."""

    height: int
    width: int
    tables: dict[int, list[int]]
    sampling: int
    """Pillow's code: 0 for 4:4:4, 1 for 4:2:2, 2 for 4:2:0."""
    progressive: bool


def read_jpeg_facts(data: bytes) -> JpegFacts:
    with Image.open(BytesIO(data)) as image:
        assert image.format == "JPEG"
        tables = {slot: list(table) for slot, table in image.quantization.items()}
        progressive = bool(image.info.get("progressive"))
        return JpegFacts(image.height, image.width, tables, JpegImagePlugin.get_sampling(image), progressive)


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth random colour fields with a little fine texture, like a photograph at a glance."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (height // 40 + 2, width // 40 + 2, 3)).astype(np.float32)
    fields = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = rng.integers(-6, 7, (height, width, 1), dtype=np.int16)
    return np.clip(np.rint(fields + texture), 0, 255).astype(np.uint8)


@pytest.fixture
def ijg_tables():
    return scaled_ijg_tables


@pytest.fixture
def jpeg_facts():
    return read_jpeg_facts


@pytest.fixture(scope="session")
def make_smooth_image():
    return smooth_image
