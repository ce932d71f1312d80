"""Image-level detection: is this image forged at all? Scores from the rules in use, and the metrics on them.

An image's detection score comes from one of :data:`RULES`: the detector's own image score (the map's maximum where
it gives none, as the protocol records it), the map's maximum, whether any pixel is above the threshold, or the
fraction of pixels above it. Tampered images are the positives. Metrics: ROC AUC (ties count ½), balanced accuracy
and F1 of the decisions, and the true-positive rate at the threshold that keeps a target true-negative rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

FRACTION = 0.01
"""The ``fraction`` rule calls an image forged when more than this share of its pixels is above the threshold."""
RULES = {
    "own": "the detector's image score (the map's maximum where it gives none); forged if > 0.5",
    "max": "the map's maximum; forged if > 0.5",
    "any": "1 if any pixel is above 0.5, else 0",
    "fraction": f"the share of pixels above 0.5; forged if > {FRACTION:g}",
}


@dataclass(frozen=True)
class DetectionScore:
    """One dataset's detection metrics (None where a class is missing: no AUC without authentic images)."""

    n_tampered: int
    n_authentic: int
    auc: float | None
    balanced_accuracy: float | None
    tpr_at_tnr: float | None
    f1: float | None


def rule_score(rule: str, own: float, levels: np.ndarray) -> tuple[float, bool]:
    """(score, decided forged) of one image under ``rule``, from its recorded score and its cached map's levels."""
    if rule == "own":
        return own, own > 0.5
    above = levels >= 128  # p > 0.5 on a cached map
    if rule == "max":
        return float(levels.max()) / 255, bool(above.any())
    if rule == "any":
        return float(above.any()), bool(above.any())
    if rule == "fraction":
        share = float(above.mean())
        return share, share > FRACTION
    raise ValueError(f"unknown image-score rule {rule!r}; rules: {', '.join(RULES)}")


def detection_metrics(scores: np.ndarray, decisions: np.ndarray, tampered: np.ndarray, tnr: float) -> DetectionScore:
    """The metrics over one dataset's images (``tampered``: True for tampered images, the positives)."""
    positives, negatives = int(tampered.sum()), int((~tampered).sum())
    both = positives > 0 and negatives > 0
    return DetectionScore(
        n_tampered=positives,
        n_authentic=negatives,
        auc=auc(scores, tampered) if both else None,
        balanced_accuracy=balanced_accuracy(decisions, tampered) if both else None,
        tpr_at_tnr=tpr_at_tnr(scores, tampered, tnr) if both else None,
        f1=f1(decisions, tampered) if positives else None,
    )


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the Mann–Whitney statistic: P(score of a positive > score of a negative), ties counting ½."""
    ranks = rankdata(scores)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced_accuracy(decisions: np.ndarray, positive: np.ndarray) -> float:
    """The mean of the true-positive and true-negative rates."""
    return float((decisions[positive].mean() + (~decisions[~positive]).mean()) / 2)


def tpr_at_tnr(scores: np.ndarray, positive: np.ndarray, tnr: float) -> float:
    """The true-positive rate of ``score > t`` at the lowest threshold t whose true-negative rate is at least
    ``tnr`` (t is one of the negatives' scores)."""
    negatives = np.sort(scores[~positive])
    index = max(int(np.ceil(tnr * negatives.size)) - 1, 0)
    threshold = negatives[index]
    return float((scores[positive] > threshold).mean())


def f1(decisions: np.ndarray, positive: np.ndarray) -> float:
    """F1 of the "forged" decisions, tampered images being the positives."""
    tp = int((decisions & positive).sum())
    return 2 * tp / (int(decisions.sum()) + int(positive.sum()))
