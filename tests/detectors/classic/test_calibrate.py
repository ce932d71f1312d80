"""Golden values of the one- and two-sided map → probability rules and of block expansion."""

from __future__ import annotations

import numpy as np
import pytest

from forgebench.detectors.classic.calibrate import PerImageDetector, expand_blocks, full_blocks, one_sided, two_sided
from forgebench.plugin.contract import Detector, ImageInput

SIGMA_MINUS_3 = 0.04742587  # σ(−3): the abstain value at the default z0


def test_one_sided_uses_median_and_mad():
    # median 3, MAD 1 → scale 1.4826; p(4) = σ(1/1.4826 − 3)
    probability = one_sided(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert probability.dtype == np.float32
    np.testing.assert_allclose(probability, [0.01275517, 0.02473498, SIGMA_MINUS_3, 0.08903222, 1.0], rtol=1e-4)


def test_one_sided_falls_back_to_mean_deviation_when_mad_is_zero():
    # MAD 0 (most values equal the median); mean |m − median| = 1 → scale √(π/2)
    probability = one_sided(np.array([0.0, 0.0, 0.0, 0.0, 5.0]))
    np.testing.assert_allclose(probability, [SIGMA_MINUS_3] * 4 + [0.72897390], rtol=1e-6)


@pytest.mark.parametrize("rule", [one_sided, two_sided])
def test_constant_map_abstains(rule):
    assert np.allclose(rule(np.full((3, 4), 7.0)), SIGMA_MINUS_3)
    assert np.allclose(rule(np.full((3, 4), 7.0), z0=1.0), 1 / (1 + np.e))


def test_two_sided_treats_noisier_and_smoother_alike():
    # log m = k·ln 2: median 2 ln 2, MAD ln 2 → |z| = 2/1.4826 at both ends
    probability = two_sided(np.array([1.0, 2.0, 4.0, 8.0, 16.0]))
    assert probability.dtype == np.float32
    np.testing.assert_allclose(probability, [0.16097135, 0.08903222, SIGMA_MINUS_3, 0.08903222, 0.16097135], rtol=1e-5)


def test_two_sided_floors_zero_at_smallest_positive_level():
    np.testing.assert_array_equal(two_sided(np.array([0.0, 1, 2, 4, 8])), two_sided(np.array([1.0, 1, 2, 4, 8])))
    assert np.allclose(two_sided(np.zeros(6)), SIGMA_MINUS_3)


def test_expand_blocks_repeats_and_pads_with_median():
    blocks = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    expanded = expand_blocks(blocks, 4, (10, 13, 3))
    assert expanded.shape == (10, 13) and expanded.dtype == np.float32
    assert (expanded[0:4, 0:4] == 1).all() and (expanded[4:8, 8:12] == 6).all() and (expanded[0:4, 4:8] == 2).all()
    assert (expanded[8:, :] == 3.5).all() and (expanded[:, 12] == 3.5).all()
    np.testing.assert_array_equal(expand_blocks(blocks, 4, (6, 10)), expanded[:6, :10])


def test_full_blocks_counts_and_rejects_tiny_images():
    assert full_blocks((203, 317, 3), 16) == (12, 19)
    with pytest.raises(ValueError, match="15×40 is smaller than one 16×16 block"):
        full_blocks((15, 40), 16)


def test_per_image_detector_follows_the_contract():
    detector = PerImageDetector(lambda pixels: np.zeros(pixels.shape[:2], np.float32))
    assert isinstance(detector, Detector) and detector.weights_digest is None
    (prediction,) = detector.predict([ImageInput("d/a.png", np.zeros((5, 7, 3), np.uint8))])
    assert prediction.probability.shape == (5, 7) and prediction.score is None
    with pytest.raises(ValueError, match="cpu only"):
        PerImageDetector(lambda pixels: pixels, "cuda")
