"""The robustness plot: one panel per perturbation kind, one line per detector, values from the tables."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forgebench.analysis import robustness
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.thresholds import THRESHOLDS, Curve
from forgebench.data.catalog import Catalog
from forgebench.evaluation.grids import load_grid
from forgebench.render.plots import robustness_figure, robustness_plot, threshold_figure


@pytest.mark.parametrize(("grid", "panels"), [("osn", 1), ("demo", 2)])
def test_each_panel_draws_every_detector_at_its_points(osn_results, grid, panels):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid(grid), None)
    axes = robustness_figure(table).axes
    assert [axis.get_title() for axis in axes] == [family.name for family in table.grid.families]
    for axis, family in zip(axes, table.grid.families, strict=True):
        assert [tick.get_text() for tick in axis.get_xticklabels()] == ["clean", *(p.label for p in family.points)]
        for line, detector in zip(axis.get_lines(), ["good", "weak"], strict=True):
            expected = [table.f1(detector, spec) for spec in ["clean", *(p.spec for p in family.points)]]
            drawn = line.get_ydata()
            assert line.get_label() == detector
            assert [None if np.isnan(v) else pytest.approx(v) for v in drawn] == expected
    osn_axis = axes[-1]
    assert list(osn_axis.get_lines()[0].get_ydata()) == pytest.approx([0.75, 0.75, 0.75, 0.75, 0.25])


def test_png_holds_the_panels_and_the_legend(osn_results, tmp_path):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid("demo"), None)
    path = robustness_plot(table, tmp_path / "out" / "plot.png")
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert 130 * 3.6 * 2 < pixels.shape[1] < 130 * (3.6 * 2 + 2)  # two panels plus the legend
    blue = (np.abs(pixels - [31, 119, 180]).sum(axis=2) < 30).sum()  # matplotlib's first two colours
    orange = (np.abs(pixels - [255, 127, 14]).sum(axis=2) < 30).sum()
    assert blue > 200 and orange > 200


def test_intervals_are_drawn_as_bands_around_each_line(osn_results):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid("osn"), None)
    table.with_intervals(Settings(resamples=300))
    (axis,) = robustness_figure(table).axes
    bands = axis.collections
    assert len(bands) == 2  # one per detector
    edges = bands[0].get_paths()[0].vertices
    at_clean = edges[edges[:, 0] == 0, 1]
    assert sorted(set(at_clean)) == pytest.approx(sorted(table.interval("good", "clean")))


def test_threshold_figure_marks_the_fixed_threshold_and_each_best(tmp_path):
    curve = Curve("d", "x", 3, np.linspace(0.2, 0.0, 256) + np.r_[np.zeros(100), 0.5, np.zeros(155)], 0.9)
    (axis, *_) = threshold_figure({"x": [curve]}).axes
    assert axis.get_title() == "x"
    dashed = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
    assert [tuple(line.get_xdata()) for line in dashed] == [(0.5, 0.5)]
    ring = axis.get_lines()[1]
    assert (ring.get_xdata()[0], ring.get_ydata()[0]) == (curve.best_threshold, curve.best_f1)
    assert curve.best_threshold == THRESHOLDS[100]
