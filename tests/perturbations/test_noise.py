"""Gaussian noise: the standard deviation it really adds, the variance unit, rounding and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forgebench.perturbations.codec import round_to_uint8
from forgebench.perturbations.noise import PLUGIN, NoiseParams

GREY = np.full((512, 512, 3), 128, np.uint8)


def added(params: NoiseParams, seed: int = 0) -> np.ndarray:
    return PLUGIN.apply(GREY, params, np.random.default_rng(seed)).astype(float) - 128


@pytest.mark.parametrize("sigma", [3.0, 7.0, 15.0])
def test_sigma_is_the_standard_deviation_on_the_255_scale(sigma):
    noise = added(NoiseParams(sigma=sigma))
    # rounding to integers adds a uniform error of variance 1/12
    assert noise.std() == pytest.approx(math.sqrt(sigma**2 + 1 / 12), rel=0.01)
    assert noise.std() == pytest.approx(sigma, rel=0.05)
    assert abs(noise.mean()) < 0.05


@pytest.mark.parametrize("variance", [3.0, 15.0, 23.0])
def test_var_is_a_variance_run_as_its_square_root(variance):
    noise = added(NoiseParams(var=variance))
    assert noise.std() == pytest.approx(math.sqrt(variance + 1 / 12), rel=0.01)
    np.testing.assert_array_equal(noise, added(NoiseParams(sigma=math.sqrt(variance))))


def test_same_seed_same_bytes_other_seed_other_noise():
    params = NoiseParams(sigma=5.0)
    first = PLUGIN.apply(GREY, params, np.random.default_rng(7))
    np.testing.assert_array_equal(first, PLUGIN.apply(GREY, params, np.random.default_rng(7)))
    assert not np.array_equal(first, PLUGIN.apply(GREY, params, np.random.default_rng(8)))


def test_channels_get_independent_noise():
    noise = added(NoiseParams(sigma=10.0)).reshape(-1, 3)
    assert (noise[:, 0] != noise[:, 1]).mean() > 0.9
    correlations = np.corrcoef(noise.T)
    assert np.abs(correlations[np.triu_indices(3, 1)]).max() < 0.01


def test_tiny_sigma_rounds_away_and_a_variance_is_stored_as_its_sigma():
    image = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(PLUGIN.apply(image, NoiseParams(sigma=0.01), np.random.default_rng(0)), image)
    assert NoiseParams(var=2.0) == NoiseParams(sigma=math.sqrt(2.0))


def test_clipped_at_both_ends():
    extremes = np.zeros((64, 64, 3), np.uint8)
    extremes[:32] = 255
    out = PLUGIN.apply(extremes, NoiseParams(sigma=20.0), np.random.default_rng(0))
    assert out[:32].min() < 255 and out[32:].max() > 0
    assert (out[:32] == 255).mean() == pytest.approx(0.5, abs=0.02)


def test_round_to_uint8_rounds_half_to_even_and_clips():
    values = np.array([-3.0, -0.4, 0.5, 1.5, 2.5, 2.6, 254.5, 255.4, 300.0])
    np.testing.assert_array_equal(round_to_uint8(values), [0, 0, 0, 2, 2, 3, 254, 255, 255])


@pytest.mark.parametrize("kwargs", [{}, {"sigma": 1.0, "var": 1.0}])
def test_exactly_one_of_sigma_and_var(kwargs):
    with pytest.raises(ValueError, match="exactly one of sigma"):
        NoiseParams(**kwargs)
