"""Leaderboards: stored records → the paper's table shape (per-dataset F1/IoU and weighted average).

Every output states the protocol, the counts used as weights, the datasets missing and any
dataset whose scored count differs from the catalog's expected count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from forgebench.catalog import Catalog
from forgebench.metrics import EXTRA_FIELDS, PROTOCOL, Confusion, DatasetScore, ImageScore, aggregate, weighted_average
from forgebench.perturb import stored_seed
from forgebench.store import Evaluation, Record, Store

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


@dataclass
class Leaderboard:
    """Cells plus what a reader needs to interpret them."""

    datasets: list[str]
    perturbation: str
    cells: list[Cell] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    expected: dict[str, int | None] = field(default_factory=dict)
    variants: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Datasets expanded from a one-variable catalog matrix → (base, variable, value), see ``DatasetSpec.variant``."""

    def labels(self) -> list[str]:
        return list(dict.fromkeys(c.label for c in self.cells))

    def cell(self, label: str, dataset: str) -> Cell | None:
        return next((c for c in self.cells if c.label == label and c.dataset == dataset), None)

    def weights(self) -> dict[str, int]:
        """Tampered images scored per present dataset (the largest over detectors)."""
        counts: dict[str, int] = {}
        for c in self.cells:
            counts[c.dataset] = max(counts.get(c.dataset, 0), c.score.n_tampered)
        return {d: counts[d] for d in self.datasets if d in counts}

    def short_cells(self) -> list[Cell]:
        """Cells that scored fewer tampered images than their dataset's weight, or recorded errors or invalid ones."""
        weights = self.weights()
        return [c for c in self.cells if c.score.n_tampered < weights.get(c.dataset, 0) or c.n_errors or c.n_invalid]

    def wide(self) -> pd.DataFrame:
        """Rows = detectors, columns = ``<dataset> F1``, ``<dataset> IoU`` …, ``Avg F1``, ``Avg IoU``."""
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
            row["Weighted Avg. F1"] = weighted_average([c.score.f1 for c in present], counts) if present else None
            row["Weighted Avg. IoU"] = weighted_average([c.score.iou for c in present], counts) if present else None
            row["datasets"] = len(present)
            rows.append(row)
        columns = ["Detector", *(f"{d} {m}" for d in self.datasets for m in ("F1", "IoU"))]
        table = pd.DataFrame(rows, columns=[*columns, "Weighted Avg. F1", "Weighted Avg. IoU", "datasets"])
        return table.sort_values("Weighted Avg. F1", ascending=False, na_position="last", kind="stable")

    def long(self) -> pd.DataFrame:
        """One row per detector × dataset with every aggregate, counts and the expected count."""
        rows = []
        for c in self.cells:
            row = {"detector": c.label, "fingerprint": c.fingerprint, "dataset": c.dataset}
            row |= {f.name: getattr(c.score, f.name) for f in fields(DatasetScore)}
            row |= {"n_invalid": c.n_invalid, "n_errors": c.n_errors, "expected_tampered": self.expected.get(c.dataset)}
            row |= c.extras
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
                row[("Weighted Avg.", value)] = weighted_average(f1, counts) if complete else None
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
        return frame


def build(store: Store, catalog: Catalog, datasets: Sequence[str] | None, perturbation: str = "clean",
          seed: int = 0) -> Leaderboard:  # fmt: skip
    """Collect the latest evaluation of every detector on ``datasets``.

    Without ``datasets``: every dataset the stored runs asked for, so those that were absent show as missing.
    """
    latest: dict[tuple[str, str], Evaluation] = {}
    seed = stored_seed(perturbation, seed)
    for evaluation in store.evaluations():
        if evaluation.perturbation == perturbation and evaluation.seed == seed:
            latest[(evaluation.fingerprint, evaluation.dataset)] = evaluation
    stored = {dataset for _, dataset in latest}
    if datasets is None:
        datasets = requested_datasets(latest.values())
    board = Leaderboard(datasets=list(datasets), perturbation=perturbation)
    board.missing = [d for d in datasets if d not in stored]
    board.expected = {d: catalog.datasets[d].expected_tampered if d in catalog.datasets else None for d in datasets}
    board.variants = {d: v for d in datasets if d in catalog.datasets and (v := catalog.datasets[d].variant)}
    labels = _labels([e for e in latest.values() if e.dataset in board.datasets])
    for (fp, dataset), evaluation in latest.items():
        if dataset in board.datasets:
            board.cells.append(_cell(evaluation, labels[fp], store.records(evaluation)))
    return board


def requested_datasets(evaluations: Iterable[Evaluation]) -> list[str]:
    """Every dataset the runs of ``evaluations`` asked for, in order (the absent ones included)."""
    return list(dict.fromkeys(name for e in evaluations for name in e.manifest.get("requested", [e.dataset])))


