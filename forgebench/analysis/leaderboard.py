"""Leaderboards: stored records → the paper's table shape (per-dataset F1/IoU and weighted average), with what a
reader needs to interpret it (counts used as weights, missing datasets, expected counts) and bootstrap intervals.

Intervals: a cell's F1 and IoU share one set of image resamples; the weighted average combines the datasets'
resampled means with their image counts as weights (a stratified bootstrap, see :mod:`forgebench.analysis.bootstrap`).
Draws are keyed by dataset and detector fingerprint, so adding a detector or a dataset changes no other interval.
The Markdown and CSV files are written by :mod:`forgebench.render.tables`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from forgebench.analysis.bootstrap import Settings, percentile_interval, pooled_means, resample_means, rng
from forgebench.data.catalog import Catalog
from forgebench.evaluation.labels import configuration_labels
from forgebench.evaluation.metrics import AVERAGE, EXTRA_FIELDS, DatasetScore, aggregate, weighted_average
from forgebench.evaluation.perturb import stored_seed
from forgebench.evaluation.store import Evaluation, Record, Store

EXTRA_MEANS = tuple(column for columns in EXTRA_FIELDS.values() for column in columns)


@dataclass(frozen=True)
class Cell:
    """One detector on one dataset."""

    detector: str
    label: str
    fingerprint: str
    dataset: str
    score: DatasetScore
    n_invalid: int
    n_errors: int
    extras: dict[str, float | None]
    tampered_total: int | None = field(default=None, compare=False)
    """The dataset's tampered images as the run found them (with the ones no mask pairs with); None for results
    that did not record it."""
    manifest_digest: str = field(default="", compare=False)
    options: dict[str, object] = field(default_factory=dict, compare=False)
    """The options that differ from the detector's defaults, in full (the label may shorten them)."""
    weights_digest: str | None = field(default=None, compare=False)
    results: Path = field(default=Path(), compare=False)
    """The results folder of the store the cell came from (its records' ``map_file`` are relative to it)."""
    records: tuple[Record, ...] = field(default=(), compare=False, repr=False)

    def configuration(self) -> str:
        """The full configuration: detector, every non-default option as given, weights digest, fingerprint."""
        options = json.dumps(self.options, sort_keys=True) if self.options else "defaults"
        return (
            f"{self.detector}, options {options}, weights {self.weights_digest or 'none'}, "
            f"fingerprint {self.fingerprint}"
        )

    def tampered(self) -> list[Record]:
        """The scored tampered images, whose mean F1 and IoU the cell shows."""
        return [r for r in self.records if r.status == "ok" and r.label == "tampered"]


