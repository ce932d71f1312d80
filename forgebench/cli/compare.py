"""``forgebench compare``: is detector A really better than B? Paired differences with intervals and tests."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from forgebench.analysis import compare as comparing
from forgebench.analysis import leaderboard
from forgebench.analysis.protocol_board import protocol_image_values
from forgebench.cli.common import (
    BootstrapSeedOption,
    CatalogOption,
    DataRootOption,
    DatasetOption,
    LevelOption,
    OutOption,
    PerturbOption,
    ResamplesOption,
    ResultsOption,
    SeedOption,
    SuiteOption,
    bootstrap_settings,
    catalog_from,
    console,
    fail,
)
from forgebench.cli.fit import print_fitted
from forgebench.cli.jobs import dataset_names, one_perturbation, stored_results
from forgebench.cli.protocols import ProtocolsOption, protocols_from
from forgebench.data.truth import GroundTruth
from forgebench.evaluation.store import Store
from forgebench.plugin.suggest import unknown_name
from forgebench.render.markdown import fmt
from forgebench.render.tables import describe_comparison, p_text, write_comparison


def compare(
    first: Annotated[str, typer.Argument(metavar="A", help="Detector name or leaderboard label.")],
    second: Annotated[str, typer.Argument(metavar="B", help="Detector name or leaderboard label.")],
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    metric: Annotated[str, typer.Option(help="f1 or iou (per image, fixed threshold).")] = "f1",
    perturb: PerturbOption = None,
    seed: SeedOption = 0,
    level: LevelOption = 0.95,
    resamples: ResamplesOption = 10_000,
    bootstrap_seed: BootstrapSeedOption = 0,
    protocol: Annotated[
        str | None, typer.Option(help="Compare per-image values under a named protocol (re-scored from the maps).")
    ] = None,
    protocols: ProtocolsOption = None,
    out: OutOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Paired comparison of A and B on the images both scored: difference per dataset and overall,
    its bootstrap interval, a sign-flip permutation test, and which differences are significant."""
    loaded = catalog_from(catalog)
    names = dataset_names(loaded, suite, dataset)
    settings = bootstrap_settings(level, resamples, bootstrap_seed)
    results_dir = stored_results(results)
    spec = one_perturbation(perturb, "compare reads one perturbation")
    try:
        with Store(results_dir) as store:
            board = leaderboard.build(store, loaded, names, spec, seed)
        values = None
        if protocol is not None:
            known = protocols_from(protocols)
            if protocol not in known:
                fail(unknown_name("protocol", protocol, known))
            values = protocol_image_values(board, known[protocol], GroundTruth(loaded, data_root))
        result = comparing.compare(board, first, second, settings, metric, values, protocol)
    except (LookupError, ValueError) as error:
        fail(str(error))
    print_fitted(_table(result))
    for line in result.verdicts():
        console.print(escape(line), highlight=False)
    for dataset_name, why in result.unpaired.items():
        console.print(f"[yellow]{escape(dataset_name)}[/]: {escape(why)}", highlight=False)
    method = f"{describe_comparison(settings, protocol)} Perturbation: {spec}."
    console.print(f"[dim]{escape(method)}[/]", highlight=False)
    written = write_comparison(result, out or results_dir)
    console.print("Written: " + ", ".join(str(p) for p in written), highlight=False)


def _table(result: comparing.Comparison) -> Table:
    metric = "F1" if result.metric == "f1" else "IoU"
    table = Table(title=escape(f"Paired {metric} difference, A = {result.a}, B = {result.b}"))
    for header in ("dataset", "pairs", "A", "B", "A − B", "interval", "p", "p (Holm)", "significant"):
        table.add_column(header, justify="left" if header == "dataset" else "right", no_wrap=True)
    for row in result.rows:
        table.add_row(
            row.dataset,
            str(row.pairs),
            fmt(row.a),
            fmt(row.b),
            f"{row.difference:+.3f}",
            f"[{row.low:+.3f}, {row.high:+.3f}]",
            p_text(row.p_value),
            p_text(row.p_adjusted),
            "[bold]yes[/]" if row.significant else "no",
        )
    return table
