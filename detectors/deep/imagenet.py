"""The ImageNet channel statistics (RGB, for pixels scaled to [0, 1]) that deep baselines normalise their input with."""

from __future__ import annotations

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
