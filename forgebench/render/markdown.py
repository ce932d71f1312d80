"""Markdown building blocks: numbers as text, intervals folded into cells, plain and grouped tables."""

from __future__ import annotations

import pandas as pd


def fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def interval_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Fold each ``<column> low`` / ``<column> high`` pair into its column as text: ``0.733 [0.701, 0.760]``.

    Grouped columns ``(group, label)`` pair with ``(group, "<label> low")`` and ``(group, "<label> high")``.
    """
    folded = frame.copy()
    for column in [c for c in frame.columns if _bound(c, "low") in frame.columns]:
        low, high = frame[_bound(column, "low")], frame[_bound(column, "high")]
        folded[column] = [
            fmt(v) if pd.isna(lo) else f"{fmt(v)} [{fmt(lo)}, {fmt(hi)}]"
            for v, lo, hi in zip(frame[column], low, high, strict=True)
        ]
        folded = folded.drop(columns=[_bound(column, "low"), _bound(column, "high")])
    return folded


def _bound(column: str | tuple[str, str], side: str) -> str | tuple[str, str]:
    return (column[0], f"{column[1]} {side}") if isinstance(column, tuple) else f"{column} {side}"


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def grouped_markdown_table(frame: pd.DataFrame) -> str:
    """A table with (group, label) columns, flattened to ``group label`` headers (intervals folded into cells)."""
    flat = interval_text(frame)
    flat.columns = [label if not group else f"{group} {label}" for group, label in flat.columns]
    return markdown_table(flat)
