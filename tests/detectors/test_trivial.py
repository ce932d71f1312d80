"""The trivial references predict constant maps at the input size."""

from __future__ import annotations

import numpy as np

from forgebench.detectors.trivial import ALL_FORGED, ALL_PRISTINE, NoOptions
from forgebench.plugin.contract import ImageInput


def test_constant_maps_at_input_size():
    batch = [ImageInput("d/a.png", np.zeros((5, 7, 3), np.uint8)), ImageInput("d/b.png", np.zeros((2, 3, 3), np.uint8))]
    forged = ALL_FORGED.build(NoOptions(), "cpu").predict(batch)
    pristine = ALL_PRISTINE.build(NoOptions(), "cpu").predict(batch)
    assert [p.probability.shape for p in forged] == [(5, 7), (2, 3)]
    assert all(p.probability.dtype == np.float32 and (p.probability == 1).all() for p in forged)
    assert all((p.probability == 0).all() for p in pristine)
