"""Robustness tables from the hand-built ``osn_results`` store: weighted averages, Table 2 shape, gaps named."""

from __future__ import annotations

import pandas as pd
import pytest

from forgebench.analysis import robustness
from forgebench.analysis.bootstrap import Settings
from forgebench.data.catalog import Catalog
from forgebench.evaluation.grids import load_grid
from forgebench.render.tables import robustness_markdown


def test_weighted_average_per_point_and_table2_shape(osn_results):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid("osn"), None)
    assert table.datasets == ["a", "b"] and table.detectors() == ["good", "weak"]
    summary = table.summary().set_index("point")
    # good: a = 1/1, b = 2/3 → (1 + 2) / 4; under WeChat a = 0, b = 1/3 → 1/4
    assert summary.loc["clean", "good"] == pytest.approx(0.75)
    assert summary.loc["Fb", "good"] == pytest.approx(0.75)
    assert summary.loc["Wc", "good"] == pytest.approx(0.25)
    assert summary.loc["Wa", "weak"] == pytest.approx(0.5)
    assert pd.isna(summary.loc["Wc", "weak"])  # b was not scored: an average over a alone would mislead
    shaped = table.table2(load_grid("osn").families[0]).set_index(("", "Detector"))
    assert list(shaped.columns[:5]) == [("a", "clean"), ("a", "Fb"), ("a", "Wa"), ("a", "Wb"), ("a", "Wc")]
    assert shaped.loc["good", ("b", "Wc")] == pytest.approx(1 / 3)
    assert shaped.loc["good", ("Weighted Avg.", "Wc")] == pytest.approx(0.25)
    assert pd.isna(shaped.loc["weak", ("b", "Wc")])
    assert table.incomplete() == [
        "weak on b under osn(platform=wechat)",
        "weak under osn(platform=wechat): not scored on b",
    ]
    assert "a Wc" in robustness_markdown(table)


def test_points_never_run_are_named_and_left_empty(osn_results):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid("demo"), ["a", "b"])
    assert table.f1("good", "jpeg(q=90,ss=420)") is None
    assert "good under jpeg(q=90,ss=420) (not run)" in table.incomplete()
    markdown = robustness_markdown(table)
    assert "| jpeg | 90 | jpeg(q=90,ss=420) | — | — |" in markdown
    assert len(table.long()) == 2 * 2 * 5  # detectors × datasets × stored points


def test_intervals_follow_the_values_and_leave_gaps_empty(osn_results):
    table = robustness.build(osn_results, Catalog(datasets={}), load_grid("osn"), None)
    table.with_intervals(Settings(resamples=500))
    assert table.interval("good", "clean", "a") == (1.0, 1.0)  # one image, a hit
    low, high = table.interval("good", "clean")
    assert 0.25 <= low < 0.75 < high <= 1.0  # b's 2 of 3 hits resampled, a's hit fixed, weights 1 and 3
    assert table.interval("weak", "osn(platform=wechat)") is None  # no average, so no interval
    summary = table.summary().set_index("point")
    assert (summary.loc["clean", "good low"], summary.loc["clean", "good high"]) == (low, high)
    markdown = robustness_markdown(table)
    assert f"| clean | clean | clean | 0.750 [{low:.3f}, {high:.3f}] |" in markdown
    assert "| good | 1.000 [1.000, 1.000] |" in markdown  # the Table 2 shape: a's clean cell
