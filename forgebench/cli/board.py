"""The leaderboard on screen: the paper-shaped F1 / IoU table, the authentic-images table, the protocol lines."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from forgebench import report
from forgebench.cli.common import console
from forgebench.metrics import PROTOCOL


def show_leaderboard(board: report.Leaderboard, out_dir: Path) -> None:
    """Print the leaderboard tables and the protocol lines, and write the Markdown and CSV files."""
    tables = [_rich_table(board)]
    if any(cell.score.n_authentic for cell in board.cells):
        tables.append(_authentic_table(board))
    for table in tables:
        console.print(table, width=None if console.is_terminal else 1000, crop=False)
    for line in report.protocol_lines(board):
        console.print(f"[dim]{line}[/]", highlight=False)
    written = report.write(board, out_dir)
    console.print("Written: " + ", ".join(str(p) for p in written))


def _rich_table(board: report.Leaderboard) -> Table:
    """The paper-shaped table with each dataset's F1 and IoU in one column, so it stays readable in a terminal."""
    table = _detector_table(
        f"Leaderboard: pixel F1 / IoU at threshold {PROTOCOL['threshold']}, per tampered image",
        [f"{dataset}\nF1 / IoU" for dataset in board.datasets] + ["Weighted Avg.\nF1 / IoU"],
    )
    short = {(c.label, c.dataset) for c in board.short_cells()}
    for _, row in board.wide().iterrows():
        label = row["Detector"]
        cells = [
            f"{report.fmt(row[f'{d} F1'])} / {report.fmt(row[f'{d} IoU'])}" + ("*" if (label, d) in short else "")
            for d in board.datasets
        ]
        average = f"{report.fmt(row['Weighted Avg. F1'])} / {report.fmt(row['Weighted Avg. IoU'])}"
        table.add_row(label, *cells, average)
    return table


def _authentic_table(board: report.Leaderboard) -> Table:
    """Authentic images, which F1/IoU leave out: mean pixel false-positive rate and image-level specificity."""
    table = _detector_table(
        "Authentic images: pixel false-positive rate / image-level specificity",
        [f"{dataset}\nFPR / spec." for dataset in board.datasets],
    )
    for label in board.wide()["Detector"]:
        cells = [board.cell(label, dataset) for dataset in board.datasets]
        table.add_row(
            label,
            *(f"{report.fmt(c.score.fpr_pixel)} / {report.fmt(c.score.specificity)}" if c else "—" for c in cells),
        )
    return table


def _detector_table(title: str, headers: list[str]) -> Table:
    table = Table(title=title)
    table.add_column("Detector", no_wrap=True, style="bold")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    return table
