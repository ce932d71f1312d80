"""ADQ1: zig-zag indices, block DCT, period detection, and posteriors on double-compressed images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from builders import jpeg_roundtrip, paste_uncompressed
from skimage import data

from forgebench.detectors.classic.jpeg import (
    PLUGIN,
    ZIGZAG,
    Adq1Options,
    adq1_posterior,
    adq1_probability,
    block_dct,
    period,
)
from forgebench.plugin.contract import ImageInput


def test_zigzag_from_matlab_column_major_indices():
    assert ZIGZAG[:6] == ((0, 0), (0, 1), (1, 0), (2, 0), (1, 1), (0, 2))
    # JPEG's zig-zag walks anti-diagonals r + c = s, downwards (rising r) on odd s, upwards on even s
    walk = [(r, s - r) for s in range(5) for r in (range(s + 1) if s % 2 else range(s, -1, -1))]
    assert list(ZIGZAG) == walk


def test_block_dct_matches_opencv_per_block():
    pixels = np.random.default_rng(1).integers(0, 256, (21, 27, 3), dtype=np.uint8)
    coefficients = block_dct(pixels)
    assert coefficients.shape == (2, 8, 3, 8)
    luma = pixels.astype(np.float64) @ [0.299, 0.587, 0.114] - 128
    for i, j in [(0, 0), (1, 2)]:
        expected = np.rint(cv2.dct(luma[8 * i : 8 * i + 8, 8 * j : 8 * j + 8]))
        np.testing.assert_array_equal(coefficients[i, :, j, :], expected)


def test_period_of_quantised_laplacian_histogram():
    # step-5 quantised values plus the rounding noise of decoded pixels; a pure comb would tie its harmonics
    rng = np.random.default_rng(2)
    values = (5 * np.rint(rng.laplace(0, 4, 5000)) + np.rint(rng.normal(0, 0.7, 5000))).astype(int)
    histogram = np.bincount(values - values.min() + 1, minlength=values.max() - values.min() + 3)
    assert period(histogram) == 5
    smooth = np.rint(np.random.default_rng(3).normal(0, 20, 5000)).astype(int)
    assert period(np.bincount(smooth - smooth.min() + 1, minlength=smooth.max() - smooth.min() + 3)) == 1
    assert period(np.array([0, 400, 0])) == 1


def test_pasted_never_compressed_region_is_singly_compressed():
    tampered, inside = paste_uncompressed(data.astronaut(), 60)
    probability = adq1_probability(jpeg_roundtrip(tampered, 90))
    assert probability[inside].mean() > 0.6
    assert probability[~inside].mean() < 0.1


def test_never_compressed_noise_abstains_at_one_half():
    noise = np.random.default_rng(4).integers(0, 256, (131, 203, 3), dtype=np.uint8)
    probability = adq1_probability(noise)
    assert probability.shape == (131, 203) and probability.dtype == np.float32
    assert (probability == 0.5).all()


def test_plugin_output_is_a_float32_probability_at_input_size():
    pixels = jpeg_roundtrip(data.astronaut()[:203, :317], 75)
    (prediction,) = PLUGIN.build(Adq1Options(), "cpu").predict([ImageInput("d/x.jpg", pixels)])
    probability = prediction.probability
    assert probability.shape == (203, 317) and probability.dtype == np.float32
    assert probability.min() >= 0 and probability.max() <= 1
    assert (probability[200:, :] == np.float32(np.median(adq1_posterior(pixels)))).all()
    with pytest.raises(ValueError, match="smaller than one 8×8 block"):
        adq1_probability(np.zeros((7, 40, 3), np.uint8))
