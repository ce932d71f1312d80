"""Stored maps re-scored under any protocol, without calling a detector: one table per protocol, and side by side.

A leaderboard's cells already name their records and cached maps; each dataset's ground truth is read once (through
:class:`~forgebench.data.truth.GroundTruth`, which refuses files that changed since scoring) and every detector's maps
are scored against it under the protocol (:mod:`forgebench.evaluation.protocols`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from forgebench.analysis.bootstrap import DRAWS_PER_CHUNK, Settings, percentile_interval, rng, stratified_draws
from forgebench.analysis.leaderboard import Cell, Leaderboard
from forgebench.analysis.thresholds import cached_levels, scored_copy
from forgebench.data.manifest import Sample
from forgebench.data.truth import GroundTruth, TruthUnavailableError
from forgebench.evaluation.mapcache import load_levels
from forgebench.evaluation.metrics import weighted_average
from forgebench.evaluation.protocols import (
    LEVELS,
    Counts,
    Protocol,
    Result,
    image_counts,
    image_values,
    resampled_values,
    score_dataset,
    used_images,
)
from forgebench.evaluation.store import Record

AVERAGE_KEY = ""
"""The dataset key (no dataset's name) under which :attr:`ProtocolBoard.intervals` holds each average's interval."""


@dataclass
class ProtocolBoard:
    """One protocol's values for every cell of a leaderboard, and why any cell could not be scored."""

    protocol: Protocol
    datasets: list[str]
    labels: list[str]
    results: dict[tuple[str, str], Result] = field(default_factory=dict)
    missing: dict[tuple[str, str], str] = field(default_factory=dict)
    """(label, dataset) → why the cell has no value under this protocol."""
    bootstrap: Settings | None = None
    intervals: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    """(label, dataset or :data:`AVERAGE_KEY`) → the bootstrap interval of its value, with ``bootstrap``."""

    @property
    def average_name(self) -> str:
        return "Weighted Avg." if self.protocol.datasets == "weighted" else "Unweighted Avg."

    def average(self, label: str) -> float | None:
        """The protocol's average over the datasets where ``label`` has a value, as the leaderboard averages over the
        datasets present: weighted by the images each averaged (under ``clue``: its tampered images), or equally."""
        found = [r for d in self.datasets if (r := self.results.get((label, d)))]
        if not found:
            return None
        weights = [r.images if self.protocol.datasets == "weighted" else 1 for r in found]
        return weighted_average([r.primary for r in found], weights)

    def wide(self) -> pd.DataFrame:
        """Rows = detectors, best average first (as the leaderboard ranks); per dataset the primary metric (F1 or
        MCC), then the protocol's average."""
        metric = "MCC" if self.protocol.metric == "mcc" else "F1"
        averages = {label: self.average(label) for label in self.labels}
        rows = []
        for label in sorted(self.labels, key=lambda name: (averages[name] is None, -(averages[name] or 0.0))):
            row: dict[str, object] = {"Detector": label}
            for dataset in [*self.datasets, AVERAGE_KEY]:
                column = f"{self.average_name if dataset == AVERAGE_KEY else dataset} {metric}"
                result = self.results.get((label, dataset))
                row[column] = averages[label] if dataset == AVERAGE_KEY else (result.primary if result else None)
                if self.bootstrap is not None:
                    low, high = self.intervals.get((label, dataset), (None, None))
                    row |= {f"{column} low": low, f"{column} high": high}
            rows.append(row)
        return pd.DataFrame(rows)


def protocol_board(
    board: Leaderboard, protocol: Protocol, truth: GroundTruth, bootstrap: Settings | None = None
) -> ProtocolBoard:
    """Score every cell of ``board`` under ``protocol`` from its cached maps; with ``bootstrap``, each value's
    interval over resamples of the dataset's images (tampered and authentic drawn separately; a threshold the
    protocol chooses is chosen again on each resample), and the average's from the datasets' resamples combined with
    the average's weights."""
    datasets = [d for d in board.datasets if d not in board.missing]
    scored = ProtocolBoard(protocol, datasets, board.labels(), bootstrap=bootstrap)
    resampled: dict[str, list[tuple[np.ndarray, int]]] = {}
    for dataset in scored.datasets:
        cells = [c for c in board.cells if c.dataset == dataset]
        try:
            counts = _dataset_counts(cells, protocol, truth)
        except TruthUnavailableError as error:
            scored.missing.update({(c.label, dataset): str(error) for c in cells})
            continue
        for cell, images in zip(cells, counts, strict=True):
            if isinstance(images, str):
                scored.missing[(cell.label, dataset)] = images
            elif (result := score_dataset(protocol, list(images.values()))) is None:
                scored.missing[(cell.label, dataset)] = "no image this protocol scores"
            else:
                scored.results[(cell.label, dataset)] = result
                if bootstrap is not None:
                    draws = _resampled(protocol, list(images.values()), bootstrap, cell)
                    scored.intervals[(cell.label, dataset)] = _interval(draws, bootstrap)
                    weight = result.images if protocol.datasets == "weighted" else 1
                    resampled.setdefault(cell.label, []).append((draws, weight))
    for label, parts in resampled.items():
        average = sum(weight * draws for draws, weight in parts) / sum(weight for _, weight in parts)
        scored.intervals[(label, AVERAGE_KEY)] = _interval(average, bootstrap)
    return scored


def _resampled(protocol: Protocol, images: list[Counts], settings: Settings, cell: Cell) -> np.ndarray:
    """The cell's value on ``settings.resamples`` stratified resamples of the images the protocol scores. Every
    protocol draws from the leaderboard's generator for the cell, so protocols that score only the tampered images
    resample the same images as the leaderboard's intervals (``clue``'s are the leaderboard's)."""
    used = used_images(protocol, images)
    groups = np.array([c.tampered for c in used])
    generator = rng(settings, cell.dataset, cell.fingerprint)  # the leaderboard's draws, where only tampered count
    chunk = max(1, DRAWS_PER_CHUNK // max(len(used), LEVELS + 1))  # draws, and a curve per resample
    parts = []
    for start in range(0, settings.resamples, chunk):
        draws = stratified_draws(groups, min(chunk, settings.resamples - start), generator)
        parts.append(resampled_values(protocol, used, draws))
    return np.concatenate(parts)


def _interval(draws: np.ndarray, settings: Settings) -> tuple[float, float]:
    low, high = percentile_interval(draws, settings)
    return float(low), float(high)


def _dataset_counts(cells: Sequence[Cell], protocol: Protocol, truth: GroundTruth) -> list[dict[str, Counts] | str]:
    """Per cell the counts of its scored images by id in record order, or why its maps cannot be scored. Images are
    taken one at a time, each mask read once for all cells; authentic images are read only where the protocol uses
    them (their mask is empty: no file is decoded for it)."""
    if not cells:
        return []
    dataset, digest = scored_copy(cells)
    samples = truth.samples(dataset, digest)
    wanted = [
        [r for r in cell.records if r.status == "ok" and (r.label == "tampered" or protocol.authentic != "excluded")]
        for cell in cells
    ]
    by_image = [{r.image_id: r for r in records} for records in wanted]
    counts: list[dict[str, Counts] | str] = [{} for _ in cells]
    for image_id in dict.fromkeys(r.image_id for records in wanted for r in records):
        forged = None
        for index, cell in enumerate(cells):
            record = by_image[index].get(image_id)
            if record is None or isinstance(counts[index], str):
                continue
            if forged is None:
                forged = _mask(truth, dataset, digest, samples[image_id], record)
            try:
                levels, mask = _at_scoring_size(cell, record, forged, protocol)
            except (OSError, ValueError) as error:
                counts[index] = f"{record.image_id}: {error}"
                continue
            counts[index][image_id] = image_counts(levels, mask, protocol, record.label == "tampered")
    return [
        c if isinstance(c, str) else {r.image_id: c[r.image_id] for r in records}
        for c, records in zip(counts, wanted, strict=True)
    ]


def _mask(truth: GroundTruth, dataset: str, digest: str, sample: Sample, record: Record) -> np.ndarray:
    if sample.mask is None:
        return np.zeros((record.height, record.width), dtype=bool)
    return truth.forged(dataset, digest, sample)


def _at_scoring_size(
    cell: Cell, record: Record, forged: np.ndarray, protocol: Protocol
) -> tuple[np.ndarray, np.ndarray]:
    """The cached map and the mask at the size the protocol scores at."""
    if protocol.resize == "map-to-mask":
        return cached_levels(cell, record, forged.shape), forged
    if record.map_height is None:
        raise ValueError(
            "scored before forgebench kept maps at the detector's own size: run the detector again into a new "
            "--results folder to score it under this protocol"
        )
    levels = load_levels(cell.results / (record.native_map_file or record.map_file))
    if levels.shape != (record.map_height, record.map_width):
        raise ValueError(f"the kept map is {levels.shape}, the record says {(record.map_height, record.map_width)}")
    size = (record.map_width, record.map_height)
    mask = cv2.resize(forged.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return levels, mask


def explanation(
    board: Leaderboard, label: str, protocols: dict[str, Protocol], truth: GroundTruth
) -> tuple[pd.DataFrame, list[str]]:
    """One configuration under every protocol: rows = protocols, columns = each dataset's primary value and the
    protocol's average (its own weighting); and why any protocol has no value on a dataset."""
    own = dataclasses.replace(board, cells=[c for c in board.cells if c.label == label])
    rows, why = [], []
    for protocol in protocols.values():
        scored = protocol_board(own, protocol, truth)
        row: dict[str, object] = {"Protocol": protocol.name, "metric": "MCC" if protocol.metric == "mcc" else "F1"}
        row |= {d: (r.primary if (r := scored.results.get((label, d))) else None) for d in scored.datasets}
        row["Average"] = scored.average(label)
        row["averaged"] = scored.average_name.split()[0].lower()
        rows.append(row)
        why += [f"{protocol.name} on {dataset}: {reason}" for (_, dataset), reason in scored.missing.items()]
    return pd.DataFrame(rows), why


def explained_datasets(frame: pd.DataFrame) -> list[str]:
    """The dataset columns of an :func:`explanation`."""
    return [c for c in frame.columns if c not in ("Protocol", "metric", "Average", "averaged")]


def reported_matches(
    frame: pd.DataFrame, reported: dict[str, float], tolerance: float, metric: str | None = None
) -> pd.DataFrame:
    """Which protocols explain reported values: per reported value (a dataset's, or ``"Average"``), the protocols of
    ``frame`` (an :func:`explanation`, only those of ``metric`` where given) whose value lies within ``tolerance``,
    and the closest one with its value. An average is compared only for protocols that scored every dataset."""
    if metric is not None:
        frame = frame[frame["metric"] == metric]
    complete = frame[explained_datasets(frame)].notna().all(axis=1)
    rows = []
    for column, value in reported.items():
        values = (frame[column].where(complete) if column == "Average" else frame[column]).astype(float)
        distance = pd.Series((values - value).abs().to_numpy(), index=frame["Protocol"]).dropna()
        closest = distance.idxmin() if len(distance) else None
        rows.append({
            "Reported": column, "value": value,
            f"within {tolerance:g}": ", ".join(distance.index[distance <= tolerance]) or "none",
            "closest": closest,
            "its value": None if closest is None else float(frame.set_index("Protocol").at[closest, column]),
        })  # fmt: skip
    return pd.DataFrame(rows)


def protocol_image_values(
    board: Leaderboard, protocol: Protocol, truth: GroundTruth
) -> dict[tuple[str, str], dict[str, tuple[float, float | None]]]:
    """(label, dataset) → image id → (primary, secondary) under a per-image protocol: what ``compare`` pairs."""
    values = {}
    for dataset in [d for d in board.datasets if d not in board.missing]:
        cells = [c for c in board.cells if c.dataset == dataset]
        for cell, images in zip(cells, _dataset_counts(cells, protocol, truth), strict=True):
            if isinstance(images, str) or not images:
                continue
            primary, secondary = image_values(protocol, list(images.values()))
            second = [None] * len(primary) if secondary is None else secondary.tolist()
            values[(cell.label, dataset)] = dict(zip(images, zip(primary.tolist(), second, strict=True), strict=True))
    return values
