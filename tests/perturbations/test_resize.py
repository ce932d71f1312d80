"""Resize: the output size rule, OpenCV bilinear semantics, every interpolation name."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from forgebench.perturbations.resize import INTERPOLATIONS, PLUGIN, ResizeParams, resized_size

IMAGE = np.random.default_rng(0).integers(0, 256, (199, 301, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("s", "expected"),
    # (height, width) of a 301 × 199 (W × H) image: max(1, ⌊s·side + 0.5⌋)
    [(0.25, (50, 75)), (0.5, (100, 151)), (0.78, (155, 235)), (1.5, (299, 452))],
)
def test_output_size_rounds_half_up(s, expected):
    assert resized_size(199, 301, s) == expected
    assert PLUGIN.apply(IMAGE, ResizeParams(s=s), np.random.default_rng(0)).shape == (*expected, 3)


def test_tiny_image_keeps_at_least_one_pixel():
    tiny = np.full((2, 3, 3), 77, np.uint8)
    out = PLUGIN.apply(tiny, ResizeParams(s=0.1), np.random.default_rng(0))
    assert out.shape == (1, 1, 3) and out[0, 0, 0] == 77


def test_bilinear_is_opencv_inter_linear():
    out = PLUGIN.apply(IMAGE, ResizeParams(s=0.78), np.random.default_rng(0))
    np.testing.assert_array_equal(out, cv2.resize(IMAGE, (235, 155), interpolation=cv2.INTER_LINEAR))


def test_bilinear_uses_half_pixel_centres():
    ramp = np.repeat(np.array([[0, 100]], np.uint8), 2, axis=0)[..., None].repeat(3, axis=2)
    out = PLUGIN.apply(ramp, ResizeParams(s=2.0), np.random.default_rng(0))
    np.testing.assert_array_equal(out[0, :, 0], [0, 25, 75, 100])


@pytest.mark.parametrize("interp", list(INTERPOLATIONS))
def test_every_interpolation_runs(interp):
    out = PLUGIN.apply(IMAGE, ResizeParams(s=0.5, interp=interp), np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == (100, 151, 3)
    expected = cv2.resize(IMAGE, (151, 100), interpolation=INTERPOLATIONS[interp])
    np.testing.assert_array_equal(out, expected)


def test_nearest_halving_takes_the_pixel_nearest_each_output_centre():
    even = IMAGE[:198, :300]
    out = PLUGIN.apply(even, ResizeParams(s=0.5, interp="nearest"), np.random.default_rng(0))
    np.testing.assert_array_equal(out, even[1::2, 1::2])


def test_scale_factor_is_required():
    with pytest.raises(ValueError, match="scale factor > 0"):
        ResizeParams()
