"""``forgebench leaderboard --task detection`` and ``--by kind|area|size|format``: the detection table and the
tables by stratum, on screen and in files."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from forgebench.analysis.detection_board import HEADERS, METRICS, DetectionBoard
from forgebench.analysis.leaderboard import Leaderboard
from forgebench.analysis.strata import FEW, strata_table
from forgebench.cli.common import console
from forgebench.cli.fit import print_fitted
from forgebench.data.catalog import Catalog
from forgebench.evaluation.detection import RULES
from forgebench.render.markdown import fmt, interval_text, markdown_table


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
    notes = [
        f"Image score '{board.rule}': {RULES[board.rule]}. Tampered images are the positives; AUC, balanced accuracy "
        "and TPR need authentic images (— without them).",
        "Weighted Avg. = mean over the datasets with a value, each weighted by its scored images.",
    ]
    if board.intervals:
        notes.append("Intervals (files): percentile bootstrap, tampered and authentic images resampled separately.")
    for line in notes:
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"leaderboard-detection-{board.rule}"
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    text = [f"# forgebench detection, image score {board.rule}", "", markdown_table(interval_text(frame)), "", *notes]
    stem.with_suffix(".md").write_text("\n".join(text) + "\n", encoding="utf-8")
    console.print(f"Written: {stem.with_suffix('.md')}, {stem.with_suffix('.csv')}")


def show_strata(board: Leaderboard, by: str, catalog: Catalog, out_dir: Path) -> None:
    """Mean F1 per stratum (image counts in the header, strata with few images marked *), and its files."""
    frame, counts = strata_table(board, by, catalog)
    table = Table(title=f"Mean F1 of the tampered images by {by}, pooled over {', '.join(board.datasets)}")
    table.add_column("Detector", style="bold", overflow="fold")
    headers = {s: f"{s}\n({n} images{', few*' if n < FEW else ''})" for s, n in counts.items()}
    for header in headers.values():
        table.add_column(header, justify="right", no_wrap=True)
    for _, row in frame.iterrows():
        table.add_row(escape(str(row["Detector"])), *(fmt(row[s]) for s in counts))
    print_fitted(table)
    note = f"* fewer than {FEW} tampered images: shown, but its mean moves a lot with a few images."
    if by == "kind":
        note += " Kinds come from the catalog's `kinds` (file-name prefixes); 'undeclared' where it names none."
    console.print(f"[dim]{escape(note)}[/]", highlight=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"leaderboard-by-{by}"
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    counted = frame.rename(columns={s: f"{s} ({n}{'*' if n < FEW else ''})" for s, n in counts.items()})
    stem.with_suffix(".md").write_text(f"# Mean F1 by {by}\n\n{markdown_table(counted)}\n\n{note}\n", encoding="utf-8")
    console.print(f"Written: {stem.with_suffix('.md')}, {stem.with_suffix('.csv')}")
