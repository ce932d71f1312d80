"""Tables on screen: the leaderboard (F1 / IoU, authentic images, protocol lines) and the robustness tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.markup import escape
from rich.table import Table

from forgebench.analysis import leaderboard, robustness
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.reference import Reference
from forgebench.analysis.robustness import Robustness
from forgebench.cli.common import console
from forgebench.cli.fit import print_fitted
from forgebench.data.catalog import Catalog
from forgebench.evaluation.grids import Grid, adhoc_grid
from forgebench.evaluation.metrics import AVERAGE, PROTOCOL
from forgebench.evaluation.perturb import CLEAN
from forgebench.evaluation.store import Store
from forgebench.render.markdown import fmt, interval_text
from forgebench.render.plots import robustness_plot
from forgebench.render.tables import protocol_lines, write_leaderboard, write_robustness


def show_leaderboard(board: leaderboard.Leaderboard, out_dir: Path, reference: Reference | None = None) -> None:
    """Print the leaderboard tables and the protocol lines, and write the Markdown and CSV files."""
    print_leaderboard(board)
    if reference is not None:
        print_reference(board, reference)
    written = write_leaderboard(board, out_dir, reference)
    console.print("Written: " + ", ".join(str(p) for p in written))


def print_reference(board: leaderboard.Leaderboard, reference: Reference) -> None:
    """The reported weighted averages, one line each, and each matching detector's measured − reported F1 (the
    per-dataset reported rows are in the Markdown and CSV files)."""
    console.print(f"[bold]Reported in {escape(reference.source)}[/] (not measured here):", highlight=False)
    for row in reference.rows:
        if row.average:
            shown = f"{AVERAGE} F1 {fmt(row.average[0])} / IoU {fmt(row.average[1])}"
        else:
            shown = "F1 " + ", ".join(f"{dataset} {fmt(value)}" for dataset, value in row.f1.items())
        console.print(f"  {escape(row.method)} (reported): {shown}", highlight=False)
    gaps = reference.gaps(board)
    if gaps.empty:
        console.print("  No detector the reference reports on was measured on one of its datasets.", highlight=False)
    for gap in gaps.to_dict("records"):
        shown = ", ".join(f"{column[:-4]} {gap[column]:+.3f}" for column in gaps.columns[2:] if pd.notna(gap[column]))
        console.print(f"  {escape(gap['Detector'])} − {escape(gap['reported as'])}, F1: {shown}", highlight=False)


def print_leaderboard(board: leaderboard.Leaderboard) -> None:
    """The leaderboard tables on screen, then the protocol lines."""
    tables = [_rich_table(board)]
    if any(cell.score.n_authentic for cell in board.cells):
        tables.append(_authentic_table(board))
    for table in tables:
        print_fitted(table)
    for variable, frame in board.by_variant():
        print_fitted(_table2(frame, f"F1 by {variable} (CLUE Table 2 shape)"))
    for line in protocol_lines(board):
        console.print(f"[dim]{escape(line)}[/]", highlight=False)


def _rich_table(board: leaderboard.Leaderboard) -> Table:
    """The paper-shaped table with each dataset's F1 and IoU in one column, so it stays readable in a terminal."""
    table = _detector_table(
        f"Leaderboard: pixel F1 / IoU at threshold {PROTOCOL['threshold']}, per tampered image",
        [f"{dataset}\nF1 / IoU" for dataset in board.datasets] + [f"{AVERAGE}\nF1 / IoU"],
    )
    short = {(c.label, c.dataset) for c in board.short_cells()}
    for _, row in board.wide().iterrows():
        label = row["Detector"]
        cells = [
            f"{fmt(row[f'{d} F1'])} / {fmt(row[f'{d} IoU'])}"
            + ("*" if (label, d) in short else "")
            + _interval_line(board, label, d)
            for d in board.datasets
        ]
        average = f"{fmt(row[f'{AVERAGE} F1'])} / {fmt(row[f'{AVERAGE} IoU'])}"
        table.add_row(escape(label), *cells, average + _interval_line(board, label, AVERAGE))
    return table


def _interval_line(board: leaderboard.Leaderboard, label: str, dataset: str) -> str:
    """A second line with the F1 interval, where the board has intervals."""
    bounds = board.intervals.get((label, dataset))
    return "" if bounds is None else f"\n[dim][{bounds[0, 0]:.3f}, {bounds[1, 0]:.3f}][/]"


