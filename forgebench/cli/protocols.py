"""``forgebench leaderboard --protocol NAME`` and ``forgebench explain``: stored maps scored under the field's
protocols, side by side, without calling a detector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from forgebench.analysis import leaderboard as boards
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.protocol_board import explained_datasets, explanation, protocol_board, reported_matches
from forgebench.analysis.reference import Reference, load_reference
from forgebench.cli.common import (
    CatalogOption,
    DataRootOption,
    DatasetOption,
    OutOption,
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
from forgebench.render.markdown import fmt, interval_text, markdown_table
from forgebench.render.views import write_protocol_board, write_view

ProtocolsOption = Annotated[
    list[Path] | None, typer.Option("--protocols", help="A YAML file of protocols of your own; repeatable.")
]


def protocols_from(files: list[Path] | None) -> dict[str, Protocol]:
    try:
        return load_protocols(tuple(files or ()))
    except ProtocolError as error:
        fail(str(error))


def show_protocol(board: boards.Leaderboard, protocol: Protocol, catalog: Catalog, data_root: Path | None,
                  out_dir: Path, bootstrap: Settings | None = None) -> None:  # fmt: skip
    """Print the board re-scored under ``protocol`` (with intervals, given ``bootstrap``) and write
    ``leaderboard-<protocol>.md`` / ``.csv``."""
    scored = protocol_board(board, protocol, GroundTruth(catalog, data_root), bootstrap)
    frame, notes, written = write_protocol_board(scored, out_dir)
    _print_frame(f"Leaderboard under protocol {protocol.name}: {protocol.title}", interval_text(frame))
    for line in notes:
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
    console.print("Written: " + ", ".join(map(str, written)))


def explain(
    detector: Annotated[str, typer.Argument(help="A detector name or a configuration's label.")],
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    reported: Annotated[
        float | None, typer.Option(help="A published average to explain: which protocols come within --tolerance.")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="A reference table (clue-table1, mvssnet-readme, or a YAML file of your own; see leaderboard "
            "--reference): explain each F1 it reports for this detector, dataset by dataset and the average."
        ),
    ] = None,
    tolerance: Annotated[float, typer.Option(help="How close a protocol must come to a reported value.")] = 0.01,
    protocols: ProtocolsOption = None,
    out: OutOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """One detector's stored maps scored under every protocol, side by side (no detector is called); with a reported
    number, which protocols come close to it. Writes explain-<label>.md/.csv."""
    loaded = catalog_from(catalog)
    known = protocols_from(protocols)
    try:
        table = load_reference(reference) if reference else None
    except LookupError as error:
        fail(str(error))
    results_dir = stored_results(results)
    with Store(results_dir) as store:
        board = boards.build(store, loaded, dataset_names(loaded, suite, dataset))
    cells = {c.label: c.detector for c in board.cells if detector in (c.label, c.detector)}
    if not cells:
        fail(f"no stored results of {detector!r} (labels: {', '.join(board.labels()) or 'none'})")
    if table is not None and not any(row.detector in cells.values() for row in table.rows):
        named = ", ".join(sorted({row.detector for row in table.rows if row.detector})) or "none"
        fail(f"{table.source} reports no row on {detector!r} (its rows name the detectors: {named})")
    truth = GroundTruth(loaded, data_root)
    for label, name in cells.items():
        frame, why = explanation(board, label, known, truth)
        _print_frame(f"{label} under every protocol", frame)
        notes = [f"Not scored: {line}" for line in why]
        for line in notes:
            console.print(f"[dim]{escape(line)}[/]", highlight=False)
        for title, values, metric, note in _targets(frame, reported, table, name):
            if note:
                notes.append(f"{title}: {note}")
                console.print(notes[-1], highlight=False)
            if not values:
                continue
            matches = reported_matches(frame, values, tolerance, metric)
            _print_frame(f"Which protocol gives {title}?", matches)
            notes += [f"Which protocol gives {title}?", "", markdown_table(matches), ""]
        title = f"{label} under every protocol (re-scored from the stored maps; no detector was called)"
        written = write_view(out or results_dir, f"explain-{label.replace('/', '_')}", title, frame, notes)
        console.print("Written: " + ", ".join(map(str, written)))
    console.print("[dim]Re-scored from the stored maps; no detector was called.[/]")


def _targets(
    frame: pd.DataFrame, reported: float | None, table: Reference | None, detector: str
) -> list[tuple[str, dict[str, float], str | None, str]]:
    """(title, reported values by dataset or "Average", the metric they are in, a note) for each number to explain:
    one given by hand (any metric), and each row of the reference on this detector (F1; its average only where the
    explained datasets are the reference's, as the note says otherwise)."""
    targets: list[tuple[str, dict[str, float], str | None, str]] = []
    if reported is not None:
        targets.append((f"the reported {reported:g}", {"Average": reported}, None, ""))
    datasets = explained_datasets(frame)
    for row in table.rows if table is not None else ():
        if row.detector != detector:
            continue
        values = {d: v for d in datasets if (v := row.f1.get(d)) is not None}
        notes = [] if values else ["it reports none of the explained datasets"]
        if row.average and set(datasets) == set(table.datasets):
            values["Average"] = row.average[0]
        elif row.average:
            notes.append(f"its average is not compared: the explained datasets ({', '.join(datasets)}) are not the "
                         f"table's ({', '.join(table.datasets)})")  # fmt: skip
        note = "; ".join(notes) + "." if notes else ""
        targets.append((f"{row.method}'s F1 in {table.source}", values, "F1", note))
    return targets


def _print_frame(title: str, frame: pd.DataFrame) -> None:
    """A table on screen: the row labels and text left, numbers (and intervals folded into them) right-aligned; cells
    never wrap, so a table too wide for the terminal is split into parts of whole columns."""
    table = Table(title=title)
    for index, column in enumerate(frame.columns):
        values = frame[column].dropna()
        number = pd.api.types.is_numeric_dtype(frame[column]) or values.astype(str).str.match(r"-?\d").all()
        right = index > 0 and number and len(values) > 0
        table.add_column(str(column), justify="right" if right else "left", no_wrap=True)
    for row in frame.itertuples(index=False):
        table.add_row(*(escape(fmt(v)) for v in row))
    print_fitted(table)
