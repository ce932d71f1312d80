"""``forgebench leaderboard --protocol NAME`` and ``forgebench explain``: stored maps scored under the field's
protocols, side by side, without calling a detector."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from forgebench.analysis import leaderboard as boards
from forgebench.analysis.protocol_board import ProtocolBoard, protocol_board
from forgebench.cli.common import (
    CatalogOption,
    DataRootOption,
    DatasetOption,
    ResultsOption,
    SuiteOption,
    catalog_from,
    console,
    fail,
)
from forgebench.cli.fit import print_fitted
from forgebench.cli.jobs import dataset_names, stored_results
from forgebench.data.catalog import Catalog
from forgebench.data.truth import GroundTruth
from forgebench.evaluation.protocols import Protocol, ProtocolError, load_protocols
from forgebench.evaluation.store import Store
from forgebench.render.markdown import fmt, markdown_table

ProtocolsOption = Annotated[
    list[Path] | None, typer.Option("--protocols", help="A YAML file of protocols of your own; repeatable.")
]


def protocols_from(files: list[Path] | None) -> dict[str, Protocol]:
    try:
        return load_protocols(tuple(files or ()))
    except ProtocolError as error:
        fail(str(error))


def show_protocol(board: boards.Leaderboard, protocol: Protocol, catalog: Catalog, data_root: Path | None,
                  out_dir: Path) -> None:  # fmt: skip
    """Print the board re-scored under ``protocol`` and write ``leaderboard-<protocol>.md`` / ``.csv``."""
    scored = protocol_board(board, protocol, GroundTruth(catalog, data_root))
    frame = scored.wide()
    table = Table(title=f"Leaderboard under protocol {protocol.name}: {protocol.title}")
    for column in frame.columns:
        table.add_column(str(column), justify="left" if column == "Detector" else "right")
    for row in frame.itertuples(index=False):
        table.add_row(escape(str(row[0])), *(fmt(v) for v in row[1:]))
    print_fitted(table)
    notes = _notes(scored)
    for line in notes:
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"leaderboard-{protocol.name}"
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    text = [f"# forgebench leaderboard, protocol {protocol.name}", "", markdown_table(frame), "", *notes]
    stem.with_suffix(".md").write_text("\n".join(text) + "\n", encoding="utf-8")
    console.print(f"Written: {stem.with_suffix('.md')}, {stem.with_suffix('.csv')}")


def _notes(scored: ProtocolBoard) -> list[str]:
    protocol = scored.protocol
    lines = [
        f"Protocol {protocol.name} ({protocol.title}): " + "; ".join(protocol.lines()) + ".",
        f"Defined in: {protocol.defined_in}",
        "Re-scored from the stored maps; no detector was called.",
    ]
    if scored.missing:
        missing = [f"{label} on {dataset}: {why}" for (label, dataset), why in scored.missing.items()]
        lines.append("Not scored: " + "; ".join(missing))
    return lines


def explain(
    detector: Annotated[str, typer.Argument(help="A detector name or a configuration's label.")],
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    reported: Annotated[
        float | None, typer.Option(help="A published average to explain: which protocols come within --tolerance.")
    ] = None,
    tolerance: Annotated[float, typer.Option(help="How close a protocol must come to --reported.")] = 0.01,
    protocols: ProtocolsOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """One detector's stored maps scored under every protocol, side by side (no detector is called)."""
    loaded = catalog_from(catalog)
    known = protocols_from(protocols)
    with Store(stored_results(results)) as store:
        board = boards.build(store, loaded, dataset_names(loaded, suite, dataset))
    labels = [c.label for c in board.cells if detector in (c.label, c.detector)]
    if not labels:
        fail(f"no stored results of {detector!r} (labels: {', '.join(board.labels()) or 'none'})")
    truth = GroundTruth(loaded, data_root)
    for label in dict.fromkeys(labels):
        frame, why = explanation(board, label, known, truth)
        title = f"{label} under every protocol"
        table = Table(title=title)
        for column in frame.columns:
            table.add_column(str(column), justify="left" if column == "Protocol" else "right")
        for row in frame.itertuples(index=False):
            table.add_row(str(row[0]), *(fmt(v) for v in row[1:]))
        print_fitted(table)
        for line in why:
            console.print(f"[dim]Not scored: {escape(line)}[/]", highlight=False)
        if reported is not None:
            near = frame[(frame["Average"] - reported).abs() <= tolerance]["Protocol"].tolist()
            verdict = ", ".join(near) if near else "none"
            console.print(f"Within {tolerance:g} of the reported {reported:g}: {verdict}.", highlight=False)
    console.print("[dim]Re-scored from the stored maps; no detector was called.[/]")


def explanation(
    board: boards.Leaderboard, label: str, protocols: dict[str, Protocol], truth: GroundTruth
) -> tuple[pd.DataFrame, list[str]]:
    """Rows = protocols, columns = each dataset's primary value and the protocol's average (its own weighting); and
    why any protocol has no value."""
    own = dataclasses.replace(board, cells=[c for c in board.cells if c.label == label])
    rows, why = [], []
    for protocol in protocols.values():
        scored = protocol_board(own, protocol, truth)
        row: dict[str, object] = {"Protocol": protocol.name}
        row |= {d: (r.primary if (r := scored.results.get((label, d))) else None) for d in scored.datasets}
        row["Average"] = scored.average(label)
        row["averaged"] = scored.average_name.split()[0].lower()
        rows.append(row)
        why += [f"{protocol.name} on {dataset}: {reason}" for (_, dataset), reason in scored.missing.items()]
    return pd.DataFrame(rows), why
