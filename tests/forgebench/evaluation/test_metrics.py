"""Golden cases of the protocol (4×4 grids) and checks against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score, roc_auc_score

from forgebench.evaluation.metrics import (
    InvalidMapError,
    aggregate,
    resize_to,
    score_image,
    weighted_average,
)


def region(name: str) -> np.ndarray:
    grid = np.zeros((4, 4), dtype=bool)
    if name == "L":
        grid[:, :2] = True
    elif name == "R":
        grid[:, 2:] = True
    elif name == "T":
        grid[:2, :] = True
    elif name == "Q":
        grid[:2, :2] = True
    return grid


def as_map(mask: np.ndarray, inside: float = 1.0, outside: float = 0.0) -> np.ndarray:
    return np.where(mask, inside, outside).astype(np.float32)


ALL_ZERO = np.zeros((4, 4), np.float32)
ALL_ONE = np.ones((4, 4), np.float32)

GOLDEN = [
    ("G1", "L", as_map(region("L")), (8, 0, 0), 1.0, 1.0),
    ("G2", "L", ALL_ZERO, (0, 0, 8), 0.0, 0.0),
    ("G3", "Q", ALL_ONE, (4, 12, 0), 0.4, 0.25),
    ("G4", "L", as_map(region("T")), (4, 4, 4), 0.5, 1 / 3),
    ("G5", "L", as_map(region("Q")), (4, 0, 4), 2 / 3, 0.5),
    ("G6", "Q", as_map(region("L")), (4, 4, 0), 2 / 3, 0.5),
    ("G7", "L", as_map(region("R")), (0, 8, 8), 0.0, 0.0),
    ("G8", "Q", as_map(region("Q"), inside=0.5), (0, 0, 4), 0.0, 0.0),
    ("G10", "Q", np.array([[0.6, 0], [0, 0]], np.float32), (1, 0, 3), 0.4, 0.25),
]


@pytest.mark.parametrize(("case", "gt", "prob", "counts", "f1", "iou"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_cases(case, gt, prob, counts, f1, iou):
    result = score_image(prob, region(gt), "tampered")
    assert (result.counts.tp, result.counts.fp, result.counts.fn) == counts
    assert result.f1 == pytest.approx(f1, abs=1e-12)
    assert result.iou == pytest.approx(iou, abs=1e-12)
    assert result.iou == pytest.approx(result.f1 / (2 - result.f1), abs=1e-12)


def test_g9_inverse_column_only_rescues_an_inverted_map():
    result = score_image(1.0 - as_map(region("L")), region("L"), "tampered", extras=["inv"])
    assert (result.f1, result.iou) == (0.0, 0.0)
    assert (result.f1_inv, result.iou_inv) == (1.0, 1.0)


def test_g10_bilinear_upsampling_row():
    upsampled = resize_to(np.array([[0.6, 0], [0, 0]], np.float32), 4, 4)
    np.testing.assert_allclose(upsampled[0], [0.6, 0.45, 0.15, 0.0], atol=1e-6)


def test_g11_best_threshold():
    prob = np.full((4, 4), 0.1, np.float32)
    prob[:2, :2] = 0.4
    prob[3, 3] = 0.3
    result = score_image(prob, region("Q"), "tampered", extras=["best"])
    assert (result.f1, result.iou) == (0.0, 0.0)
    assert (result.f1_best, result.iou_best) == (1.0, 1.0)


def test_g12_pixel_auc():
    prob = np.full((4, 4), 0.1, np.float32)
    prob[0, 0] = prob[0, 1] = prob[1, 0] = 0.9
    prob[1, 1] = 0.2
    prob[3, 3] = 0.5
    result = score_image(prob, region("Q"), "tampered", extras=["auc"])
    assert (result.counts.tp, result.counts.fp, result.counts.fn) == (3, 0, 1)
    assert result.f1 == pytest.approx(6 / 7)
    assert result.iou == pytest.approx(0.75)
    assert result.auc == pytest.approx(47 / 48)


def test_d1_macro_and_micro():
    gt_b = np.zeros((4, 4), bool)
    gt_b[1:] = True
    scores = [score_image(as_map(region("Q")), region("Q"), "tampered"), score_image(ALL_ZERO, gt_b, "tampered")]
    result = aggregate(scores)
    assert (result.f1, result.iou, result.n_authentic) == (0.5, 0.5, 0)
    assert result.f1_micro == pytest.approx(0.4)
    assert result.iou_micro == pytest.approx(0.25)


def test_d2_authentic_images_are_reported_apart():
    authentic_map = as_map(region("Q"), inside=0.9)
    tampered = [score_image(as_map(region("Q")), region("Q"), "tampered")]
    result = aggregate(tampered, [score_image(authentic_map, np.zeros((4, 4), bool), "authentic")])
    assert (result.f1, result.iou, result.n_tampered, result.n_authentic) == (1.0, 1.0, 1, 1)
    assert result.fpr_pixel == 0.25
    assert result.specificity == 0.0


def test_d3_half_everywhere_is_not_forged():
    result = aggregate([], [score_image(np.full((4, 4), 0.5, np.float32), np.zeros((4, 4), bool), "authentic")])
    assert (result.fpr_pixel, result.specificity) == (0.0, 1.0)


def test_image_score_prefers_detector_score_over_map_max():
    authentic = np.zeros((4, 4), bool)
    assert score_image(ALL_ONE, authentic, "authentic", score=0.2).predicted_forged is False
    assert score_image(ALL_ONE, authentic, "authentic").predicted_forged is True


def test_d4_weighted_average():
    assert weighted_average([1.0, 0.0], [1, 3]) == 0.25


@pytest.mark.parametrize(
    "bad", [np.full((4, 4), np.nan), np.full((4, 4), 1.5), np.full((4, 4), -0.1), np.zeros((4, 4, 3)), np.zeros((0, 4))]
)
def test_invalid_maps_are_errors_not_clipped(bad):
    with pytest.raises(InvalidMapError):
        score_image(bad, region("Q"), "tampered")


def test_range_is_checked_before_any_rounding():
    with pytest.raises(InvalidMapError):
        score_image(np.full((4, 4), 1 + 1e-9), region("Q"), "tampered")
    just_above = np.where(region("Q"), 0.5 + 1e-10, 0.0)  # rounds to exactly 0.5 in float32
    assert score_image(just_above, region("Q"), "tampered").f1 == 1.0


@pytest.mark.parametrize("bad", [float("nan"), 7.0, -0.5, float("inf")])
def test_invalid_image_scores_are_errors(bad):
    with pytest.raises(InvalidMapError, match="image score"):
        score_image(np.zeros((4, 4)), np.zeros((4, 4), bool), "authentic", score=bad)


def test_downsampling_is_bilinear_without_antialiasing():
    """A 5×5 block in a 16×16 map shrunk to 4×4: exactly one output pixel samples only the block."""
    big = np.zeros((16, 16), np.float32)
    big[4:9, 4:9] = 1.0
    expected = np.zeros((4, 4), np.float32)
    expected[1, 1] = 1.0
    np.testing.assert_array_equal(resize_to(big, 4, 4), expected)
    torch = pytest.importorskip("torch")
    reference = torch.nn.functional.interpolate(
        torch.from_numpy(big)[None, None], size=(4, 4), mode="bilinear", align_corners=False, antialias=False
    )
    np.testing.assert_array_equal(resize_to(big, 4, 4), reference[0, 0].numpy())


def test_against_scikit_learn_on_random_images():
    rng = np.random.default_rng(7)
    for _ in range(20):
        height, width = rng.integers(5, 40, size=2)
        forged = rng.random((height, width)) < rng.uniform(0.05, 0.6)
        forged[0, 0] = True
        forged[-1, -1] = False
        prob = rng.random((height, width)).astype(np.float32)
        result = score_image(prob, forged, "tampered", extras=["auc"])
        predicted = (prob > 0.5).ravel()
        assert result.f1 == pytest.approx(f1_score(forged.ravel(), predicted, zero_division=0.0))
        assert result.iou == pytest.approx(jaccard_score(forged.ravel(), predicted, zero_division=0.0))
        assert result.auc == pytest.approx(roc_auc_score(forged.ravel(), prob.ravel()))


def test_prediction_is_resized_to_the_ground_truth_not_the_reverse():
    forged = np.zeros((8, 8), bool)
    forged[:4, :4] = True
    small = np.zeros((2, 2), np.float32)
    small[0, 0] = 1.0
    result = score_image(small, forged, "tampered")
    assert result.counts.tp + result.counts.fp + result.counts.fn + result.counts.tn == 64
    assert result.counts.tp > 0
