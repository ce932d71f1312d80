"""F1 against threshold from cached maps: exact at every level, equal to the protocol at 0.5."""

from __future__ import annotations

import numpy as np
import pytest

from forgebench.analysis import leaderboard
from forgebench.analysis.thresholds import FIXED, THRESHOLDS, dataset_curves, f1_by_level
from forgebench.data.truth import GroundTruth, TruthUnavailableError
from forgebench.evaluation.mapcache import dequantise, quantise
from forgebench.evaluation.metrics import best_threshold_f1_iou, score_image


def test_level_zero_predicts_everything_and_index_128_is_the_protocols_threshold():
    assert THRESHOLDS[0] == 0 and THRESHOLDS[FIXED] == 0.5 and len(THRESHOLDS) == 256


@pytest.mark.parametrize("seed", range(5))
def test_curve_equals_the_protocol_at_half_and_its_maximum_is_the_best_threshold_f1(seed):
    rng = np.random.default_rng(seed)
    forged = np.zeros((20, 30), dtype=bool)
    forged[3:12, 5:20] = True
    probability = np.clip(rng.normal(0.45, 0.25, forged.shape) + 0.2 * forged, 0, 1)
    levels = quantise(probability)
    curve = f1_by_level(levels, forged)
    assert curve[FIXED] == score_image(probability, forged, "tampered").f1
    assert curve.max() == pytest.approx(best_threshold_f1_iou(dequantise(levels), forged)[0], abs=1e-12)
    for index in (0, 37, 200, 255):
        predicted = levels >= index
        tp = np.count_nonzero(predicted & forged)
        assert curve[index] == 2 * tp / (predicted.sum() + forged.sum())


def test_a_detector_that_is_right_below_half_is_perfect_at_its_best_threshold(stored_maps):
    # Protocol case G11's point: 0.4 on the forged region, 0.1 elsewhere → F1 0 at 0.5, 1 at a lower threshold.
    store, catalog, truth = stored_maps(lambda forged: np.where(forged, 0.4, 0.1))
    board = leaderboard.build(store, catalog, ["tiny"])
    (curve,) = dataset_curves(board.cells, truth)
    assert (curve.images, curve.fixed_f1, curve.best_f1, curve.per_image_best) == (3, 0.0, 1.0, 1.0)
    assert curve.best_threshold == THRESHOLDS[27]  # levels 26 (0.1) and 102 (0.4): level ≥ 27 is the forged region
    assert np.all(curve.mean_f1[27:103] == 1.0) and np.all(curve.mean_f1[103:] == 0.0)
    store.close()


def test_changed_files_and_missing_maps_are_reported_not_guessed(stored_maps, tmp_path):
    store, catalog, truth = stored_maps(lambda forged: forged.astype(float))
    board = leaderboard.build(store, catalog, ["tiny"])
    (store.results / "maps/1.png").unlink()
    (curve,) = dataset_curves(board.cells, truth)
    assert (curve.images, curve.skipped, curve.fixed_f1) == (2, 1, 1.0)
    (tmp_path / "data/images/t00.png").write_bytes(b"changed")
    with pytest.raises(TruthUnavailableError, match="tiny: the files on disk differ from the ones scored"):
        dataset_curves(board.cells, GroundTruth(catalog))
    store.close()
