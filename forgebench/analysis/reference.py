"""Reported numbers beside measured ones: a paper's table as data, and the measured − reported gap per detector.

``clue-table1`` is CLUE's Table 1 (per-dataset pixel F1 and IoU at the fixed threshold 0.5 on the nine benchmarks,
and the reported image-count-weighted averages), shipped as ``clue_tables.yaml``. ``mvssnet-readme`` is the pixel F1
at 0.5 that MVSS-Net's authors publish for their CASIA v2-trained models (``mvssnet_tables.yaml``; F1 only, no
average). A reported row that names a forgebench detector is compared with that detector's measured cells.

A reviewer's own table is a YAML file in the same shape, given by its path::

    source: Their paper, Table 3
    datasets: [casia1, columbia]
    rows:
      Their method: {detector: ela, f1: [0.61, 0.72], reported: {f1: 0.65, iou: 0.55}}
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from forgebench.analysis.leaderboard import Leaderboard
from forgebench.evaluation.metrics import AVERAGE
from forgebench.plugin.suggest import unknown_name

REFERENCES = {
    "clue-table1": ("clue_tables.yaml", "table1", "CLUE Table 1 (Wang et al., arXiv 2508.07413)"),
    "mvssnet-readme": ("mvssnet_tables.yaml", "pixel_f1", "the MVSS-Net repository's mvssnetplus.md (dong03/MVSS-Net)"),
}
"""Name → (package data file, table in it, how tables cite it)."""


@dataclass(frozen=True)
class ReportedRow:
    method: str
    detector: str | None
    f1: dict[str, float | None]
    """None where the source reports no value."""
    iou: dict[str, float | None]
    """Empty where the source reports F1 only."""
    average: tuple[float, float | None] | None
    """The reported weighted-average (F1, IoU), where the source gives one."""


@dataclass(frozen=True)
class Reference:
    name: str
    source: str
    datasets: tuple[str, ...]
    rows: tuple[ReportedRow, ...]

    def frame(self) -> pd.DataFrame:
        """The reported rows in the leaderboard's wide shape (``<dataset> F1``, ``<dataset> IoU`` …)."""
        records = []
        for row in self.rows:
            record: dict[str, object] = {"Detector": f"{row.method} (reported)"}
            for dataset in self.datasets:
                record[f"{dataset} F1"] = row.f1[dataset]
                if row.iou:
                    record[f"{dataset} IoU"] = row.iou[dataset]
            if row.average:
                record |= {f"{AVERAGE} F1": row.average[0], f"{AVERAGE} IoU": row.average[1]}
            records.append(record)
        return pd.DataFrame(records)

    def gaps(self, board: Leaderboard) -> pd.DataFrame:
        """Measured − reported F1 per dataset both have, for every measured configuration of a reported detector
        that has at least one such dataset.

        The weighted average's gap is given only where the board holds every dataset of the reference, with its
        measured average over exactly those datasets.
        """
        wide = board.wide().set_index("Detector")
        same_datasets = set(board.datasets) == set(self.datasets)
        records = []
        for row in self.rows:
            for label in dict.fromkeys(c.label for c in board.cells if row.detector and c.detector == row.detector):
                record: dict[str, object] = {"Detector": label, "reported as": row.method}
                for dataset in self.datasets:
                    measured = wide.at[label, f"{dataset} F1"] if f"{dataset} F1" in wide.columns else None
                    unknown = pd.isna(measured) or row.f1[dataset] is None
                    record[f"{dataset} ΔF1"] = None if unknown else float(measured) - row.f1[dataset]
                complete = same_datasets and wide.at[label, "datasets"] == len(self.datasets)
                if row.average:
                    average = float(wide.at[label, f"{AVERAGE} F1"]) - row.average[0] if complete else None
                    record[f"{AVERAGE} ΔF1"] = average
                if any(value is not None for key, value in record.items() if key.endswith("ΔF1")):
                    records.append(record)
        return pd.DataFrame(records)


class ReferenceTableError(LookupError):
    """A reference table that cannot be read; the message names it."""


def load_reference(name: str) -> Reference:
    """A named reference table, or a YAML file of one (see the module docstring). An unknown name raises
    :class:`ReferenceTableError` with the close names; a file that does not fit says where."""
    if name in REFERENCES:
        file, table, source = REFERENCES[name]
        data = yaml.safe_load(resources.files("forgebench.analysis").joinpath(file).read_text("utf-8"))
        return _reference(name, source, data[table])
    path = Path(name).expanduser()
    if path.suffix not in (".yaml", ".yml"):
        raise ReferenceTableError(unknown_name("reference", name, REFERENCES) + " (or give a .yaml file of your own)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return _reference(path.name, str(data.get("source") or path), data)
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as error:
        why = f"no key {error}" if isinstance(error, KeyError) else str(error)
        raise ReferenceTableError(
            f"{path}: not a reference table ({why}); see `forgebench leaderboard --help`"
        ) from None


def _reference(name: str, source: str, table: dict[str, Any]) -> Reference:
    datasets = tuple(table["datasets"])
    rows = []
    for method, row in table["rows"].items():
        reported = row.get("reported") or {}
        average = None if reported.get("f1") is None else (_fraction(reported["f1"]), _fraction(reported.get("iou")))
        f1 = dict(zip(datasets, map(_fraction, row["f1"]), strict=True))
        iou = dict(zip(datasets, map(_fraction, row["iou"]), strict=True)) if "iou" in row else {}
        rows.append(ReportedRow(str(method), row.get("detector"), f1, iou, average))
    return Reference(name=name, source=source, datasets=datasets, rows=tuple(rows))


def _fraction(value: object) -> float | None:
    """A reported value as a fraction in [0, 1] (None where the source reports none)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    if not 0 <= value <= 1:
        raise ValueError(f"{value} is not a fraction in [0, 1] (give 0.563, not 56.3)")
    return float(value)
