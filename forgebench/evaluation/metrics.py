"""Per-image and dataset-level scores, exactly as the evaluation protocol defines them.

Per image: the probability map is resized to the ground truth's H×W (bilinear, half-pixel
centres, no antialiasing), binarised with ``p > 0.5`` and compared with the mask. Tampered images
give F1 and IoU; authentic images give a pixel false-positive rate and an image decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from forgebench.evaluation.detection import auc

THRESHOLD = 0.5
AVERAGE = "Weighted Avg."
"""The name of the image-count-weighted average over datasets in every table."""
PROTOCOL = {
    "name": "clue-fixed-threshold",
    "threshold": THRESHOLD,
    "comparator": "forged if p > threshold",
    "resize": "map resized to ground-truth size, bilinear, half-pixel centres, no antialias (OpenCV INTER_LINEAR)",
    "tampered": "per-image F1 = 2TP/(2TP+FP+FN), IoU = TP/(TP+FP+FN); mean over tampered images (macro)",
    "authentic": "excluded from F1/IoU; pixel FPR and specificity (image score = given score or max of map)",
    "average": "image-count-weighted mean over datasets, weights = tampered images scored",
}


class InvalidMapError(ValueError):
    """A detector returned a map that is not a finite 2-D array in [0, 1]."""


@dataclass(frozen=True)
class Confusion:
    """Pixel counts of one image at the fixed threshold."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def f1(self) -> float:
        """2TP/(2TP+FP+FN); an empty prediction on a tampered image gives 0."""
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    @property
    def iou(self) -> float:
        return self.tp / (self.tp + self.fp + self.fn)

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn)


def check_map(probability: np.ndarray) -> np.ndarray:
    """Return the map as floats after checking it is 2-D, real, finite and within [0, 1].

    float32 and float64 maps are kept as they are (a float64 0.5000000001 must stay above the threshold);
    other dtypes become float32. The checks run on the values as given, so 1 + 1e-9 is refused, not rounded.
    """
    array = np.asarray(probability)
    if array.ndim != 2 or array.size == 0:
        raise InvalidMapError(f"probability map must be a non-empty H×W array, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise InvalidMapError(f"probability map must hold real numbers, got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise InvalidMapError("probability map contains NaN or infinite values")
    low, high = array.min(), array.max()
    if low < 0 or high > 1:
        raise InvalidMapError(f"probability map values must lie in [0, 1], got [{float(low):g}, {float(high):g}]")
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float32)


def check_score(score: float | None) -> float | None:
    """The detector's image-level score, checked like the map: None, or a finite number in [0, 1]."""
    if score is None:
        return None
    value = float(score)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise InvalidMapError(f"image score must be a finite number in [0, 1], got {score!r}")
    return value