def _cell(evaluation: Evaluation, label: str, records: list[Record]) -> Cell:
    ok = [r for r in records if r.status == "ok"]
    scores = [
        ImageScore(label=r.label, counts=Confusion(r.tp, r.fp, r.fn, r.tn), score=r.score, f1=r.f1, iou=r.iou)
        for r in ok
    ]
    tampered = [r for r in ok if r.label == "tampered"]
    extras = {}
    for name in EXTRA_MEANS:
        values = [getattr(r, name) for r in tampered if getattr(r, name) is not None]
        if values:
            extras[name] = sum(values) / len(values)
    return Cell(
        detector=evaluation.detector,
        label=label,
        fingerprint=evaluation.fingerprint,
        dataset=evaluation.dataset,
        score=aggregate(scores),
        n_invalid=sum(r.status == "invalid" for r in records),
        n_errors=sum(r.status == "error" for r in records),
        extras=extras,
    )


def _labels(evaluations: Sequence[Evaluation]) -> dict[str, str]:
    """Detector name plus its non-default options; the fingerprint is appended where labels would collide.

    Paths are shortened to their last two parts (``run-7/best.safetensors``); the full values stay in the
    long table and the run manifest.
    """
    labels = {}
    for e in evaluations:
        changed = e.manifest.get("changed_options", {})
        shown = ",".join(f"{k}={_short(v)}" for k, v in changed.items())
        labels[e.fingerprint] = f"{e.detector}[{shown}]" if shown else e.detector
    names = list(labels.values())
    return {fp: f"{label} ({fp[:8]})" if names.count(label) > 1 else label for fp, label in labels.items()}


def _short(value: object) -> object:
    return "/".join(value.replace("\\", "/").split("/")[-2:]) if isinstance(value, str) and "/" in value else value


def protocol_lines(board: Leaderboard) -> list[str]:
    weights = board.weights()
    lines = [
        f"Protocol: pixel F1/IoU at fixed threshold ({PROTOCOL['comparator']}, threshold {PROTOCOL['threshold']}), "
        "per tampered image, map resized to the ground truth (bilinear); authentic images excluded from F1/IoU.",
        "Weighted Avg. = image-count-weighted mean over the datasets present, weights = tampered images scored: "
        + (", ".join(f"{d} {n}" for d, n in weights.items()) or "none")
        + f" (Σ {sum(weights.values())}).",
        f"Perturbation: {board.perturbation}.",
    ]
    mismatched = [
        f"{d} scored {n}, expected {board.expected[d]}"
        for d, n in weights.items()
        if board.expected.get(d) is not None and board.expected[d] != n
    ]
    if mismatched:
        lines.append("Counts differ from the catalog: " + "; ".join(mismatched) + ".")
    lines.append("Missing datasets: " + (", ".join(board.missing) if board.missing else "none") + ".")
    short = [
        f"{c.label} on {c.dataset} scored {c.score.n_tampered} of {weights[c.dataset]} tampered "
        f"({c.n_errors} errors, {c.n_invalid} invalid)"
        for c in board.short_cells()
    ]
    if short:
        lines.append("Incomplete (marked *): " + "; ".join(short) + ".")
    partial = [
        f"{label} ({row.datasets}/{len(weights)})"
        for label, row in board.wide().set_index("Detector").iterrows()
        if row.datasets < len(weights)
    ]
    if partial:
        lines.append("Averaged over fewer datasets than the others: " + ", ".join(partial) + ".")
    return lines


def markdown(board: Leaderboard) -> str:
    """The leaderboard as a Markdown document: the paper-shaped table, then the details."""
    wide = board.wide().drop(columns="datasets")
    text = ["# forgebench leaderboard", "", markdown_table(wide), ""]
    for variable, frame in board.by_variant():
        text += [f"## F1 by {variable} (CLUE Table 2 shape)", "", grouped_markdown_table(frame), ""]
    text += [f"- {line}" for line in protocol_lines(board)]
    long = board.long()
    if not long.empty:
        authentic = long[long.n_authentic > 0][["detector", "dataset", "n_authentic", "fpr_pixel", "specificity"]]
        if not authentic.empty:
            text += ["", "## Authentic images (not in F1/IoU)", "", markdown_table(authentic)]
        text += ["", "## All columns", "", markdown_table(long.drop(columns="fingerprint"))]
    return "\n".join(text) + "\n"


def write(board: Leaderboard, out_dir: Path) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` (paper shape) and ``leaderboard-long.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "leaderboard.md", out_dir / "leaderboard.csv", out_dir / "leaderboard-long.csv"]
    paths[0].write_text(markdown(board), encoding="utf-8")
    board.wide().to_csv(paths[1], index=False)
    board.long().to_csv(paths[2], index=False)
    return paths


def fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def grouped_markdown_table(frame: pd.DataFrame) -> str:
    """A table with (group, label) columns, flattened to ``group label`` headers."""
    flat = frame.copy()
    flat.columns = [label if not group else f"{group} {label}" for group, label in frame.columns]
    return markdown_table(flat)
