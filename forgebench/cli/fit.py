"""Terminal tables that fit the terminal: too many columns are split into several tables of consecutive columns,
each repeating the row labels, so that no label is shrunk and no number is cut or dropped."""

from __future__ import annotations

import os

from rich.measure import Measurement
from rich.table import Column, Table

from forgebench.cli.common import console

UNLIMITED = 10_000
BORDER = 3
"""Characters each column adds besides its content: one space either side and one rule."""
PIPED_WIDTH = 1000
"""The width for output that goes to no terminal and names none (``COLUMNS``): a file keeps long lines."""


def print_fitted(table: Table, labels: int = 1) -> None:
    """Print ``table`` within the terminal's width, its first ``labels`` columns repeated in every part."""
    width = target_width()
    for part in fitted(table, width, labels):
        console.print(part, width=max(width, _needed(part.columns[:labels], part.columns[labels:])), crop=False)


def target_width() -> int:
    """The terminal's width, or ``COLUMNS`` where set; else :data:`PIPED_WIDTH`."""
    return console.width if console.is_terminal or "COLUMNS" in os.environ else PIPED_WIDTH


def fitted(table: Table, width: int, labels: int = 1) -> list[Table]:
    """``table`` as one or more tables at most ``width`` wide (where a single column allows), each holding the label
    columns, never wrapped, and the next columns that fit; a part's title says which part it is."""
    label_columns, data_columns = table.columns[:labels], table.columns[labels:]
    label_width = _needed(label_columns, [])
    groups: list[list[Column]] = [[]]
    used = label_width
    for column in data_columns:
        column_width = _width(column, whole=column.no_wrap) + BORDER
        if groups[-1] and used + column_width > width:
            groups.append([])
            used = label_width
        groups[-1].append(column)
        used += column_width
    return [_part(table, label_columns, group, index, len(groups)) for index, group in enumerate(groups, start=1)]


def _part(table: Table, label_columns: list[Column], group: list[Column], index: int, parts: int) -> Table:
    title = table.title if parts == 1 or not table.title else f"{table.title} (columns {index}/{parts})"
    part = Table(title=title, box=table.box, show_header=table.show_header, show_lines=table.show_lines)
    for column in label_columns:
        part.add_column(column.header, justify=column.justify, style=column.style, no_wrap=True)
    for column in group:
        part.add_column(column.header, justify=column.justify, style=column.style, no_wrap=column.no_wrap)
    cells = [list(column.cells) for column in label_columns + group]
    for row in zip(*cells, strict=True):
        part.add_row(*row)
    return part


def _needed(label_columns: list[Column], data_columns: list[Column]) -> int:
    """The narrowest width these columns take side by side: a label or a no-wrap column its widest cell, another
    column its longest word."""
    widths = [_width(column, whole=True) for column in label_columns]
    widths += [_width(column, whole=column.no_wrap) for column in data_columns]
    return 1 + sum(width + BORDER for width in widths)


def _width(column: Column, whole: bool) -> int:
    options = console.options.update_width(UNLIMITED)
    measured = [Measurement.get(console, options, cell) for cell in [column.header, *column.cells]]
    return max(m.maximum if whole else m.minimum for m in measured)
