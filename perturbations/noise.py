"""Additive Gaussian noise, i.i.d. per pixel and per channel, on the 0–255 scale.

``sigma`` is a standard deviation; ``var`` is a variance, the unit of IMDL-BenCo's ``GaussNoise(var_limit=(v, v))``
under albumentations 1.3.0, converted to σ = √var (the canonical id names σ). Noise is added in float64 from the
per-image generator, then rounded to nearest and clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from forgebench.perturbations.codec import round_to_uint8
from forgebench.plugin.contract import PerturbationPlugin


@dataclass(frozen=True)
class NoiseParams:
    """Exactly one of ``sigma`` (standard deviation) and ``var`` (variance), both on the 0–255 scale.

    A variance is converted on construction (``sigma`` = √var, ``var`` cleared), so one noise level has one
    canonical id and one random stream however it was written.
    """

    sigma: float | None = None
    var: float | None = None

    def __post_init__(self) -> None:
        if (self.sigma is None) == (self.var is None):
            raise ValueError(
                f"noise: give exactly one of sigma (std) and var (variance), got sigma={self.sigma}, var={self.var}"
            )
        name, value = ("sigma", self.sigma) if self.sigma is not None else ("var", self.var)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"noise: {name} must be a finite number > 0 on the 0–255 scale, got {value!r}")
        object.__setattr__(self, "sigma", float(self.sigma) if self.sigma is not None else math.sqrt(value))
        object.__setattr__(self, "var", None)


def _add_noise(pixels: np.ndarray, params: NoiseParams, rng: np.random.Generator) -> np.ndarray:
    return round_to_uint8(pixels + rng.normal(0.0, params.sigma, pixels.shape))


PLUGIN = PerturbationPlugin(
    name="noise",
    summary="additive Gaussian noise on the 0–255 scale, per pixel and channel",
    params=NoiseParams,
    apply=_add_noise,
    stochastic=True,
    aliases={"std": "sigma", "variance": "var"},
    details=(
        "sigma: standard deviation on the 0–255 scale (SPAN / PSCC-Net / ObjectFormer 'σ'). "
        "var: variance on the 0–255 scale, IMDL-BenCo's var_limit under albumentations 1.3.0, converted to σ = √var "
        "(var 3, 7, 11, 15, 19, 23 → σ 1.732, 2.646, 3.317, 3.873, 4.359, 4.796), which the canonical id names. "
        "Give exactly one, > 0. "
        "Added in float64 per pixel and channel from the per-image generator, rounded to nearest, clipped."
    ),
)
