"""The static HTML report of one or several runs: leaderboard with intervals, the leaderboard re-scored under other
protocols, robustness curves, F1 against threshold and per-dataset galleries. The page and its thumbnails and
figures sit in one folder that opens from disk in a browser, with no server and no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from forgebench.analysis import leaderboard, robustness
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.protocol_board import protocol_board
from forgebench.analysis.thresholds import dataset_curves
from forgebench.data.catalog import Catalog
from forgebench.data.truth import GroundTruth, TruthUnavailableError
from forgebench.evaluation.grids import covering_grids
from forgebench.evaluation.perturb import CLEAN
from forgebench.evaluation.protocols import Protocol
from forgebench.evaluation.store import Store
from forgebench.evaluation.versions import package_versions
from forgebench.render import gallery
from forgebench.render.markdown import fmt, interval_text
from forgebench.render.plots import robustness_plot, save_png, threshold_figure
from forgebench.render.tables import protocol_lines, write_leaderboard, write_robustness
from forgebench.render.views import write_protocol_board

GALLERY_ERRORS = (OSError, ValueError, KeyError, TruthUnavailableError, cv2.error)


@dataclass(frozen=True)
class PageSettings:
    """What the page shows: which datasets and perturbation, the intervals and how many gallery rows."""

    datasets: Sequence[str] | None = None
    perturbation: str = CLEAN
    seed: int = 0
    bootstrap: Settings = field(default_factory=Settings)
    per_section: int = 4
    data_root: Path | None = None
    protocols: tuple[Protocol, ...] = ()
    """Protocols whose re-scored tables the page adds (each also written as ``leaderboard-<name>.md/.csv``)."""


def write_page(stores: Sequence[Store], catalog: Catalog, out_dir: Path, settings: PageSettings) -> Path:
    """Write ``index.html`` with its figures, thumbnails and the leaderboard files into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    board = leaderboard.build(stores, catalog, settings.datasets, settings.perturbation, settings.seed)
    board.with_intervals(settings.bootstrap)
    write_leaderboard(board, out_dir)
    truth = GroundTruth(catalog, settings.data_root)
    context = {
        "runs": [str(store.results) for store in stores],
        "perturbation": settings.perturbation,
        "leaderboard": _html(interval_text(board.wide(with_intervals=True).drop(columns="datasets"))),
        "protocol": protocol_lines(board),
        "protocols": [
            _protocol(board, protocol, truth, out_dir, settings.bootstrap) for protocol in settings.protocols
        ],
        "robustness": _robustness(stores, catalog, board, out_dir, settings),
        "thresholds": _thresholds(board, truth, out_dir),
        "galleries": [_gallery(board, dataset, truth, out_dir, settings.per_section) for dataset in board.datasets],
        "sections": gallery.SECTIONS,
        "versions": package_versions(),
    }
    environment = Environment(loader=PackageLoader("forgebench.render"), autoescape=select_autoescape())
    page = out_dir / "index.html"
    page.write_text(environment.get_template("report.html").render(**context), encoding="utf-8")
    return page


def _robustness(
    stores: Sequence[Store], catalog: Catalog, board: leaderboard.Leaderboard, out_dir: Path, settings: PageSettings
) -> list[dict[str, Any]]:
    """Per grid covered by the stored perturbations: the plot and the weighted-F1 summary, with intervals."""
    sections = []
    for grid in covering_grids(leaderboard.stored_perturbations(stores, settings.seed)):
        table = robustness.build(stores, catalog, grid, board.datasets, settings.seed).with_intervals(
            settings.bootstrap
        )
        write_robustness(table, out_dir)
        image = robustness_plot(table, out_dir / f"robustness-{grid.name}.png")
        sections.append(
            {
                "title": f"{grid.title} ({grid.name})",
                "source": grid.source,
                "image": image.name,
                "table": _html(interval_text(table.summary()).drop(columns="perturbation")),
                "incomplete": table.incomplete(),
            }
        )
    return sections


def _protocol(
    board: leaderboard.Leaderboard, protocol: Protocol, truth: GroundTruth, out_dir: Path, bootstrap: Settings
) -> dict[str, Any]:
    frame, notes, written = write_protocol_board(protocol_board(board, protocol, truth, bootstrap), out_dir)
    table = _html(interval_text(frame))
    return {"protocol": protocol, "table": table, "notes": notes, "files": [path.name for path in written]}


def _thresholds(board: leaderboard.Leaderboard, truth: GroundTruth, out_dir: Path) -> dict[str, Any]:
    curves, notes, rows = {}, [], []
    for dataset in board.datasets:
        cells, unreadable = _readable(board, dataset, truth)
        notes += unreadable
        found = dataset_curves(cells, truth)
        if found:
            curves[dataset] = found
        for curve in found:
            rows.append(
                {
                    "Detector": curve.label,
                    "dataset": curve.dataset,
                    "images": curve.images,
                    "F1 at 0.5": curve.fixed_f1,
                    "best threshold (optimistic)": curve.best_threshold,
                    "F1 at best threshold (optimistic)": curve.best_f1,
                    "per-image best F1 (optimistic, 8-bit maps)": curve.per_image_best,
                }
            )
            if curve.skipped:
                notes.append(f"{curve.label} on {dataset}: {curve.skipped} images without a readable cached map")
    image = save_png(threshold_figure(curves), out_dir / "thresholds.png").name if curves else None
    return {"image": image, "table": _html(pd.DataFrame(rows)) if rows else None, "notes": notes}


def _gallery(board: leaderboard.Leaderboard, dataset: str, truth: GroundTruth, out_dir: Path, per_section: int) -> dict:
    cells, notes = _readable(board, dataset, truth)
    found: dict[str, Any] = {"dataset": dataset, "detectors": [c.label for c in cells], "sections": {}, "notes": notes}
    if cells:
        for section, rows in gallery.select(cells, per_section).items():
            found["sections"][section] = [_rendered(row, cells, truth, out_dir / "thumbs") for row in rows]
    if not any(found["sections"].values()):
        found["notes"].append("no tampered image of this dataset was scored by every detector shown")
    return found


def _readable(
    board: leaderboard.Leaderboard, dataset: str, truth: GroundTruth
) -> tuple[list[leaderboard.Cell], list[str]]:
    """The dataset's cells (in leaderboard order) whose scored files are on disk, and why the others are not shown."""
    cells, notes = [], []
    for label in _ranked(board):
        cell = board.cell(label, dataset)
        if cell is None or not cell.score.n_tampered:
            continue
        try:
            truth.manifest(dataset, cell.manifest_digest)
            cells.append(cell)
        except TruthUnavailableError as error:
            notes.append(f"{label}: {error}")
    return cells, notes


def _rendered(row: gallery.Row, cells: list[leaderboard.Cell], truth: GroundTruth, thumbs: Path) -> dict[str, Any]:
    try:
        return {"row": row, "tiles": gallery.render_row(row, cells, truth, thumbs), "error": None}
    except GALLERY_ERRORS as error:  # one unreadable file costs its row, not the page
        return {"row": row, "tiles": [], "error": f"{type(error).__name__}: {error}"}


def _ranked(board: leaderboard.Leaderboard) -> list[str]:
    return list(board.wide()["Detector"])


def _html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, na_rep="—", float_format=fmt, classes="table", escape=True)
