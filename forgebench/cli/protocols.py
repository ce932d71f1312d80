"""``forgebench leaderboard --protocol NAME`` and ``forgebench explain``: stored maps scored under the field's
protocols, side by side, without calling a detector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from forgebench.analysis import leaderboard as boards
from forgebench.analysis.protocol_board import explanation, protocol_board
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
from forgebench.render.markdown import fmt
from forgebench.render.views import protocol_notes, write_view

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
    notes = protocol_notes(scored)
    for line in notes:
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
    title = f"forgebench leaderboard, protocol {protocol.name}"
    written = write_view(out_dir, f"leaderboard-{protocol.name}", title, frame, notes)
    console.print("Written: " + ", ".join(map(str, written)))


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
