"""``forgebench leaderboard --task detection`` and ``--by kind|area|size|format``: the detection table and the
tables by stratum on screen (their files are written by :mod:`forgebench.render.views`)."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from forgebench.analysis.detection_board import HEADERS, METRICS, DetectionBoard
from forgebench.analysis.leaderboard import Leaderboard
from forgebench.analysis.strata import FEW, strata_table
from forgebench.cli.common import console, fail
from forgebench.cli.fit import print_fitted
from forgebench.data.catalog import Catalog
from forgebench.data.kinds import KindsError, read_kinds
from forgebench.render.markdown import fmt, interval_text
from forgebench.render.views import counted_headers, detection_notes, strata_note, write_view


def show_detection(board: DetectionBoard, out_dir: Path) -> None:
    """Print one cell per dataset (AUC / bal. acc. / TPR@TNR / F1) and write ``leaderboard-detection-<rule>.*``."""
    frame = board.wide()
    order = " / ".join(HEADERS[m] for m in METRICS)
    table = Table(title=f"Detection under image score '{board.rule}': {order} (TPR at TNR {board.tnr:g})")
    table.add_column("Detector", style="bold", overflow="fold")
    columns = [*board.datasets, "Weighted Avg."]
    for dataset in columns:
        table.add_column(dataset, justify="right", no_wrap=True)
    for _, row in frame.iterrows():
        cells = [" / ".join(fmt(row[f"{d} {HEADERS[m]}"]) for m in METRICS) for d in columns]
        table.add_row(escape(str(row["Detector"])), *cells)
    print_fitted(table)
    notes = detection_notes(board)
    _print_notes(notes)
    title = f"forgebench detection, image score {board.rule}"
    written = write_view(out_dir, f"leaderboard-detection-{board.rule}", title, frame, notes, interval_text(frame))
    console.print("Written: " + ", ".join(map(str, written)))


def show_strata(board: Leaderboard, by: str, catalog: Catalog, data_root: Path | None, out_dir: Path) -> None:
    """Mean F1 per stratum (image counts in the header, strata with few images marked *), and its files."""
    recorded: dict[str, str] = {}
    if by == "kind":
        for spec in (catalog.datasets[d] for d in board.datasets if d in catalog.datasets):
            try:
                recorded |= read_kinds(spec, data_root)
            except KindsError as error:
                fail(str(error))
    frame, counts = strata_table(board, by, catalog, recorded)
    table = Table(title=f"Mean F1 of the tampered images by {by}, pooled over {', '.join(board.datasets)}")
    table.add_column("Detector", style="bold", overflow="fold")
    for stratum, n in counts.items():
        table.add_column(f"{stratum}\n({n} images{', few*' if n < FEW else ''})", justify="right", no_wrap=True)
    for _, row in frame.iterrows():
        table.add_row(escape(str(row["Detector"])), *(fmt(row[s]) for s in counts))
    print_fitted(table)
    notes = [strata_note(by)]
    _print_notes(notes)
    shown = frame.rename(columns=counted_headers(counts))
    written = write_view(out_dir, f"leaderboard-by-{by}", f"Mean F1 by {by}", frame, notes, shown)
    console.print("Written: " + ", ".join(map(str, written)))


def _print_notes(notes: list[str]) -> None:
    for line in notes:
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