@dataclass
class Leaderboard:
    """Cells plus what a reader needs to interpret them."""

    datasets: list[str]
    perturbation: str
    cells: list[Cell] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    expected: dict[str, int | None] = field(default_factory=dict)
    variants: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Datasets expanded from a one-variable catalog matrix → (base, variable, value), see ``DatasetSpec.matrix_of``."""
    bootstrap: Settings | None = None
    intervals: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    """(label, dataset or "Weighted Avg.") → [[F1 low, IoU low], [F1 high, IoU high]] when ``bootstrap`` is set."""
    older: dict[str, list[str]] = field(default_factory=dict)
    """Dataset → the configurations scored only on an older copy of it (other files), left out of the table."""
    locks: dict[str, str] = field(default_factory=dict)
    """Dataset → the digest of the lock (``datasets prepare``) its cells were scored on, for prepared datasets. The lock
    is part of the dataset copy's identity, so the cells of one dataset never mix locks: results on another lock are
    left out and named in ``older``."""

    def with_intervals(self, settings: Settings) -> Leaderboard:
        """Add bootstrap intervals to every cell and to each detector's weighted average."""
        self.bootstrap = settings
        self.intervals = leaderboard_intervals(self, settings)
        return self

    def labels(self) -> list[str]:
        return list(dict.fromkeys(c.label for c in self.cells))

    def cell(self, label: str, dataset: str) -> Cell | None:
        return next((c for c in self.cells if c.label == label and c.dataset == dataset), None)

    def configurations(self) -> dict[str, str]:
        """Label → the full configuration it names."""
        return {c.label: c.configuration() for c in self.cells}

    def weights(self) -> dict[str, int]:
        """Tampered images scored per present dataset (the largest over detectors)."""
        counts: dict[str, int] = {}
        for c in self.cells:
            counts[c.dataset] = max(counts.get(c.dataset, 0), c.score.n_tampered)
        return {d: counts[d] for d in self.datasets if d in counts}

    def tampered_total(self, cell: Cell) -> int:
        """The tampered images of the cell's dataset: as the run found them, else the most any detector scored."""
        return cell.tampered_total if cell.tampered_total is not None else self.weights().get(cell.dataset, 0)

    def short_cells(self) -> list[Cell]:
        """Cells that scored fewer tampered images than their dataset holds, or recorded errors or invalid ones."""
        return [c for c in self.cells if c.score.n_tampered < self.tampered_total(c) or c.n_errors or c.n_invalid]

    def wide(self, with_intervals: bool = False) -> pd.DataFrame:
        """Rows = detectors, columns = ``<dataset> F1``, ``<dataset> IoU`` …, ``Weighted Avg. F1``, ``… IoU``.

        ``with_intervals`` (once :meth:`with_intervals` ran) puts ``<column> low`` and ``<column> high`` after
        each of those columns, so the point columns keep their names and order.
        """
        rows = []
        for label in self.labels():
            row: dict[str, object] = {"Detector": label}
            present = []
            for dataset in self.datasets:
                cell = self.cell(label, dataset)
                row[f"{dataset} F1"] = cell.score.f1 if cell else None
                row[f"{dataset} IoU"] = cell.score.iou if cell else None
                if cell and cell.score.n_tampered:
                    present.append(cell)
            counts = [c.score.n_tampered for c in present]
            row[f"{AVERAGE} F1"] = weighted_average([c.score.f1 for c in present], counts) if present else None
            row[f"{AVERAGE} IoU"] = weighted_average([c.score.iou for c in present], counts) if present else None
            row["datasets"] = len(present)
            rows.append(row)
        columns = [f"{d} {m}" for d in [*self.datasets, AVERAGE] for m in ("F1", "IoU")]
        if with_intervals and self.bootstrap:
            for row in rows:
                row |= self._interval_columns(row["Detector"])
            columns = [c for column in columns for c in (column, f"{column} low", f"{column} high")]
        table = pd.DataFrame(rows, columns=["Detector", *columns, "datasets"])
        return table.sort_values(f"{AVERAGE} F1", ascending=False, na_position="last", kind="stable")

    def _interval_columns(self, label: str) -> dict[str, float]:
        values = {}
        for dataset in [*self.datasets, AVERAGE]:
            if (bounds := self.intervals.get((label, dataset))) is not None:
                for index, metric in enumerate(("F1", "IoU")):
                    values[f"{dataset} {metric} low"] = float(bounds[0, index])
                    values[f"{dataset} {metric} high"] = float(bounds[1, index])
        return values

    def long(self) -> pd.DataFrame:
        """One row per detector × dataset with every aggregate, counts and the expected count."""
        rows = []
        for c in self.cells:
            row = {"detector": c.label, "name": c.detector, "options": json.dumps(c.options, sort_keys=True)}
            row |= {"weights_digest": c.weights_digest, "fingerprint": c.fingerprint, "dataset": c.dataset}
            row |= {f.name: getattr(c.score, f.name) for f in fields(DatasetScore)}
            row |= {"n_invalid": c.n_invalid, "n_errors": c.n_errors, "expected_tampered": self.expected.get(c.dataset)}
            row |= c.extras
            if (bounds := self.intervals.get((c.label, c.dataset))) is not None:
                row |= {
                    "f1_low": bounds[0, 0],
                    "f1_high": bounds[1, 0],
                    "iou_low": bounds[0, 1],
                    "iou_high": bounds[1, 1],
                }
            rows.append(row)
        return pd.DataFrame(rows)

    def by_variant(self) -> list[tuple[str, pd.DataFrame]]:
        """CLUE Table 2 shape for datasets that are variants of several bases (e.g. the IF-OSN sets).

        For each catalog matrix variable with at least two bases and two values among the datasets with results: rows =
        detectors, columns = (base, value) F1, then (Weighted Avg., value) where every base was scored.
        """
        tables = []
        for variable in dict.fromkeys(v[1] for v in self.variants.values()):
            where = {
                (base, value): d
                for d, (base, var, value) in self.variants.items()
                if var == variable and d not in self.missing
            }
            bases = list(dict.fromkeys(base for base, _ in where))
            values = list(dict.fromkeys(value for _, value in where))
            if len(bases) >= 2 and len(values) >= 2:
                tables.append((variable, self._variant_frame(where, bases, values)))
        return tables

    def _variant_frame(self, where: dict[tuple[str, str], str], bases: list[str], values: list[str]) -> pd.DataFrame:
        rows = []
        for label in self.labels():
            found = {key: c for key, d in where.items() if (c := self.cell(label, d)) and c.score.n_tampered}
            row: dict[tuple[str, str], object] = {("", "Detector"): label}
            row |= {(b, v): found[(b, v)].score.f1 if (b, v) in found else None for b in bases for v in values}
            for value in values:
                cells = [found[(base, value)] for base in bases if (base, value) in found]
                f1, counts = [c.score.f1 for c in cells], [c.score.n_tampered for c in cells]
                complete = len(cells) == len(bases)  # an average over fewer bases would not compare
                row[(AVERAGE, value)] = weighted_average(f1, counts) if complete else None
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
        return frame


