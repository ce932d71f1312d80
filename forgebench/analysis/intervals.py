"""Bootstrap intervals for a leaderboard: each detector × dataset cell and each detector's weighted average.

A cell's F1 and IoU share one set of image resamples; the weighted average combines the datasets'
resampled means with their image counts as weights (a stratified bootstrap, see :mod:`forgebench.analysis.bootstrap`).
Draws are keyed by dataset and detector fingerprint, so adding a detector or a dataset changes no other interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from forgebench.analysis.bootstrap import Settings, percentile_interval, pooled_means, resample_means, rng
from forgebench.evaluation.metrics import AVERAGE

if TYPE_CHECKING:
    from forgebench.analysis.leaderboard import Cell, Leaderboard


def tampered_values(cell: Cell) -> np.ndarray:
    """Per-image (F1, IoU) of the cell's scored tampered images, shape (n, 2)."""
    return np.array([(r.f1, r.iou) for r in cell.tampered()], dtype=np.float64).reshape(-1, 2)


def leaderboard_intervals(board: Leaderboard, settings: Settings) -> dict[tuple[str, str], np.ndarray]:
    """(label, dataset) and (label, "Weighted Avg.") → [[F1 low, IoU low], [F1 high, IoU high]].

    The average's interval covers the datasets its point value averages (those with scored tampered images).
    """
    found: dict[tuple[str, str], np.ndarray] = {}
    for label in board.labels():
        resampled, counts = [], []
        for dataset in board.datasets:
            cell = board.cell(label, dataset)
            if cell is None or not cell.score.n_tampered:
                continue
            values = tampered_values(cell)
            means = resample_means(values, settings.resamples, rng(settings, dataset, cell.fingerprint))
            found[(label, dataset)] = percentile_interval(means, settings)
            resampled.append(means)
            counts.append(len(values))
        if resampled:
            found[(label, AVERAGE)] = percentile_interval(pooled_means(resampled, counts), settings)
    return found
