"""Bootstrap intervals and the paired sign-flip test on values whose answers are known."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from forgebench.analysis.bootstrap import (
    Settings,
    holm,
    percentile_interval,
    pooled_means,
    resample_means,
    rng,
    sign_flip_p_value,
)

SETTINGS = Settings(level=0.95, resamples=2000, seed=0)


def interval(values, settings=SETTINGS, key="d"):
    values = np.asarray(values, dtype=float)
    return percentile_interval(resample_means(values, settings.resamples, rng(settings, key)), settings)


def test_the_interval_of_a_constant_is_a_point():
    low, high = interval([0.37] * 25)
    assert low == high == pytest.approx(0.37, abs=1e-15)


def test_intervals_shrink_as_images_are_added_like_one_over_root_n():
    pattern = [0.0, 0.2, 0.9, 0.4, 1.0]  # the same mix of values at every size
    widths = [float(np.diff(interval(pattern * n))[0]) for n in (4, 16, 64, 256)]
    assert widths[0] > widths[1] > widths[2] > widths[3] > 0
    for wide, narrow in itertools.pairwise(widths):
        assert wide / narrow == pytest.approx(2.0, rel=0.2)  # 4× the images, half the width


def test_the_interval_covers_the_mean_and_is_reproducible_from_its_seed_and_key():
    values = np.random.default_rng(5).uniform(size=60)
    low, high = interval(values)
    assert low < values.mean() < high
    assert np.array_equal(interval(values), interval(values))
    assert not np.array_equal(interval(values), interval(values, Settings(seed=1, resamples=2000)))
    assert not np.array_equal(interval(values), interval(values, key="other dataset"))


def test_nominal_coverage_holds_for_a_bernoulli_mean():
    truth, hits = 0.3, 0
    settings = Settings(resamples=500)
    for trial in range(200):
        sample = (np.random.default_rng(100 + trial).uniform(size=120) < truth).astype(float)
        low, high = interval(sample, settings, key=str(trial))
        hits += low <= truth <= high
    assert 0.925 <= hits / 200 <= 0.99  # 95 % nominal (measured 0.975); 90 % intervals would cover ≈ 0.90


def test_percentile_interval_cuts_half_the_missing_mass_at_each_end():
    assert percentile_interval(np.arange(1001.0), Settings(level=0.9)).tolist() == pytest.approx([50.0, 950.0])
    assert percentile_interval(np.arange(1001.0), Settings(level=0.95)).tolist() == pytest.approx([25.0, 975.0])


def test_columns_share_draws_and_chunking_does_not_change_the_result(monkeypatch):
    values = np.random.default_rng(2).uniform(size=(50, 2))
    whole = resample_means(values, 300, np.random.default_rng(9))
    monkeypatch.setattr("forgebench.analysis.bootstrap.DRAWS_PER_CHUNK", 50 * 7)  # 7 resamples per chunk
    chunked = resample_means(values, 300, np.random.default_rng(9))
    assert whole.shape == (300, 2)
    assert np.array_equal(whole, chunked)
    second = np.random.default_rng(2).uniform(size=(50, 2))[:, 0]
    assert np.allclose(resample_means(second, 300, np.random.default_rng(9)), whole[:, 0], rtol=0, atol=1e-12)


def test_pooled_means_weight_datasets_by_their_image_counts():
    # Protocol case D4: X has 1 image at F1 1, Y has 3 images at F1 0 → 0.25 in every resample.
    x = resample_means(np.array([1.0]), 200, np.random.default_rng(0))
    y = resample_means(np.zeros(3), 200, np.random.default_rng(1))
    pooled = pooled_means([x, y], [1, 3])
    assert np.all(pooled == 0.25)


def test_sign_flip_is_exact_for_few_pairs():
    assert sign_flip_p_value(np.array([1.0, 1.0, 1.0]), SETTINGS) == 2 / 8
    assert sign_flip_p_value(np.array([1.0, 2.0]), SETTINGS) == 2 / 4  # sums ±3 reach |3|; ±1 do not
    assert sign_flip_p_value(np.array([0.5, 0.0, 0.0, -0.5]), SETTINGS) == 1.0  # zeros cannot flip


def test_sign_flip_counts_patterns_that_tie_the_observed_sum_despite_rounding():
    differences = [-0.91, -0.391, 0.719, 0.15]
    exact = [Fraction(str(d)) for d in differences]
    observed = abs(sum(exact))
    patterns = itertools.product((-1, 1), repeat=len(exact))
    at_least = sum(abs(sum(sign * d for sign, d in zip(signs, exact, strict=True))) >= observed for signs in patterns)
    assert at_least == 12
    assert sign_flip_p_value(np.array(differences), SETTINGS) == 12 / 16


def test_sign_flip_of_identical_detectors_is_one_and_of_a_clear_winner_is_small():
    assert sign_flip_p_value(np.zeros(500), SETTINGS) == 1.0
    winner = np.random.default_rng(3).uniform(0.3, 0.9, size=200)
    p_value = sign_flip_p_value(winner, SETTINGS, "d")
    assert p_value == 1 / (SETTINGS.resamples + 1)
    noise = np.random.default_rng(4).normal(0, 0.2, size=200)
    assert sign_flip_p_value(noise, SETTINGS, "d") > 0.05


def test_sign_flip_rejects_at_the_nominal_rate_under_the_null():
    settings = Settings(resamples=400)
    rejections = sum(
        sign_flip_p_value(np.random.default_rng(t).normal(size=40), settings, str(t)) < 0.05 for t in range(200)
    )
    assert 2 <= rejections <= 20  # 10 expected


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.4, 0.9]) == pytest.approx([0.8, 0.9])


@pytest.mark.parametrize("level, resamples, seed", [(0.3, 1000, 0), (1.0, 1000, 0), (0.95, 10, 0), (0.95, 1000, -1)])
def test_settings_refuse_values_that_give_no_interval(level, resamples, seed):
    with pytest.raises(ValueError):
        Settings(level=level, resamples=resamples, seed=seed)