def resize_to(probability: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres and no antialiasing (skipped when the size matches)."""
    if probability.shape == (height, width):
        return probability
    return cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)


def confusion(probability: np.ndarray, forged: np.ndarray) -> Confusion:
    """Counts for a map already at the mask's size; ``forged`` is the boolean ground truth."""
    predicted = probability > THRESHOLD
    tp = int(np.count_nonzero(predicted & forged))
    fp = int(np.count_nonzero(predicted)) - tp
    fn = int(np.count_nonzero(forged)) - tp
    return Confusion(tp=tp, fp=fp, fn=fn, tn=forged.size - tp - fp - fn)


def image_score(probability: np.ndarray, score: float | None) -> float:
    """The image-level score: the detector's own if given (checked by :func:`check_score`), else the map's max."""
    return float(probability.max()) if score is None else check_score(score)


def best_threshold_f1_iou(probability: np.ndarray, forged: np.ndarray) -> tuple[float, float]:
    """Best F1 and IoU over all binarisations ``p >= v``, v among the map's distinct values (optimistic)."""
    values = probability.ravel()
    truth = forged.ravel()
    order = np.argsort(-values, kind="stable")
    sorted_values = values[order]
    tp = np.cumsum(truth[order])
    predicted = np.arange(1, values.size + 1)
    last_of_value = np.r_[sorted_values[1:] != sorted_values[:-1], True]
    tp, predicted = tp[last_of_value], predicted[last_of_value]
    positives = int(truth.sum())
    f1 = 2 * tp / (predicted + positives)
    iou = tp / (predicted + positives - tp)
    return float(f1.max()), float(iou.max())


def pixel_auc(probability: np.ndarray, forged: np.ndarray) -> float | None:
    """ROC AUC over pixels with ties counted ½ (Mann–Whitney); None when the GT has a single class."""
    positives = int(forged.sum())
    if positives == 0 or positives == forged.size:
        return None
    return auc(probability.ravel(), forged.ravel())


EXTRA_FIELDS = {"auc": ("auc",), "best": ("f1_best", "iou_best"), "inv": ("f1_inv", "iou_inv")}
"""Optional per-image columns, by ``--extra`` name: pixel AUC (threshold-free), best-threshold and inverse-map
F1/IoU (optimistic)."""
EXTRA_COLUMNS = tuple(EXTRA_FIELDS)


@dataclass(frozen=True)
class ImageScore:
    """Everything the protocol records for one scored image; its fields (``counts`` flattened) are the store's
    score columns, so a new per-image metric is one field here and its computation in :func:`score_resized`."""

    counts: Confusion
    score: float
    """Image-level P(forged): the detector's own score, else the map's maximum."""
    f1: float | None = None
    """Tampered images only, like ``iou`` and the extras."""
    iou: float | None = None
    fpr: float | None = None
    """Pixel false-positive rate; authentic images only."""
    auc: float | None = None
    f1_best: float | None = None
    iou_best: float | None = None
    f1_inv: float | None = None
    iou_inv: float | None = None

    @property
    def predicted_forged(self) -> bool:
        return self.score > THRESHOLD


def score_image(
    probability: np.ndarray, forged: np.ndarray, label: str, score: float | None = None, extras: Iterable[str] = ()
) -> ImageScore:
    """Score one detector map against its ground truth (``label`` is "tampered" or "authentic")."""
    raw = check_map(probability)
    return score_resized(resize_to(raw, *forged.shape), forged, label, image_score(raw, score), extras)


def score_resized(
    at_gt: np.ndarray, forged: np.ndarray, label: str, decision_score: float, extras: Iterable[str] = ()
) -> ImageScore:
    """Score a map already checked and resized to the ground truth, with its image-level score."""
    counts = confusion(at_gt, forged)
    if label == "authentic":
        return ImageScore(counts=counts, score=decision_score, fpr=counts.fpr)
    extras = set(extras)
    values: dict[str, float | None] = {"f1": counts.f1, "iou": counts.iou}
    if "auc" in extras:
        values["auc"] = pixel_auc(at_gt, forged)
    if "best" in extras:
        values["f1_best"], values["iou_best"] = best_threshold_f1_iou(at_gt, forged)
    if "inv" in extras:
        inverse = confusion(1.0 - at_gt, forged)
        values["f1_inv"] = max(counts.f1, inverse.f1)
        values["iou_inv"] = max(counts.iou, inverse.iou)
    return ImageScore(counts=counts, score=decision_score, **values)


@dataclass(frozen=True)
class DatasetScore:
    """Aggregates of one dataset (macro primary, micro secondary; authentic images separate)."""

    n_tampered: int
    n_authentic: int
    f1: float | None
    iou: float | None
    f1_micro: float | None
    iou_micro: float | None
    fpr_pixel: float | None
    specificity: float | None


def aggregate(tampered: Sequence[ImageScore], authentic: Sequence[ImageScore] = ()) -> DatasetScore:
    """Macro means over tampered images, micro from summed counts, FPR/specificity over authentic ones."""
    tp = sum(s.counts.tp for s in tampered)
    fp = sum(s.counts.fp for s in tampered)
    fn = sum(s.counts.fn for s in tampered)
    return DatasetScore(
        n_tampered=len(tampered),
        n_authentic=len(authentic),
        f1=_mean([s.f1 for s in tampered]),
        iou=_mean([s.iou for s in tampered]),
        f1_micro=2 * tp / (2 * tp + fp + fn) if tampered else None,
        iou_micro=tp / (tp + fp + fn) if tampered else None,
        fpr_pixel=_mean([s.fpr for s in authentic]),
        specificity=_mean([0.0 if s.predicted_forged else 1.0 for s in authentic]),
    )


def weighted_average(values: Sequence[float], counts: Sequence[int]) -> float:
    """Σ n_d·m_d / Σ n_d: the image-count-weighted mean across datasets (the paper's "Weighted Avg.")."""
    total = sum(counts)
    if total == 0:
        raise ValueError("weighted average over datasets with no scored images")
    return sum(n * m for n, m in zip(values, counts, strict=True)) / total


def _mean(values: Sequence[float | None]) -> float | None:
    return float(np.mean(values)) if values else None
