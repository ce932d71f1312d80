"""Terminal tables split into column groups that fit the width, every label and number kept."""

from __future__ import annotations

import pytest
from rich.markup import escape
from rich.table import Table

from forgebench.cli.common import console
from forgebench.cli.fit import fitted, print_fitted

LABELS = ["clue[checkpoint=runs/a/best.safetensors]", "ela", "mvssnet[checkpoint=mvssnet_casia.pt]"]
DATASETS = ["casia1", "columbia", "nist16", "coverage", "acdsee", "cocoglide", "misd", "ipm15k", "autosplice"]


def leaderboard_table() -> tuple[Table, list[str]]:
    """A leaderboard-shaped table (nine datasets and the average) and every number in it."""
    table = Table(title="Leaderboard")
    table.add_column("Detector", overflow="fold")
    for dataset in [*DATASETS, "Weighted Avg."]:
        table.add_column(f"{dataset}\nF1 / IoU", justify="right", no_wrap=True)
    numbers = []
    for row, label in enumerate(LABELS):
        cells = [f"0.{row}{column:02d} / 0.{row + 5}{column:02d}" for column in range(len(DATASETS) + 1)]
        numbers += [number for cell in cells for number in cell.split(" / ")]
        table.add_row(escape(label), *cells)
    return table, numbers


@pytest.mark.parametrize("width", [80, 100, 200])
def test_every_label_and_number_is_shown_whole_at_any_width(width, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(width))
    table, numbers = leaderboard_table()
    with console.capture() as captured:
        print_fitted(table)
    text = captured.get()
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    assert all(any(label in line for line in lines) for label in LABELS)  # each label on one line, never folded
    assert all(number in text for number in numbers)
    assert all(f"{dataset}" in text for dataset in DATASETS)
    parts = len(fitted(table, width))
    assert text.count("Leaderboard") == parts and parts == {80: 5, 100: 4, 200: 2}[width]


def test_each_part_repeats_the_labels_and_keeps_the_column_order():
    table, _ = leaderboard_table()
    parts = fitted(table, 100)
    assert len(parts) > 1 and parts[0].title == f"Leaderboard (columns 1/{len(parts)})"
    headers = [str(column.header).split("\n")[0] for part in parts for column in part.columns[1:]]
    assert headers == [*DATASETS, "Weighted Avg."]
    for part in parts:
        assert list(part.columns[0].cells) == [escape(label) for label in LABELS] and part.columns[0].no_wrap


def test_a_table_that_fits_is_printed_as_it_is():
    table, _ = leaderboard_table()
    (whole,) = fitted(table, 1000)
    assert whole.title == "Leaderboard" and len(whole.columns) == len(table.columns)


def test_wrapping_columns_are_grouped_by_their_longest_word(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    table = Table("dataset", "problems", title="Dataset check")
    table.add_row("nist16", "mask size differs from image (3), unpaired image (2), inverted mask (1)")
    with console.capture() as captured:
        print_fitted(table)
    lines = captured.get().splitlines()
    assert len(fitted(table, 60)) == 1 and all(len(line) <= 60 for line in lines)
    assert "inverted mask" in " ".join(line.strip("│ ") for line in lines)
