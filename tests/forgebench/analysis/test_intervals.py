"""Leaderboards with bootstrap intervals: values, and the paper-table shape in Markdown and CSV."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from forgebench.analysis import leaderboard
from forgebench.analysis.bootstrap import Settings
from forgebench.data.catalog import Catalog
from forgebench.evaluation.store import Store
from forgebench.render.tables import leaderboard_markdown, write_leaderboard

SETTINGS = Settings(resamples=1000)


@pytest.fixture
def board(tmp_path, scores):
    with Store(tmp_path) as store:
        scores(store, "steady", "x", [1.0])  # protocol case D4
        scores(store, "steady", "y", [0.0, 0.0, 0.0])
        values = np.random.default_rng(0).uniform(size=40)
        scores(store, "varied", "x", list(values[:10]))
        scores(store, "varied", "y", list(values[10:]))
        yield leaderboard.build(store, Catalog(datasets={}), ["x", "y"]).with_intervals(SETTINGS)


def test_constant_cells_and_their_weighted_average_have_point_intervals(board):
    assert board.intervals[("steady", "x")].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert board.intervals[("steady", "y")].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert board.intervals[("steady", "Weighted Avg.")][:, 0].tolist() == [0.25, 0.25]


def test_intervals_hold_the_point_values_and_the_average_is_narrower_than_its_parts(board):
    row = board.wide(with_intervals=True).set_index("Detector").loc["varied"]
    for column in ("x F1", "x IoU", "y F1", "y IoU", "Weighted Avg. F1", "Weighted Avg. IoU"):
        assert row[f"{column} low"] < row[column] < row[f"{column} high"]
    width = {name: row[f"{name} F1 high"] - row[f"{name} F1 low"] for name in ("x", "y", "Weighted Avg.")}
    assert width["Weighted Avg."] < width["y"] < width["x"]  # 40 images, 30, 10


def test_interval_columns_sit_beside_the_unchanged_paper_columns(board):
    plain = list(leaderboard.Leaderboard(datasets=["x", "y"], perturbation="clean", cells=board.cells).wide().columns)
    assert plain == ["Detector", "x F1", "x IoU", "y F1", "y IoU", "Weighted Avg. F1", "Weighted Avg. IoU", "datasets"]
    with_intervals = list(board.wide(with_intervals=True).columns)
    assert [c for c in with_intervals if not c.endswith((" low", " high"))] == plain
    assert with_intervals[1:4] == ["x F1", "x F1 low", "x F1 high"]


def test_markdown_cells_carry_their_interval_and_the_csv_round_trips(board, tmp_path):
    text = leaderboard_markdown(board)
    header = text.splitlines()[2]
    assert header == "| Detector | x F1 | x IoU | y F1 | y IoU | Weighted Avg. F1 | Weighted Avg. IoU |"
    assert "| steady | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] | 0.000 [0.000, 0.000] |" in text
    assert "Intervals [low, high]: 95% percentile bootstrap over images (1000 resamples, seed 0)" in text
    write_leaderboard(board, tmp_path / "out")
    table = pd.read_csv(io.StringIO((tmp_path / "out/leaderboard.csv").read_text()))
    low = board.intervals[("varied", "Weighted Avg.")][0, 0]
    assert table.set_index("Detector").loc["varied", "Weighted Avg. F1 low"] == pytest.approx(low, rel=1e-12)


def test_adding_a_detector_changes_no_other_interval(tmp_path, scores, board):
    with Store(tmp_path / "more") as store:
        values = np.random.default_rng(0).uniform(size=40)
        scores(store, "varied", "x", list(values[:10]))
        scores(store, "varied", "y", list(values[10:]))
        scores(store, "other", "x", [0.5, 0.7])
        bigger = leaderboard.build(store, Catalog(datasets={}), ["x", "y"]).with_intervals(SETTINGS)
    for key in [("varied", "x"), ("varied", "y"), ("varied", "Weighted Avg.")]:
        assert np.array_equal(bigger.intervals[key], board.intervals[key])


def test_without_intervals_markdown_keeps_plain_cells(tmp_path, scores):
    with Store(tmp_path) as store:
        scores(store, "steady", "x", [1.0])
        board = leaderboard.build(store, Catalog(datasets={}), ["x"])
    assert "| steady | 1.000 | 1.000 | 1.000 | 1.000 |" in leaderboard_markdown(board)
    assert "Intervals" not in leaderboard_markdown(board)


def test_datasets_of_the_same_size_draw_independently(tmp_path, scores):
    values = list(np.random.default_rng(3).uniform(size=20))
    with Store(tmp_path) as store:
        scores(store, "d", "x", values)
        scores(store, "d", "y", values)
        board = leaderboard.build(store, Catalog(datasets={}), ["x", "y"]).with_intervals(SETTINGS)
    x, y, average = (board.intervals[("d", name)][:, 0] for name in ("x", "y", "Weighted Avg."))
    assert not np.array_equal(x, y)
    assert average[1] - average[0] < 0.85 * (x[1] - x[0])  # ≈ 1/√2 of one dataset's width when independent