def build(stores: Store | Sequence[Store], catalog: Catalog, datasets: Sequence[str] | None,
          perturbation: str = "clean", seed: int = 0) -> Leaderboard:  # fmt: skip
    """Collect the latest evaluation of every detector on ``datasets`` from one or several stores (runs).

    Without ``datasets``: every dataset the stored runs asked for, so those that were absent show as missing.
    Where several stores hold the same detector configuration on a dataset, the last store's evaluation counts.
    A dataset's results all come from one copy of its files, the one scored last (its manifest digest): results on
    an older copy are left out and named in ``older``, never ranked beside the new ones.
    """
    latest: dict[tuple[str, str], Evaluation] = {}
    source: dict[tuple[str, str], Store] = {}
    seed = stored_seed(perturbation, seed)
    stored = [(store, evaluation) for store in store_list(stores) for evaluation in store.evaluations()]
    given = {fingerprint: label for store in store_list(stores) for fingerprint, label in store.labels().items()}
    copy = {evaluation.dataset: evaluation.manifest_digest for _, evaluation in stored}  # the newest copy's digest
    every = [evaluation for _, evaluation in stored if evaluation.manifest_digest == copy[evaluation.dataset]]
    older = [evaluation for _, evaluation in stored if evaluation.manifest_digest != copy[evaluation.dataset]]
    for store, evaluation in stored:
        current = evaluation.manifest_digest == copy[evaluation.dataset]
        if current and evaluation.perturbation == perturbation and evaluation.seed == seed:
            latest[(evaluation.fingerprint, evaluation.dataset)] = evaluation
            source[(evaluation.fingerprint, evaluation.dataset)] = store
    found = {dataset for _, dataset in latest}
    if datasets is None:
        datasets = requested_datasets(latest.values())
    board = Leaderboard(datasets=list(datasets), perturbation=perturbation)
    board.missing = [d for d in datasets if d not in found]
    kept = {(e.fingerprint, e.dataset) for e in latest.values()}
    for e in older:
        if e.dataset in board.datasets and (e.fingerprint, e.dataset) not in kept and e.perturbation == perturbation:
            board.older.setdefault(e.dataset, [])
            lock = e.manifest.get("dataset", {}).get("lock")
            name = f"{e.detector} ({e.fingerprint[:8]}" + (f", lock {lock[:12]})" if lock else ")")
            if name not in board.older[e.dataset]:
                board.older[e.dataset].append(name)
    board.expected = {d: catalog.datasets[d].expected_tampered if d in catalog.datasets else None for d in datasets}
    board.variants = {d: v for d in datasets if d in catalog.datasets and (v := catalog.datasets[d].matrix_of)}
    labels = configuration_labels(every, given)  # over every stored run, so a configuration keeps its label
    for key, evaluation in latest.items():
        if key[1] in board.datasets:
            store = source[key]
            board.cells.append(_cell(evaluation, labels[key[0]], store.records(evaluation), store.results))
            if lock := evaluation.manifest.get("dataset", {}).get("lock"):
                board.locks[key[1]] = lock
    return board


def store_list(stores: Store | Sequence[Store]) -> list[Store]:
    return [stores] if isinstance(stores, Store) else list(stores)


def stored_perturbations(stores: Store | Sequence[Store], seed: int) -> list[str]:
    """Every perturbation stored for ``seed`` (deterministic ones under any seed), in order of first appearance."""
    evaluations = (e for store in store_list(stores) for e in store.evaluations())
    return list(dict.fromkeys(e.perturbation for e in evaluations if e.seed == stored_seed(e.perturbation, seed)))


def requested_datasets(evaluations: Iterable[Evaluation]) -> list[str]:
    """Every dataset the runs of ``evaluations`` asked for, in order (the absent ones included)."""
    return list(dict.fromkeys(name for e in evaluations for name in e.manifest.get("requested", [e.dataset])))


def _cell(evaluation: Evaluation, label: str, records: list[Record], results: Path) -> Cell:
    """The cell of one evaluation, named ``label``."""
    ok = [r for r in records if r.status == "ok"]
    tampered = [r.scored for r in ok if r.label == "tampered"]
    authentic = [r.scored for r in ok if r.label == "authentic"]
    extras = {}
    for name in EXTRA_MEANS:
        values = [getattr(s, name) for s in tampered if getattr(s, name) is not None]
        if values:
            extras[name] = sum(values) / len(values)
    return Cell(
        detector=evaluation.detector,
        label=label,
        fingerprint=evaluation.fingerprint,
        dataset=evaluation.dataset,
        score=aggregate(tampered, authentic),
        n_invalid=sum(r.status == "invalid" for r in records),
        n_errors=sum(r.status == "error" for r in records),
        extras=extras,
        tampered_total=_tampered_total(evaluation),
        manifest_digest=evaluation.manifest_digest,
        options=evaluation.manifest.get("changed_options", {}),
        weights_digest=evaluation.manifest.get("weights_digest"),
        results=results,
        records=tuple(records),
    )


def _tampered_total(evaluation: Evaluation) -> int | None:
    facts = evaluation.manifest.get("dataset", {})
    return facts["n_tampered"] + facts.get("unpaired_images", 0) if "n_tampered" in facts else None


def tampered_values(cell: Cell) -> np.ndarray:
    """Per-image (F1, IoU) of the cell's scored tampered images, shape (n, 2)."""
    return np.array([(r.scored.f1, r.scored.iou) for r in cell.tampered()], dtype=np.float64).reshape(-1, 2)


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
