"""The identity perturbation: the clean point every sweep includes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forgebench.plugin.contract import PerturbationPlugin


@dataclass(frozen=True)
class NoParams:
    """The identity takes no parameters."""


def _identity(pixels: np.ndarray, params: NoParams, rng: np.random.Generator) -> np.ndarray:
    return pixels


PLUGIN = PerturbationPlugin(name="clean", summary="identity: the unperturbed image", params=NoParams, apply=_identity)
