"""F1 against the binarisation threshold, per detector and dataset: how calibration-dependent a result is.

Curves are computed from the cached maps, which hold 256 levels with the protocol's 0.5 exactly between
levels 127 and 128 (see :mod:`forgebench.evaluation.mapcache`). Binarising at ``level ≥ j`` for j = 0…255 gives
every distinct binarisation of a cached map, so the curve, its best single threshold and the
per-image best threshold are exact for the cached maps (the raw maps may differ by the 1/255 quantisation).
Both best-threshold numbers are optimistic: the threshold is chosen on the test images themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from forgebench.analysis.leaderboard import Cell
from forgebench.data.truth import GroundTruth, TruthUnavailableError
from forgebench.evaluation.mapcache import load_levels
from forgebench.evaluation.metrics import THRESHOLD
from forgebench.evaluation.protocols import level_counts
from forgebench.evaluation.store import Record

LEVELS = 256
FIXED = 128
"""Index of the protocol's binarisation ``p > 0.5`` (``level ≥ 128``)."""
THRESHOLDS = np.r_[0.0, (np.arange(1, LEVELS) - 0.5) / 255]
"""Probability threshold of each index: index j binarises ``level ≥ j``, i.e. ``p > (j − ½)/255`` (all pixels at 0)."""
assert THRESHOLDS[FIXED] == THRESHOLD


def f1_by_level(levels: np.ndarray, forged: np.ndarray) -> np.ndarray:
    """F1 of one tampered image at every binarisation ``level ≥ j`` (j = 0…255) of a uint8 map."""
    true_positive, false_positive = level_counts(levels, forged)
    return (2 * true_positive / (true_positive + false_positive + int(forged.sum())))[:LEVELS]


@dataclass(frozen=True)
class Curve:
    """Mean F1 over a cell's tampered images at every threshold, and the optimistic best-threshold values."""

    label: str
    dataset: str
    images: int
    mean_f1: np.ndarray = field(repr=False)
    per_image_best: float
    """Mean over images of each image's best F1 (the protocol's F1-best column, optimistic)."""
    skipped: int = 0
    """Tampered images whose cached map could not be read."""

    @property
    def fixed_f1(self) -> float:
        return float(self.mean_f1[FIXED])

    @property
    def best_threshold(self) -> float:
        """The single threshold with the highest mean F1 on these images (the lowest such, on ties)."""
        return float(THRESHOLDS[int(np.argmax(self.mean_f1))])

    @property
    def best_f1(self) -> float:
        return float(self.mean_f1.max())


def dataset_curves(cells: Sequence[Cell], truth: GroundTruth) -> list[Curve]:
    """One curve per cell of a single dataset, all scored on the same files (one manifest digest); each ground
    truth is read once for all detectors.

    Raises :class:`TruthUnavailableError` when the dataset's files cannot be read back, or the cells were
    scored on different versions of them.
    """
    if not cells:
        return []
    dataset, digest = scored_copy(cells)
    samples = truth.samples(dataset, digest)
    records = [{r.image_id: r for r in cell.tampered()} for cell in cells]
    sums = [np.zeros(LEVELS) for _ in cells]
    bests, counts, skipped = [0.0] * len(cells), [0] * len(cells), [0] * len(cells)
    for image_id in sorted(set().union(*records)):
        forged = None
        for index, (cell, by_id) in enumerate(zip(cells, records, strict=True)):
            record = by_id.get(image_id)
            if record is None:
                continue
            try:
                if forged is None:
                    forged = truth.forged(dataset, digest, samples[image_id])
                levels = cached_levels(cell, record, forged.shape)
            except (OSError, ValueError, KeyError):
                skipped[index] += 1
                continue
            curve = f1_by_level(levels, forged)
            sums[index] += curve
            bests[index] += float(curve.max())
            counts[index] += 1
    return [
        Curve(cell.label, dataset, n, total / max(n, 1), best / max(n, 1), skip)
        for cell, total, best, n, skip in zip(cells, sums, bests, counts, skipped, strict=True)
        if n
    ]


def scored_copy(cells: Sequence[Cell]) -> tuple[str, str]:
    """(dataset, manifest digest) of cells of one dataset; raises :class:`TruthUnavailableError` when they were scored
    on different versions of its files."""
    dataset, digest = cells[0].dataset, cells[0].manifest_digest
    if any(cell.manifest_digest != digest for cell in cells):
        raise TruthUnavailableError(f"{dataset}: the detectors were scored on different versions of its files")
    return dataset, digest


def cached_levels(cell: Cell, record: Record, shape: tuple[int, ...]) -> np.ndarray:
    """The record's cached map as uint8 levels, checked against the ground truth's size."""
    if record.map_file is None:
        raise FileNotFoundError(f"{record.image_id}: no cached map")
    levels = load_levels(cell.results / record.map_file)
    if levels.shape != shape:
        raise ValueError(f"cached map {record.map_file} is {levels.shape}, the ground truth {shape}")
    return levels
