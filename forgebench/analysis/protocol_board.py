"""Stored maps re-scored under any protocol, without calling a detector: one table per protocol, and side by side.

A leaderboard's cells already name their records and cached maps; each dataset's ground truth is read once (through
:class:`~forgebench.data.truth.GroundTruth`, which refuses files that changed since scoring) and every detector's maps
are scored against it under the protocol (:mod:`forgebench.evaluation.protocols`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from forgebench.analysis.leaderboard import Cell, Leaderboard
from forgebench.analysis.thresholds import cached_levels, scored_copy
from forgebench.data.truth import GroundTruth, TruthUnavailableError
from forgebench.evaluation.mapcache import load_levels
from forgebench.evaluation.metrics import weighted_average
from forgebench.evaluation.protocols import Counts, Protocol, Result, image_counts, score_dataset
from forgebench.evaluation.store import Record


@dataclass
class ProtocolBoard:
    """One protocol's values for every cell of a leaderboard, and why any cell could not be scored."""

    protocol: Protocol
    datasets: list[str]
    labels: list[str]
    results: dict[tuple[str, str], Result] = field(default_factory=dict)
    missing: dict[tuple[str, str], str] = field(default_factory=dict)
    """(label, dataset) → why the cell has no value under this protocol."""

    @property
    def average_name(self) -> str:
        return "Weighted Avg." if self.protocol.datasets == "weighted" else "Unweighted Avg."

    def average(self, label: str) -> float | None:
        """The protocol's average over the datasets where every cell of ``label`` has a value (None otherwise)."""
        found = [self.results.get((label, d)) for d in self.datasets]
        if not found or any(r is None for r in found):
            return None
        weights = [r.images if self.protocol.datasets == "weighted" else 1 for r in found]
        return weighted_average([r.primary for r in found], weights)

    def wide(self) -> pd.DataFrame:
        """Rows = detectors; per dataset the primary metric (F1 or MCC), then the protocol's average."""
        metric = "MCC" if self.protocol.metric == "mcc" else "F1"
        rows = []
        for label in self.labels:
            row: dict[str, object] = {"Detector": label}
            for dataset in self.datasets:
                result = self.results.get((label, dataset))
                row[f"{dataset} {metric}"] = result.primary if result else None
            row[f"{self.average_name} {metric}"] = self.average(label)
            rows.append(row)
        return pd.DataFrame(rows)


def protocol_board(board: Leaderboard, protocol: Protocol, truth: GroundTruth) -> ProtocolBoard:
    """Score every cell of ``board`` under ``protocol`` from its cached maps."""
    scored = ProtocolBoard(protocol, [d for d in board.datasets if d not in board.missing], board.labels())
    for dataset in scored.datasets:
        cells = [c for c in board.cells if c.dataset == dataset]
        try:
            counts = _dataset_counts(cells, protocol, truth)
        except TruthUnavailableError as error:
            scored.missing.update({(c.label, dataset): str(error) for c in cells})
            continue
        for cell, (images, why) in zip(cells, counts, strict=True):
            result = score_dataset(protocol, images) if why is None else None
            if result is None:
                scored.missing[(cell.label, dataset)] = why or "no image this protocol scores"
            else:
                scored.results[(cell.label, dataset)] = result
    return scored


def _dataset_counts(
    cells: Sequence[Cell], protocol: Protocol, truth: GroundTruth
) -> list[tuple[list[Counts], str | None]]:
    """Per cell the counts of its scored images (in record order), or why its maps cannot be scored."""
    if not cells:
        return []
    dataset, digest = scored_copy(cells)
    samples = truth.samples(dataset, digest)
    masks: dict[str, np.ndarray] = {}
    out = []
    for cell in cells:
        images, why = [], None
        for record in (r for r in cell.records if r.status == "ok"):
            if record.image_id not in masks:
                masks[record.image_id] = truth.forged(dataset, digest, samples[record.image_id])
            try:
                levels, forged = _at_scoring_size(cell, record, masks[record.image_id], protocol)
            except (OSError, ValueError) as error:
                why = str(error)
                break
            images.append(image_counts(levels, forged, protocol))
        out.append((images, why))
    return out


def _at_scoring_size(
    cell: Cell, record: Record, forged: np.ndarray, protocol: Protocol
) -> tuple[np.ndarray, np.ndarray]:
    """The cached map and the mask at the size the protocol scores at."""
    if protocol.resize == "map-to-mask":
        return cached_levels(cell, record, forged.shape), forged
    if record.map_height is None:
        raise ValueError("the maps at the detector's own size were not kept by this run (run it again to keep them)")
    levels = load_levels(cell.results / (record.native_map_file or record.map_file))
    size = (record.map_width, record.map_height)
    mask = cv2.resize(forged.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return levels, mask
