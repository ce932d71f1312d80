"""``forgebench datasets check``: report what is found, paired and plausible."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from forgebench.cli.common import (
    CatalogOption,
    DataRootOption,
    SuiteOption,
    catalog_from,
    console,
    expected_counts,
    fail,
)
from forgebench.cli.fit import print_fitted
from forgebench.data import paths
from forgebench.data.catalog import CatalogError
from forgebench.data.check import DatasetCheck, check_dataset

app = typer.Typer(help="Inspect benchmark datasets.", no_args_is_help=True)


@app.command()
def check(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets to check (default: the suite).")] = None,
    suite: SuiteOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
    examples: Annotated[int, typer.Option(help="Files listed per problem.")] = 3,
    decode: Annotated[bool, typer.Option(help="Decode every image in full (finds truncated files; slower).")] = False,
) -> None:
    """Check datasets: found/missing, pairs, unpaired files, size mismatches, bad masks, counts.

    Exits with code 1 when any problem is found.
    """
    loaded = catalog_from(catalog)
    try:
        specs = loaded.resolve(suite if suite or names else "all", tuple(names or ()))
    except CatalogError as error:
        fail(str(error))
    console.print(f"Data root: {paths.data_root(data_root)}")
    results = []
    with console.status("checking…") as status:
        for spec in specs:
            status.update(f"checking {spec.name}…")
            results.append(check_dataset(spec, data_root, decode=decode))
    print_fitted(_table(results))
    for result in results:
        for problem, items in result.problems.items():
            shown = "; ".join(items[:examples]) + (f"; … ({len(items)} in all)" if len(items) > examples else "")
            console.print(f"[red]{result.name}[/]: {problem}: {shown}", highlight=False)
    if any(not r.found for r in results):
        console.print(
            "Missing datasets: put each in the folder named by its catalog 'root' under the data root "
            "(--data-root DIR or FORGEBENCH_DATA=DIR), or describe your own layout with --catalog FILE."
        )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _table(results: list[DatasetCheck]) -> Table:
    table = Table("dataset", "status", "tampered pairs", "authentic", "expected", "problems", title="Dataset check")
    for r in results:
        status = "[green]ok[/]" if r.ok else ("[yellow]problems[/]" if r.found else "[red]missing[/]")
        expected = expected_counts(r.expected_tampered, r.expected_authentic)
        problems = ", ".join(f"{k} ({len(v)})" for k, v in r.problems.items()) or "—"
        table.add_row(r.name, status, str(r.tampered), str(r.authentic), expected, problems)
    return table
