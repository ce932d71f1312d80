"""``forgebench leaderboard --task detection``: the image-level detection table on screen and in files."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from forgebench.analysis.detection_board import HEADERS, METRICS, DetectionBoard
from forgebench.cli.common import console
from forgebench.cli.fit import print_fitted
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
