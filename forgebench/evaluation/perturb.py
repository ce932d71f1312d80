"""Perturbation chains: parsing ``name(k=v,...)+name(...)`` and applying them with per-image seeds.

The random generator of each stochastic step is derived from
``"{seed}:{image_id}:{chain_id}#{step}"`` (SHA-256, first 8 bytes little-endian → PCG64), so results
do not depend on worker count, batch composition or order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

import numpy as np

from forgebench.plugin import registry
from forgebench.plugin.contract import PerturbationPlugin, PerturbationStep
from forgebench.plugin.options import OptionError, from_pairs

CLEAN = "clean"
_STEPS = re.compile(r"\+(?=\s*[A-Za-z_])")
"""``+`` between steps: one followed by a name, not the sign in ``1e+3`` or ``sigma=+3``."""
_STEP = re.compile(r"^\s*([\w-]+)\s*(?:\((.*)\)|:(.*))?\s*$")


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

    @property
    def stochastic(self) -> bool:
        """Whether any step draws random numbers (only then does the seed matter)."""
        for step in self.steps:
            flag = registry.perturbations.get(step.name).stochastic
            if flag(step.params) if callable(flag) else flag:
                return True
        return False

    def seed_key(self, seed: int) -> int:
        """The seed results are stored under: ``seed`` for a chain that draws random numbers, else 0, so that
        deterministic points (the clean one included) are computed once whatever the seed."""
        return seed if self.stochastic else 0

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


def stored_seed(spec: str, seed: int) -> int:
    """The seed results of ``spec`` at ``seed`` are stored under (``seed`` itself if its plugins are missing)."""
    try:
        return parse_chain(spec).seed_key(seed)
    except (LookupError, ValueError):
        return seed


def step_rng(seed: int, image_id: str, chain_id: str, step: int) -> np.random.Generator:
    material = f"{seed}:{image_id}:{chain_id}#{step}".encode()
    value = int.from_bytes(hashlib.sha256(material).digest()[:8], "little")
    return np.random.Generator(np.random.PCG64(value))


def parse_chain(text: str) -> Chain:
    """A perturbation spec → :class:`Chain`; identity steps are dropped.

    Steps are joined by ``+`` and applied left to right. A step is ``name``, ``name:args`` or
    ``name(args)`` with comma-separated ``key=value`` args; the first parameter's value may come
    without its key, and plugins may accept other spellings of a key (``jpeg:quality=70``).
    ``jpeg:70``, ``jpeg:q=70`` and ``jpeg(q=70,ss=420)`` are the same point, whose canonical id
    ``jpeg(q=70,ss=420)`` is what the store, the seed and the tables use.
    """
    steps = []
    for part in _STEPS.split(text):
        match = _STEP.match(part)
        if not match:
            raise OptionError(f"Cannot parse perturbation {part!r} in {text!r}; expected name:k=v,... or name(k=v,...)")
        name = match.group(1)
        arguments = match.group(2) if match.group(2) is not None else match.group(3)
        plugin = registry.perturbations.get(name)
        pairs = _named([a.strip() for a in (arguments or "").split(",") if a.strip()], plugin)
        try:
            params = from_pairs(plugin.params, pairs, f"perturbation {name}")
        except ValueError as error:
            raise error if isinstance(error, OptionError) else OptionError(f"{part.strip()!r}: {error}") from None
        if name != CLEAN:
            steps.append(PerturbationStep(name=name, params=params))
    return Chain(steps=tuple(steps))


def _named(arguments: list[str], plugin: PerturbationPlugin) -> list[str]:
    """Give a leading bare value the first parameter's key, and map aliases to field names."""
    fields = [f.name for f in dataclasses.fields(plugin.params)]
    named = []
    for index, argument in enumerate(arguments):
        key, sep, value = argument.partition("=")
        if not sep:
            if index or not fields:
                raise OptionError(f"perturbation {plugin.name}: {argument!r} needs a key (key=value)")
            key, value = fields[0], argument
        key = plugin.aliases.get(key.strip(), key.strip())
        if any(pair.startswith(f"{key}=") for pair in named):
            raise OptionError(f"perturbation {plugin.name}: {key} is given twice")
        named.append(f"{key}={value.strip()}")
    return named
