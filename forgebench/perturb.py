"""Perturbation chains: parsing ``name(k=v,...)+name(...)`` and applying them with per-image seeds.

The random generator of each stochastic step is derived from
``"{seed}:{image_id}:{chain_id}#{step}"`` (SHA-256, first 8 bytes little-endian → PCG64), so results
do not depend on worker count, batch composition or order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from forgebench import registry
from forgebench.contract import PerturbationStep
from forgebench.options import parse_options

CLEAN = "clean"
_STEP = re.compile(r"^\s*([\w-]+)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class Chain:
    """Perturbation steps applied left to right; the empty chain is the clean point."""

    steps: tuple[PerturbationStep, ...] = ()

    @property
    def canonical_id(self) -> str:
        return "+".join(step.canonical_id for step in self.steps) or CLEAN

    @property
    def is_clean(self) -> bool:
        return not self.steps

    def apply(self, pixels: np.ndarray, image_id: str, seed: int) -> np.ndarray:
        for index, step in enumerate(self.steps):
            plugin = registry.perturbations.get(step.name)
            rng = step_rng(seed, image_id, self.canonical_id, index)
            pixels = plugin.apply(pixels, step.params, rng)
            if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
                raise ValueError(
                    f"perturbation {step.canonical_id} returned {pixels.dtype} {pixels.shape}, not H×W×3 uint8"
                )
        return pixels


def step_rng(seed: int, image_id: str, chain_id: str, step: int) -> np.random.Generator:
    material = f"{seed}:{image_id}:{chain_id}#{step}".encode()
    value = int.from_bytes(hashlib.sha256(material).digest()[:8], "little")
    return np.random.Generator(np.random.PCG64(value))


def parse_chain(text: str) -> Chain:
    """``"clean"`` or ``"jpeg(q=70,ss=420)+blur(k=3)"`` → :class:`Chain` (identity steps dropped)."""
    steps = []
    for part in text.split("+"):
        match = _STEP.match(part)
        if not match:
            raise ValueError(f"Cannot parse perturbation {part!r} in {text!r}; expected name(k=v,...)")
        name, arguments = match.groups()
        plugin = registry.perturbations.get(name)
        pairs = [a for a in (arguments or "").split(",") if a.strip()]
        params = parse_options(plugin.params, pairs, f"perturbation {name}")
        if name != CLEAN:
            steps.append(PerturbationStep(name=name, params=params))
    return Chain(steps=tuple(steps))
