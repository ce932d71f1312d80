"""The robustness plot: a PNG with one panel per perturbation kind and one line per detector."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forgebench import robustness
from forgebench.catalog import Catalog
from forgebench.grids import load_grid
from forgebench.plot import robustness_plot


@pytest.mark.parametrize(("grid", "panels"), [("osn", 1), ("demo", 2)])
def test_plot_has_a_panel_per_family_and_a_coloured_line_per_detector(osn_results, tmp_path, grid, panels):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid(grid), None)
    path = robustness_plot(table, tmp_path / "out" / "plot.png")
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert 130 * 3.6 * panels < pixels.shape[1] < 130 * (3.6 * panels + 2)  # the panels plus the legend
    blue = (np.abs(pixels - [31, 119, 180]).sum(axis=2) < 30).sum()  # matplotlib's first colour
    orange = (np.abs(pixels - [255, 127, 14]).sum(axis=2) < 30).sum()
    assert blue > 200 and orange > 200
