"""Results by kind: per detector, the mean F1 of the tampered images in each stratum, pooled over the datasets.

Strata: the manipulation type (recorded per image in a prepared copy's ``kinds.csv``, e.g. from NIST16's reference
CSV; else the catalog's ``kinds``: by file-name prefix, or one kind for a whole dataset; "undeclared" otherwise), the
forged-area fraction, the image size and the file format. Area and size come from the stored records (forged
pixels = TP + FN at the ground truth's size), so no file is read. Each stratum shows its image count; strata with
fewer than :data:`FEW` images are marked, never hidden.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType

import pandas as pd

from forgebench.analysis.leaderboard import Leaderboard
from forgebench.data.catalog import Catalog
from forgebench.evaluation.store import Record

FEW = 30
"""A stratum with fewer tampered images than this is marked: its mean moves a lot with a few images."""
AREA_BINS = (0.0, 0.01, 0.05, 0.15, 0.30, 1.0)
"""Forged-area fraction bins: [0, 1 %), [1 %, 5 %), [5 %, 15 %), [15 %, 30 %), [30 %, 100 %]."""
SIZE_BINS = (0.0, 0.5, 1.0, 2.0, 4.0, float("inf"))
"""Image size bins in megapixels."""
STRATA = ("kind", "area", "size", "format")
NONE: Mapping[str, str] = MappingProxyType({})


def stratum(by: str, record: Record, dataset: str, catalog: Catalog, recorded: Mapping[str, str] = NONE) -> str:
    """The stratum of one scored tampered image; ``recorded``: image id → kind from the prepared copies."""
    if by == "kind":
        if record.image_id in recorded:
            return recorded[record.image_id]
        name = PurePosixPath(record.image_id).name
        kinds = catalog.datasets[dataset].kinds if dataset in catalog.datasets else ()
        return next((kind for prefix, kind in kinds if name.startswith(prefix)), "undeclared")
    if by == "format":
        return PurePosixPath(record.image_id).suffix.lower().lstrip(".") or "none"
    if by == "area":
        counts = record.scored.counts
        return _bin((counts.tp + counts.fn) / (record.height * record.width), AREA_BINS, "{:.0%}")
    if by == "size":
        return _bin(record.height * record.width / 1e6, SIZE_BINS, "{:g} MP")
    raise ValueError(f"unknown stratum {by!r}; strata: {', '.join(STRATA)}")


def strata_table(
    board: Leaderboard, by: str, catalog: Catalog, recorded: Mapping[str, str] = NONE
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows = detectors, columns = strata (mean F1 of their tampered images); and the image count of each stratum
    (the largest over detectors, as the leaderboard's weights)."""
    values: dict[tuple[str, str], list[float]] = {}
    for cell in board.cells:
        for record in cell.tampered():
            name = stratum(by, record, cell.dataset, catalog, recorded)
            values.setdefault((cell.label, name), []).append(record.scored.f1)
    order = sorted({s for _, s in values}, key=lambda s: _sort_key(by, s))
    counts = {s: max(len(v) for (_, name), v in values.items() if name == s) for s in order}
    rows = [{"Detector": label, **{s: _mean(values.get((label, s))) for s in order}} for label in board.labels()]
    return pd.DataFrame(rows, columns=["Detector", *order]), counts


def _bin(value: float, edges: tuple[float, ...], text: str) -> str:
    for low, high in itertools.pairwise(edges):
        if value < high or high == edges[-1]:
            return f"{text.format(low)}–{text.format(high)}" if high != float("inf") else f"≥ {text.format(low)}"
    return f"≥ {text.format(edges[-2])}"


def _sort_key(by: str, name: str) -> tuple[float, str]:
    """Bins in numeric order (their lower edge), other strata by name."""
    if by in ("area", "size"):
        head = name.lstrip("≥ ").split("–")[0].rstrip("% MP")
        return float(head) / (100 if by == "area" else 1), name
    return 0.0, name


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None
