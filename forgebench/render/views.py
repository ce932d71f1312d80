"""Files and notes of the re-scored views: a protocol's leaderboard, the detection table and the tables by stratum."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forgebench.analysis.detection_board import DetectionBoard
from forgebench.analysis.protocol_board import ProtocolBoard
from forgebench.analysis.strata import FEW
from forgebench.evaluation.detection import RULES
from forgebench.render.markdown import interval_text, markdown_table


def write_view(out_dir: Path, name: str, title: str, frame: pd.DataFrame, notes: list[str],
               shown: pd.DataFrame | None = None) -> list[Path]:  # fmt: skip
    """``<name>.csv`` (``frame``) and ``<name>.md`` (``shown``, else ``frame``, then the notes) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, markdown = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    frame.to_csv(csv, index=False)
    text = [f"# {title}", "", markdown_table(frame if shown is None else shown), "", *notes]
    markdown.write_text("\n".join(text) + "\n", encoding="utf-8")
    return [markdown, csv]


def write_protocol_board(scored: ProtocolBoard, out_dir: Path) -> tuple[pd.DataFrame, list[str], list[Path]]:
    """``leaderboard-<protocol>.md/.csv``: the board's table and notes, returned with the files written."""
    frame, notes = scored.wide(), protocol_notes(scored)
    name = scored.protocol.name
    title = f"forgebench leaderboard, protocol {name}"
    return frame, notes, write_view(out_dir, f"leaderboard-{name}", title, frame, notes, interval_text(frame))


def protocol_notes(scored: ProtocolBoard) -> list[str]:
    """What the protocol chose, where it is defined, the thresholds an oracle protocol picked, what was not scored."""
    protocol = scored.protocol
    lines = [
        f"Protocol {protocol.name} ({protocol.title}): " + "; ".join(protocol.lines()) + ".",
        f"Defined in: {protocol.defined_in}",
        "Re-scored from the stored maps; no detector was called.",
    ]
    if scored.bootstrap is not None:
        lines.append(
            f"Intervals: {scored.bootstrap.describe()}; tampered and authentic images drawn separately, and a "
            "threshold the protocol chooses chosen again on each resample."
        )
    if protocol.threshold == "best-per-dataset":
        chosen = [f"{label} on {dataset} p > {r.threshold:.3f}" for (label, dataset), r in scored.results.items()]
        lines.append("Thresholds chosen on the test images themselves: " + "; ".join(chosen) + ".")
    if scored.missing:
        missing = [f"{label} on {dataset}: {why}" for (label, dataset), why in scored.missing.items()]
        lines.append("Not scored: " + "; ".join(missing))
    return lines


def detection_notes(board: DetectionBoard) -> list[str]:
    lines = [
        f"Image score '{board.rule}': {RULES[board.rule]}. Tampered images are the positives; AUC, balanced accuracy "
        f"and TPR (at TNR {board.tnr:g}) need authentic images (— without them).",
        "Weighted Avg. = mean over the datasets with a value, each weighted by its scored images.",
    ]
    if board.intervals:
        lines.append("Intervals: percentile bootstrap, tampered and authentic images resampled separately.")
    if board.missing:
        lines.append("Not scored: " + "; ".join(f"{label} on {d}: {why}" for (label, d), why in board.missing.items()))
    return lines


def strata_note(by: str) -> str:
    note = f"* fewer than {FEW} tampered images: shown, but its mean moves a lot with a few images."
    if by == "kind":
        note += (
            " Kinds come from a prepared copy's kinds.csv (NIST16: its reference CSV), else the catalog's `kinds`"
            " (file-name prefixes); 'undeclared' where neither names one."
        )
    return note


def counted_headers(counts: dict[str, int]) -> dict[str, str]:
    """Stratum → its column header with the image count, marked ``*`` when few."""
    return {s: f"{s} ({n}{'*' if n < FEW else ''})" for s, n in counts.items()}
