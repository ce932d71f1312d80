"""NOI1 flags a region noisier or smoother than its host, on a 16×16 grid aligned with the pixels."""

from __future__ import annotations

import numpy as np
import pytest
import pywt

from forgebench.detectors.classic.noise import HH_LAG, IMAGE_BLOCK, PLUGIN, Noi1Options, noi1_probability, noise_level
from forgebench.plugin.contract import ImageInput

HEIGHT, WIDTH = 203, 317


def smooth_image_with_square(background_sigma: float, square_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 203×317 gradient with Gaussian noise; the square covers image blocks rows 4–9, columns 6–12."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    clean = (100 + 60 * np.sin(cols / 40) + 40 * np.cos(rows / 30))[..., None].repeat(3, axis=2)
    square = np.zeros((HEIGHT, WIDTH), bool)
    square[64:160, 96:208] = True
    sigma = np.where(square, square_sigma, background_sigma)[..., None]
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8), square


@pytest.mark.parametrize("pixel", [40, 41, 61])
def test_hh_lag_maps_pixel_pairs_to_coefficients(pixel):
    impulse = np.zeros((96, 96))
    impulse[pixel, pixel] = 1
    _, (_, _, diagonal) = pywt.dwt2(impulse, "db8", mode="symmetric")
    energy = (diagonal**2).sum(axis=1)
    centroid = (energy * np.arange(energy.size)).sum() / energy.sum()
    assert round(centroid) - HH_LAG == pixel // 2


def test_noise_level_blocks_match_the_noisy_square():
    pixels, _ = smooth_image_with_square(background_sigma=2.0, square_sigma=10.0)
    level = noise_level(pixels)
    assert level.shape == (HEIGHT // IMAGE_BLOCK, WIDTH // IMAGE_BLOCK) == (12, 19)
    expected = np.zeros(level.shape, bool)
    expected[4:10, 6:13] = True
    np.testing.assert_array_equal(level > 4.0, expected)
    # luma noise of independent RGB noise σ: σ·‖(0.299, 0.587, 0.114)‖ ≈ 0.668σ
    assert np.median(level[expected]) == pytest.approx(6.68, rel=0.1)


@pytest.mark.parametrize(("background_sigma", "square_sigma"), [(2.0, 10.0), (6.0, 0.5)])
def test_noisier_or_smoother_square_is_forged(background_sigma, square_sigma):
    pixels, square = smooth_image_with_square(background_sigma, square_sigma)
    probability = noi1_probability(pixels, Noi1Options())
    assert probability.shape == (HEIGHT, WIDTH) and probability.dtype == np.float32
    assert probability[square].mean() > 0.9
    assert probability[~square].mean() < 0.2


def test_remainder_is_padded_with_the_median():
    pixels, _ = smooth_image_with_square(2.0, 10.0)
    (prediction,) = PLUGIN.build(Noi1Options(), "cpu").predict([ImageInput("d/x.png", pixels)])
    probability = prediction.probability
    assert np.unique(probability[192:, :]).size == 1 and np.unique(probability[:, 304:]).size == 1
    assert probability[200, 310] == pytest.approx(np.median(probability[:192:16, :304:16]))


def test_image_smaller_than_one_block_is_rejected():
    with pytest.raises(ValueError, match="smaller than one 16×16 block"):
        noi1_probability(np.zeros((12, 40, 3), np.uint8), Noi1Options())
