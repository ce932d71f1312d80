"""Image-level detection metrics against scikit-learn on random data, and the image-score rules on small maps."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

from forgebench.evaluation.detection import auc, balanced_accuracy, detection_metrics, f1, rule_score, tpr_at_tnr


@pytest.mark.parametrize("seed", range(5))
def test_auc_balanced_accuracy_and_f1_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    tampered = rng.random(300) < 0.4
    scores = np.round(rng.random(300) * 0.6 + 0.3 * tampered, 2)  # rounded: ties between the classes
    decisions = scores > 0.5
    assert abs(auc(scores, tampered) - roc_auc_score(tampered, scores)) <= 1e-12
    assert abs(balanced_accuracy(decisions, tampered) - balanced_accuracy_score(tampered, decisions)) <= 1e-12
    assert abs(f1(decisions, tampered) - f1_score(tampered, decisions)) <= 1e-12


def test_tpr_at_a_fixed_tnr_takes_the_lowest_threshold_keeping_it():
    authentic = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    tampered = np.array([0.85, 0.95, 0.75, 1.0])
    scores, positive = np.r_[authentic, tampered], np.r_[np.zeros(10, bool), np.ones(4, bool)]
    # TNR 0.8 needs 8 of 10 authentic scores at or below t: t = 0.8, and 0.85, 0.95, 1.0 lie above it
    assert tpr_at_tnr(scores, positive, 0.8) == 0.75
    assert tpr_at_tnr(scores, positive, 0.95) == 0.0  # t = 1.0: nothing lies above
    assert tpr_at_tnr(scores, positive, 0.5) == 1.0  # t = 0.5


def test_image_score_rules_on_a_cached_map():
    levels = np.zeros((10, 10), np.uint8)
    levels[0, 0] = 200  # one pixel above 0.5 (level ≥ 128)
    assert rule_score("max", 0.3, levels) == (200 / 255, True)
    assert rule_score("any", 0.3, levels) == (1.0, True)
    assert rule_score("fraction", 0.3, levels) == (0.01, False)  # 1 % is not more than 1 %
    levels[0, 1] = 128
    assert rule_score("fraction", 0.3, levels) == (0.02, True)
    assert rule_score("own", 0.3, levels) == (0.3, False)
    with pytest.raises(ValueError, match="unknown image-score rule 'mean'"):
        rule_score("mean", 0.3, levels)


def test_metrics_without_authentic_images_are_undefined_not_zero():
    score = detection_metrics(np.array([0.9, 0.2]), np.array([True, False]), np.array([True, True]), 0.95)
    assert (score.auc, score.balanced_accuracy, score.tpr_at_tnr) == (None, None, None)
    assert score.f1 == 2 / 3 and (score.n_tampered, score.n_authentic) == (2, 0)