def _authentic_table(board: leaderboard.Leaderboard) -> Table:
    """Authentic images, which F1/IoU leave out: mean pixel false-positive rate and image-level specificity."""
    table = _detector_table(
        "Authentic images: pixel false-positive rate / image-level specificity",
        [f"{dataset}\nFPR / spec." for dataset in board.datasets],
    )
    for label in board.wide()["Detector"]:
        cells = [board.cell(label, dataset) for dataset in board.datasets]
        table.add_row(
            escape(label),
            *(f"{fmt(c.score.fpr_pixel)} / {fmt(c.score.specificity)}" if c else "—" for c in cells),
        )
    return table


def _detector_table(title: str, headers: list[str]) -> Table:
    table = Table(title=title)
    table.add_column("Detector", style="bold", overflow="fold")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    return table


def show_robustness(robustness: Robustness, out_dir: Path, tables: bool = True, plot: bool = True) -> None:
    """Print the weighted-F1 summary and the Table-2-shaped tables and write them; write the plot."""
    written = []
    if tables:
        print_robustness(robustness)
        written += write_robustness(robustness, out_dir)
    if plot:
        written.append(robustness_plot(robustness, out_dir / f"robustness-{robustness.grid.name}.png"))
    console.print("Written: " + ", ".join(str(p) for p in written), highlight=False)


def print_robustness(robustness: Robustness) -> None:
    """The weighted-F1 summary and the Table-2-shaped tables, split into column groups where the terminal is narrow."""
    grid = robustness.grid
    summary = _detector_columns(
        f"Robustness ({grid.name}): weighted-average F1 at threshold {PROTOCOL['threshold']}, "
        f"over {', '.join(robustness.datasets) or 'no dataset'}",
        ["kind", "point"],
        robustness.detectors(),
    )
    for row in interval_text(robustness.summary()).itertuples(index=False):
        summary.add_row(row.family, row.point, *(fmt(v) for v in row[3:]))
    print_fitted(summary, labels=2)
    for family in grid.families:
        print_fitted(_table2(robustness.table2(family), f"{family.name}: F1 per dataset and point ({family.axis})"))
    console.print(f"[dim]{grid.source}[/]", highlight=False)
    for line in robustness.incomplete():
        console.print(f"[yellow]incomplete or not run:[/] {line}", highlight=False)


def _table2(frame, title: str) -> Table:
    """CLUE Table 2 shape; the dataset names head each group of points."""
    frame = interval_text(frame)
    groups = list(frame.columns[1:])
    table = Table(title=title)
    table.add_column("Detector", style="bold", overflow="fold")
    for index, (group, label) in enumerate(groups):
        first = index == 0 or groups[index - 1][0] != group
        table.add_column(f"{group if first else ''}\n{label}", justify="right", no_wrap=True,
                         style="bold" if group == AVERAGE else None)  # fmt: skip
    for row in frame.itertuples(index=False):
        table.add_row(escape(row[0]), *(fmt(v) for v in row[1:]))
    return table


def _detector_columns(title: str, keys: list[str], detectors: list[str]) -> Table:
    table = Table(title=title)
    for key in keys:
        table.add_column(key, no_wrap=True, style="dim" if key == "kind" else None)
    for detector in detectors:
        table.add_column(escape(detector), justify="right", no_wrap=True)
    return table


def show_grids(
    grids: list[Grid],
    datasets: list[str] | None,
    seed: int,
    results: Path,
    out: Path,
    catalog: Catalog,
    tables: bool = True,
    plot: bool = True,
    bootstrap: Settings | None = None,
) -> None:
    """Robustness tables and plots for ``grids`` from the store; without grids, every stored perturbation.

    With ``bootstrap``, every value carries its interval and the plot draws them as bands.
    """
    with Store(results) as store:
        if not grids:
            grids = [adhoc_grid([spec for spec in leaderboard.stored_perturbations(store, seed) if spec != CLEAN])]
        for grid in grids:
            table = robustness.build(store, catalog, grid, datasets, seed)
            if bootstrap:
                table.with_intervals(bootstrap)
            show_robustness(table, out, tables=tables, plot=plot)
