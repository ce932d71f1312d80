"""Paired comparisons: identical detectors never differ, a perfect one beats a random one, gaps are named."""

from __future__ import annotations

import numpy as np
import pytest

from forgebench.analysis import compare, leaderboard
from forgebench.analysis.bootstrap import Settings
from forgebench.data.catalog import Catalog
from forgebench.evaluation.metrics import Confusion, ImageScore
from forgebench.evaluation.store import Record, Store
from forgebench.render.tables import write_comparison

SETTINGS = Settings(resamples=2000)


def board_of(tmp_path, scores, results):
    with Store(tmp_path) as store:
        for detector, dataset, values in results:
            scores(store, detector, dataset, list(values))
        return leaderboard.build(store, Catalog(datasets={}), None)


def test_identical_detectors_are_not_significantly_different(tmp_path, scores):
    values = np.random.default_rng(1).uniform(size=30)
    board = board_of(tmp_path, scores, [("a", "x", values), ("b", "x", values), ("a", "y", values), ("b", "y", values)])
    result = compare.compare(board, "a", "b", SETTINGS)
    assert [row.dataset for row in result.rows] == ["x", "y", "Weighted Avg."]
    for row in result.rows:
        assert (row.difference, row.low, row.high, row.p_value, row.significant) == (0.0, 0.0, 0.0, 1.0, False)
    assert result.verdicts() == ["No significant difference (p ≥ 0.05) on: x, y, Weighted Avg."]


def test_a_perfect_detector_beats_a_random_one(tmp_path, scores):
    rng = np.random.default_rng(2)
    random_f1 = rng.uniform(0, 0.4, size=(2, 25))
    board = board_of(
        tmp_path, scores, [("perfect", "x", [1.0] * 25), ("random", "x", random_f1[0]),
                           ("perfect", "y", [1.0] * 25), ("random", "y", random_f1[1])],
    )  # fmt: skip
    result = compare.compare(board, "perfect", "random", SETTINGS)
    for row in result.rows:
        assert row.significant and row.low > 0.5 and row.p_value < 0.001
    overall = result.overall()
    assert overall.pairs == 50 and overall.difference == pytest.approx(1 - random_f1.mean())
    assert result.verdicts() == ["perfect is significantly better than random (p < 0.05) on: x, y, Weighted Avg."]
    reverse = compare.compare(board, "random", "perfect", SETTINGS)
    assert reverse.overall().difference == pytest.approx(-overall.difference) and reverse.overall().significant


def test_per_dataset_tests_are_holm_adjusted(tmp_path, scores):
    # x: a clear win (p = 2/2^8 exactly); y: a weak one; the adjusted p of the smaller is doubled.
    board = board_of(
        tmp_path, scores, [("a", "x", [0.9] * 8), ("b", "x", [0.1] * 8),
                           ("a", "y", [0.6, 0.5, 0.4, 0.5]), ("b", "y", [0.5, 0.5, 0.5, 0.45])],
    )  # fmt: skip
    rows = {row.dataset: row for row in compare.compare(board, "a", "b", SETTINGS).rows}
    assert rows["x"].p_value == 2 / 256
    assert rows["y"].p_value > 2 / 256
    assert rows["x"].p_adjusted == 2 * 2 / 256
    assert rows["y"].p_adjusted == max(rows["y"].p_value, rows["x"].p_adjusted)


def test_only_images_both_scored_are_paired_and_the_gaps_are_named(tmp_path, scores):
    board = board_of(tmp_path, scores, [("a", "x", [1.0, 1.0, 0.0]), ("b", "x", [0.5, 0.5]), ("a", "y", [1.0])])
    result = compare.compare(board, "a", "b", SETTINGS)
    assert [(r.dataset, r.pairs, r.a, r.b) for r in result.rows] == [("x", 2, 1.0, 0.5)]
    assert result.unpaired == {"x": "1 images scored only by a, 0 only by b", "y": "not scored by b"}


def test_unknown_or_ambiguous_names_are_refused(tmp_path, scores):
    board = board_of(tmp_path, scores, [("a", "x", [1.0]), ("b", "x", [0.0])])
    with pytest.raises(compare.ComparisonError, match="no stored results for 'c'; stored: a, b"):
        compare.compare(board, "a", "c", SETTINGS)
    with pytest.raises(compare.ComparisonError, match="metric must be one of f1, iou"):
        compare.compare(board, "a", "b", SETTINGS, metric="auc")


def test_markdown_and_csv_are_written(tmp_path, scores):
    board = board_of(tmp_path, scores, [("a", "x", [0.9] * 8), ("b", "x", [0.1] * 8)])
    result = compare.compare(board, "a", "b", SETTINGS, metric="iou")
    paths = write_comparison(result, tmp_path / "out")
    assert [p.name for p in paths] == ["compare-a-vs-b-iou.md", "compare-a-vs-b-iou.csv"]
    text = paths[0].read_text()
    assert "| x | 8 | 0.818 | 0.053 | 0.766 [0.766, 0.766] | 0.008 | 0.008 | yes |" in text
    assert "a is significantly better than b (p < 0.05) on: x." in text


def test_swapping_a_and_b_mirrors_every_number(tmp_path, scores):
    rng = np.random.default_rng(7)
    board = board_of(tmp_path, scores, [("a", "x", rng.uniform(size=40)), ("b", "x", rng.uniform(size=40))])
    forward, backward = (
        compare.compare(board, "a", "b", SETTINGS).rows[0],
        compare.compare(board, "b", "a", SETTINGS).rows[0],
    )
    assert (forward.difference, forward.low, forward.high) == pytest.approx(
        (-backward.difference, -backward.high, -backward.low), abs=1e-12
    )
    assert forward.p_value == backward.p_value


def test_a_detector_scored_on_an_older_copy_of_a_dataset_is_not_paired(tmp_path, scores):
    with Store(tmp_path) as store:
        scores(store, "a", "x", [1.0, 1.0])
        key = {"detector": "b", "fingerprint": "bbbb", "dataset": "x", "perturbation": "clean", "seed": 0,
               "manifest_digest": "an older version"}  # fmt: skip
        evaluation = store.evaluation(key, {"requested": ["x"], "changed_options": {}})
        scored = ImageScore(Confusion(0, 0, 1, 0), score=0.0, f1=0.0, iou=0.0)
        store.add(evaluation, [Record("x/0.png", "tampered", "ok", scored=scored)])
        board = leaderboard.build(store, Catalog(datasets={}), ["x"])
    assert board.labels() == ["b"]  # the newest copy of x counts; a's results on the other are left out
    with pytest.raises(compare.ComparisonError, match="'a' was scored only on an older copy of x; run it again"):
        compare.compare(board, "a", "b", SETTINGS)
