"""Trivial reference detectors: everything forged, nothing forged.

They set the floor a localizer must beat. At the fixed threshold, ``all-forged`` scores
F1 = 2f/(1+f) on an image whose forged fraction is f — often more than classic maps reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, ImageInput, Prediction


@dataclass(frozen=True)
class NoOptions:
    """Trivial detectors take no options."""


@dataclass(frozen=True)
class ConstantDetector(Detector):
    """Predicts the same probability for every pixel."""

    value: float

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        return [Prediction(np.full(item.pixels.shape[:2], self.value, dtype=np.float32)) for item in batch]


def _plugin(name: str, value: float, summary: str) -> DetectorPlugin:
    card = DetectorCard(
        name=name,
        summary=summary,
        licence="Apache-2.0",
        to_probability=f"constant map p = {value:g}; image score = {value:g}",
    )
    return DetectorPlugin(card=card, options=NoOptions, build=lambda options, device: ConstantDetector(value))


ALL_FORGED = _plugin("all-forged", 1.0, "reference: every pixel forged (F1 = 2f/(1+f) per image)")
ALL_PRISTINE = _plugin("all-pristine", 0.0, "reference: no pixel forged (F1 = 0 on tampered, specificity 1)")
