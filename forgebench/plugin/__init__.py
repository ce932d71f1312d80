"""What a plugin author imports: the contract (typed plugin objects and their inputs and outputs), the
entry-point registries, and the one converter from text and YAML to typed option dataclasses.

A detector package needs only ``from forgebench.plugin import Detector, DetectorCard, DetectorPlugin, Prediction``
and one entry point in its ``pyproject.toml`` (see the README's plugin section).
"""

from forgebench.plugin.contract import (
    Detector,
    DetectorCard,
    DetectorPlugin,
    ImageInput,
    PerturbationPlugin,
    Prediction,
    TrainerPlugin,
)
from forgebench.plugin.options import OptionError

__all__ = [
    "Detector",
    "DetectorCard",
    "DetectorPlugin",
    "ImageInput",
    "OptionError",
    "PerturbationPlugin",
    "Prediction",
    "TrainerPlugin",
]
