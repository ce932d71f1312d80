"""Noise schedules: golden σ values of SD3's shifted Rectified Flow, DDPM's ᾱ, the levels, the seeded noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forgebench.detectors.clue import noise

CPU = torch.device("cpu")


def test_rf_sigma_golden_values():
    u = torch.tensor([0.25, 0.5, 0.75])
    torch.testing.assert_close(noise.rf_sigma(u, 3.0), torch.tensor([0.5, 0.75, 0.9]))
    torch.testing.assert_close(noise.rf_sigma(u, 1.0), u)
    torch.testing.assert_close(noise.rf_sigma(torch.tensor([0.5, 0.75]), 0.5), torch.tensor([1 / 3, 0.6]))


def test_eval_levels():
    torch.testing.assert_close(noise.eval_levels(3), torch.tensor([0.25, 0.5, 0.75]))
    torch.testing.assert_close(noise.eval_levels(1), torch.tensor([0.5]))


def test_train_levels_are_stratified():
    levels = noise.train_levels(2000, 4, torch.Generator().manual_seed(0))
    assert levels.shape == (2000, 4)
    for k in range(4):
        column = levels[:, k]
        assert column.min() >= k / 4 and column.max() < (k + 1) / 4
        assert column.min() < k / 4 + 0.01 and column.max() > (k + 1) / 4 - 0.01  # the whole stratum, not a point
    again = noise.train_levels(2000, 4, torch.Generator().manual_seed(0))
    assert torch.equal(levels, again)


def test_rf_mixes_latents_and_noise():
    z0, epsilon = torch.randn(3, 16, 4, 4), torch.randn(3, 16, 4, 4)
    u = torch.tensor([0.25, 0.5, 0.75])
    zt, timestep = noise.noisy(z0, u, epsilon, "rf", 3.0)
    sigma = torch.tensor([0.5, 0.75, 0.9]).view(3, 1, 1, 1)
    torch.testing.assert_close(zt, (1 - sigma) * z0 + sigma * epsilon)
    torch.testing.assert_close(timestep, torch.tensor([500.0, 750.0, 900.0]))


def test_ddpm_uses_the_linear_beta_schedule():
    z0, epsilon = torch.randn(3, 16, 4, 4), torch.randn(3, 16, 4, 4)
    zt, timestep = noise.noisy(z0, torch.tensor([0.0, 0.5, 1.0]), epsilon, "ddpm", 3.0)
    alpha_bar = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))[[0, 499, 999]]
    assert alpha_bar[0] == pytest.approx(0.9999) and alpha_bar[2] == pytest.approx(4.04e-5, rel=0.01)
    a = torch.tensor(alpha_bar, dtype=torch.float32).view(3, 1, 1, 1)
    torch.testing.assert_close(zt, a.sqrt() * z0 + (1 - a).sqrt() * epsilon)
    torch.testing.assert_close(timestep, torch.tensor([0.0, 499.0, 999.0]))


def test_none_keeps_the_latents():
    z0 = torch.randn(2, 16, 4, 4)
    zt, timestep = noise.noisy(z0, torch.tensor([0.3, 0.9]), torch.randn(2, 16, 4, 4), "none", 3.0)
    assert torch.equal(zt, z0) and torch.equal(timestep, torch.zeros(2))


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown noise mode 'edm'"):
        noise.noisy(torch.zeros(1, 1, 1, 1), torch.zeros(1), torch.zeros(1, 1, 1, 1), "edm", 3.0)


def test_image_noise_is_per_image_and_per_seed():
    both = noise.image_noise((3, 16, 8, 8), 0, ["ds/a.png", "ds/b.png"], CPU)
    assert both.shape == (2, 3, 16, 8, 8)
    assert torch.equal(both, noise.image_noise((3, 16, 8, 8), 0, ["ds/a.png", "ds/b.png"], CPU))
    assert torch.equal(both[1], noise.image_noise((3, 16, 8, 8), 0, ["ds/b.png"], CPU)[0])  # batch-independent
    assert not torch.allclose(both[0], both[1])
    assert both.std().item() == pytest.approx(1.0, abs=0.05)


def test_another_seed_gives_other_noise():
    first = noise.image_noise((16, 8, 8), 0, ["ds/a.png"], CPU)
    assert not torch.allclose(first, noise.image_noise((16, 8, 8), 1, ["ds/a.png"], CPU))
