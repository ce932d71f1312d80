"""Shared CLUE fixtures: tiny models from a fixed torch seed, LoRA made active, no hub access ever."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before diffusers is imported: a hub look-up fails instead of downloading

import pytest
import torch

from forgebench.detectors.clue.config import preset
from forgebench.detectors.clue.model import CLUE

CPU = torch.device("cpu")


def build_tiny(changes: dict | None = None, seed: int = 0) -> CLUE:
    """A tiny CLUE with ``weights: random`` backbones; the seed fixes them (two builds, same seed: same model)."""
    torch.manual_seed(seed)
    return CLUE(preset("tiny", changes))


def activate_lora(model: CLUE, seed: int = 1, scale: float = 0.2) -> None:
    """Random lora_B weights (zero at init), so that every LoRA update changes the outputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    """Every CLUE test runs its tiny models on one thread."""


@pytest.fixture
def build():
    return build_tiny


@pytest.fixture
def activate():
    return activate_lora


@pytest.fixture
def images():
    """Two non-square images in [0, 1] and their ids."""
    return torch.rand(2, 3, 48, 80, generator=torch.Generator().manual_seed(7)), ["ds/a.png", "ds/b.png"]
