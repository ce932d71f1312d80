"""The detection table: per detector and dataset, image AUC, balanced accuracy, TPR at a fixed TNR and F1 under one
image-score rule, from the stored records and maps, with stratified bootstrap intervals.

Intervals resample the tampered and the authentic images of a dataset separately (so every resample keeps both
classes) and recompute each metric; the average over datasets weighs each by its images, as the localization
table does, and combines the datasets' resampled values with the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forgebench.analysis.bootstrap import Settings, percentile_interval, rng
from forgebench.analysis.leaderboard import Cell, Leaderboard
from forgebench.evaluation.detection import DetectionScore, detection_metrics, rule_score
from forgebench.evaluation.mapcache import load_levels
from forgebench.evaluation.metrics import weighted_average

METRICS = ("auc", "balanced_accuracy", "tpr_at_tnr", "f1")
HEADERS = {"auc": "AUC", "balanced_accuracy": "bal. acc.", "tpr_at_tnr": "TPR@TNR", "f1": "F1"}


@dataclass
class DetectionBoard:
    """Every cell's detection metrics under one image-score rule, with intervals where asked and why any cell could
    not be scored."""

    rule: str
    tnr: float
    datasets: list[str]
    labels: list[str]
    scores: dict[tuple[str, str], DetectionScore] = field(default_factory=dict)
    intervals: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    """(label, dataset or "Weighted Avg.") → [[low per metric], [high per metric]] (NaN where a metric is None)."""
    missing: dict[tuple[str, str], str] = field(default_factory=dict)

    def average(self, label: str, metric: str) -> float | None:
        found = [(s, getattr(s, metric)) for d in self.datasets if (s := self.scores.get((label, d)))]
        found = [(s, v) for s, v in found if v is not None]
        if not found:
            return None
        return weighted_average([v for _, v in found], [s.n_tampered + s.n_authentic for s, _ in found])

    def wide(self) -> pd.DataFrame:
        """Rows = detectors; per dataset and for the weighted average, one column per metric (and its interval)."""
        rows = []
        for label in self.labels:
            row: dict[str, object] = {"Detector": label}
            for dataset in [*self.datasets, "Weighted Avg."]:
                score = self.scores.get((label, dataset))
                bounds = self.intervals.get((label, dataset))
                for index, metric in enumerate(METRICS):
                    value = self.average(label, metric) if dataset == "Weighted Avg." else getattr(score, metric, None)
                    row[f"{dataset} {HEADERS[metric]}"] = value
                    if bounds is not None:
                        row[f"{dataset} {HEADERS[metric]} low"] = _none(bounds[0, index])
                        row[f"{dataset} {HEADERS[metric]} high"] = _none(bounds[1, index])
            rows.append(row)
        return pd.DataFrame(rows)


def detection_board(
    board: Leaderboard, rule: str, tnr: float = 0.95, bootstrap: Settings | None = None
) -> DetectionBoard:
    """Score every cell of ``board`` for detection under ``rule``."""
    out = DetectionBoard(rule, tnr, [d for d in board.datasets if d not in board.missing], board.labels())
    resampled: dict[str, list[tuple[np.ndarray, int]]] = {}
    for cell in board.cells:
        try:
            scores, decisions, tampered = _image_scores(cell, rule)
        except (OSError, ValueError, TypeError) as error:
            out.missing[(cell.label, cell.dataset)] = f"a stored map cannot be read: {error}"
            continue
        if scores.size == 0:
            out.missing[(cell.label, cell.dataset)] = "no image was scored"
            continue
        out.scores[(cell.label, cell.dataset)] = detection_metrics(scores, decisions, tampered, tnr)
        if bootstrap is not None:
            draws = _resampled(scores, decisions, tampered, tnr, bootstrap, cell)
            out.intervals[(cell.label, cell.dataset)] = percentile_interval(draws, bootstrap)
            resampled.setdefault(cell.label, []).append((draws, scores.size))
    for label, parts in resampled.items():
        out.intervals[(label, "Weighted Avg.")] = percentile_interval(_pooled(parts), bootstrap)
    return out


def _image_scores(cell: Cell, rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, decision, tampered) of each scored image of the cell, in record order."""
    values, decisions, tampered = [], [], []
    for record in (r for r in cell.records if r.status == "ok"):
        if rule != "own" and record.map_file is None:
            raise ValueError(f"{record.image_id} has no stored map")
        levels = None if rule == "own" else load_levels(cell.results / (record.native_map_file or record.map_file))
        score, forged = rule_score(rule, record.scored.score, levels)
        values.append(score)
        decisions.append(forged)
        tampered.append(record.label == "tampered")
    return np.array(values, dtype=float), np.array(decisions, dtype=bool), np.array(tampered, dtype=bool)


def _resampled(
    scores: np.ndarray, decisions: np.ndarray, tampered: np.ndarray, tnr: float, settings: Settings, cell: Cell
) -> np.ndarray:
    """Each metric over ``settings.resamples`` stratified resamples (rows), NaN where it is undefined."""
    generator = rng(settings, "detection", cell.dataset, cell.fingerprint)
    positive, negative = np.flatnonzero(tampered), np.flatnonzero(~tampered)
    rows = np.empty((settings.resamples, len(METRICS)))
    for index in range(settings.resamples):
        chosen = np.concatenate([generator.choice(group, group.size) for group in (positive, negative) if group.size])
        score = detection_metrics(scores[chosen], decisions[chosen], tampered[chosen], tnr)
        rows[index] = [np.nan if (v := getattr(score, m)) is None else v for m in METRICS]
    return rows


def _pooled(parts: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Resampled weighted averages per metric over the datasets where the metric is defined."""
    total = np.zeros_like(parts[0][0])
    weights = np.zeros(parts[0][0].shape[1])
    for draws, count in parts:
        defined = ~np.isnan(draws).any(axis=0)
        total[:, defined] += count * draws[:, defined]
        weights[defined] += count
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / weights


def _none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
