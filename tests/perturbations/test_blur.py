"""Gaussian blur: OpenCV's fixed tables for k = 3, 5, 7, the σ formula for larger k, sigma-only sizes, reflect-101."""

from __future__ import annotations

import numpy as np
import pytest

from forgebench.perturbations.blur import PLUGIN, BlurParams

FIXED_TABLES = {
    3: np.array([1, 2, 1]) / 4,
    5: np.array([1, 4, 6, 4, 1]) / 16,
    7: np.array([2, 7, 14, 18, 14, 7, 2]) / 64,
}
SIZE = 64
CENTRE = SIZE // 2


def gaussian(size: int, sigma: float) -> np.ndarray:
    offsets = np.arange(size) - (size - 1) / 2
    weights = np.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum()


def reference_blur(channel: np.ndarray, kernel: np.ndarray, border: str = "reflect") -> np.ndarray:
    """Separable float convolution, rounded to nearest; numpy's "reflect" border is OpenCV's reflect-101."""
    radius = len(kernel) // 2
    padded = np.pad(channel.astype(float), radius, mode=border)
    rows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=1) @ kernel
    both = np.lib.stride_tricks.sliding_window_view(rows, len(kernel), axis=0) @ kernel
    return np.rint(both)


def blurred(image: np.ndarray, params: BlurParams) -> np.ndarray:
    out = PLUGIN.apply(image, params, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == image.shape
    return out.astype(int)


def impulse() -> np.ndarray:
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[CENTRE, CENTRE] = 255
    return image


def expected_impulse_response(kernel: np.ndarray) -> np.ndarray:
    radius = len(kernel) // 2
    expected = np.zeros((SIZE, SIZE))
    expected[CENTRE - radius : CENTRE + radius + 1, CENTRE - radius : CENTRE + radius + 1] = 255 * np.outer(
        kernel, kernel
    )
    return expected


def assert_within_one(actual: np.ndarray, expected: np.ndarray) -> None:
    assert np.abs(actual - np.rint(expected)).max() <= 1


@pytest.mark.parametrize("k", [3, 5, 7])
def test_small_k_uses_opencv_fixed_tables(k):
    out = blurred(impulse(), BlurParams(k=k))
    for channel in range(3):
        assert_within_one(out[..., channel], expected_impulse_response(FIXED_TABLES[k]))


def test_k3_table_is_not_the_gaussian_formula():
    # the formula would give σ = 0.8 for k = 3: a centre of 255·0.522² ≈ 69.6 instead of 255/4 = 63.75
    assert blurred(impulse(), BlurParams(k=3))[CENTRE, CENTRE, 0] in (63, 64)


def test_k11_uses_sigma_from_the_opencv_formula():
    sigma = 0.3 * ((11 - 1) / 2 - 1) + 0.8
    assert sigma == pytest.approx(2.0)
    assert_within_one(blurred(impulse(), BlurParams(k=11))[..., 1], expected_impulse_response(gaussian(11, sigma)))


def test_sigma_only_gives_kernel_size_round_6_sigma_plus_1():
    kernel = gaussian(11, 1.5)
    assert_within_one(blurred(impulse(), BlurParams(sigma=1.5))[..., 0], expected_impulse_response(kernel))
    line = np.zeros((SIZE, SIZE, 3), np.uint8)
    line[CENTRE] = 255
    profile = blurred(line, BlurParams(sigma=1.5))[:, CENTRE, 2]
    expected = np.zeros(SIZE)
    expected[CENTRE - 5 : CENTRE + 6] = 255 * kernel
    assert_within_one(profile, expected)
    assert profile[CENTRE + 4] >= 1 and profile[CENTRE + 7] == 0


def test_k_and_sigma_together_are_used_as_given():
    kernel = gaussian(9, 3.0)
    line = np.zeros((SIZE, SIZE, 3), np.uint8)
    line[:, CENTRE] = 255
    out = blurred(line, BlurParams(k=9, sigma=3.0))
    expected = np.zeros(SIZE)
    expected[CENTRE - 4 : CENTRE + 5] = 255 * kernel
    assert_within_one(out[10, :, 0], expected)
    assert out[10, CENTRE + 4, 0] > 10 and out[10, CENTRE + 5, 0] == 0


@pytest.mark.parametrize("params", [BlurParams(k=7), BlurParams(sigma=2.5)])
def test_border_is_reflect_101(params):
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[:, 0] = 255
    image[:, 1] = 40
    kernel = FIXED_TABLES[7] if params.k else gaussian(17, 2.5)
    out = blurred(image, params)
    assert_within_one(out[..., 0], reference_blur(image[..., 0], kernel))
    # a symmetric (edge-repeating) border counts the bright column twice
    assert np.abs(out[..., 0] - reference_blur(image[..., 0], kernel, border="symmetric")).max() >= 10


def test_k1_is_the_identity():
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(PLUGIN.apply(image, BlurParams(k=1), np.random.default_rng(0)), image)


@pytest.mark.parametrize("k", [0, 2, 4, -3])
def test_bad_k_is_refused(k):
    with pytest.raises(ValueError, match="odd integer"):
        BlurParams(k=k)
