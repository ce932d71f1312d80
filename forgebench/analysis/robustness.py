"""Robustness tables: stored results over a perturbation grid, per detector, dataset and point.

Each grid point is tabulated like the clean leaderboard (per-image F1 at the fixed threshold,
image-count-weighted average over the datasets). A point's average is given only where the detector
was scored on every dataset of the table, so that no curve mixes different sets of datasets; the
gaps are named. Two shapes come out: the summary (one row per
point, one column per detector, weighted-average F1) and CLUE's Table 2 shape (one row per
detector, each dataset's F1 under every point of a family, then the weighted average per point).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from forgebench.analysis import leaderboard
from forgebench.analysis.bootstrap import Settings
from forgebench.data.catalog import Catalog
from forgebench.evaluation.grids import Family, Grid
from forgebench.evaluation.metrics import AVERAGE, weighted_average
from forgebench.evaluation.perturb import CLEAN, stored_seed
from forgebench.evaluation.store import Store


@dataclass
class Robustness:
    """One leaderboard per point of ``grid`` (the clean point included)."""

    grid: Grid
    datasets: list[str]
    boards: dict[str, leaderboard.Leaderboard]

    def with_intervals(self, settings: Settings) -> Robustness:
        """Bootstrap intervals for every point's cells and averages (see :meth:`Leaderboard.with_intervals`)."""
        for board in self.boards.values():
            board.with_intervals(settings)
        return self

    @property
    def has_intervals(self) -> bool:
        return any(board.bootstrap for board in self.boards.values())

    def detectors(self) -> list[str]:
        return list(dict.fromkeys(label for board in self.boards.values() for label in board.labels()))

    def points(self) -> list[tuple[str, str, str]]:
        """``(family, label, spec)`` for every point, the clean point first."""
        return [("clean", CLEAN, CLEAN)] + [(f.name, p.label, p.spec) for f in self.grid.families for p in f.points]

    def f1(self, detector: str, spec: str, dataset: str | None = None) -> float | None:
        """F1 of one detector under one point: on ``dataset``, or the weighted average over all the datasets.

        None where it was not scored (on the dataset, or on any one of the datasets for the average).
        """
        if dataset is not None:
            cell = self.boards[spec].cell(detector, dataset)
            return cell.score.f1 if cell and cell.score.n_tampered else None
        scores = [self.boards[spec].cell(detector, d) for d in self.datasets]
        if not scores or not all(cell and cell.score.n_tampered for cell in scores):
            return None
        return weighted_average([c.score.f1 for c in scores], [c.score.n_tampered for c in scores])

    def interval(self, detector: str, spec: str, dataset: str | None = None) -> tuple[float, float] | None:
        """The F1 interval of :meth:`f1`'s value, where it has one and intervals were computed."""
        if self.f1(detector, spec, dataset) is None:
            return None
        bounds = self.boards[spec].intervals.get((detector, dataset or AVERAGE))
        return None if bounds is None else (float(bounds[0, 0]), float(bounds[1, 0]))

    def unscored(self, detector: str, spec: str) -> list[str]:
        """The datasets on which ``detector`` has no scored tampered image under ``spec``."""
        return [d for d in self.datasets if self.f1(detector, spec, d) is None]

    def summary(self) -> pd.DataFrame:
        """Rows = points (family, point, perturbation), columns = detectors, values = weighted-average F1."""
        rows = []
        for family, label, spec in self.points():
            row: dict[str, object] = {"family": family, "point": label, "perturbation": spec}
            for detector in self.detectors():
                row[detector] = self.f1(detector, spec)
                if self.has_intervals:
                    row[f"{detector} low"], row[f"{detector} high"] = self.interval(detector, spec) or (None, None)
            rows.append(row)
        return pd.DataFrame(rows)

    def table2(self, family: Family) -> pd.DataFrame:
        """CLUE Table 2 shape: rows = detectors; columns = (dataset, point) F1, clean first, then the averages."""
        specs = [(CLEAN, CLEAN)] + [(p.label, p.spec) for p in family.points]
        rows = []
        for detector in self.detectors():
            row: dict[tuple[str, str], object] = {("", "Detector"): detector}
            for dataset in [*self.datasets, None]:
                for label, spec in specs:
                    row[(dataset or AVERAGE, label)] = self.f1(detector, spec, dataset)
                    if self.has_intervals:
                        low, high = self.interval(detector, spec, dataset) or (None, None)
                        row[(dataset or AVERAGE, f"{label} low")], row[(dataset or AVERAGE, f"{label} high")] = (
                            low,
                            high,
                        )
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
        return frame

    def long(self) -> pd.DataFrame:
        """One row per detector × dataset × point with every aggregate and count."""
        frames = []
        for family, label, spec in self.points():
            table = self.boards[spec].long()
            if not table.empty:
                frames.append(table.assign(family=family, point=label, perturbation=spec))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def incomplete(self) -> list[str]:
        """Cells marked incomplete on their point's leaderboard, and datasets a detector was not scored on."""
        lines = []
        for spec, board in self.boards.items():
            lines += [f"{c.label} on {c.dataset} under {spec}" for c in board.short_cells()]
            for detector in self.detectors():
                missing = self.unscored(detector, spec)
                if len(missing) == len(self.datasets):
                    lines.append(f"{detector} under {spec} (not run)")
                elif missing:
                    lines.append(f"{detector} under {spec}: not scored on {', '.join(missing)}")
        return lines


def build(stores: Store | Sequence[Store], catalog: Catalog, grid: Grid, datasets: Sequence[str] | None,
          seed: int = 0) -> Robustness:  # fmt: skip
    """Collect the latest results of every detector at every point of ``grid`` from one or several stores."""
    specs = grid.specs()
    stores = leaderboard.store_list(stores)
    if datasets is None:
        seeds = {spec: stored_seed(spec, seed) for spec in specs}
        evaluations = [e for store in stores for e in store.evaluations() if seeds.get(e.perturbation) == e.seed]
        datasets = leaderboard.requested_datasets(evaluations)
    boards = {spec: leaderboard.build(stores, catalog, datasets, spec, seed) for spec in specs}
    present = [d for d in datasets if any(d not in board.missing for board in boards.values())]
    return Robustness(grid=grid, datasets=present, boards=boards)
