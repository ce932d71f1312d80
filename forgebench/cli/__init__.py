"""The ``forgebench`` command line (Typer): one small module per command group."""

from __future__ import annotations

import typer

from forgebench.cli import compare, datasets, evaluate, listing, predict, protocols, report, sweep, train

app = typer.Typer(
    name="forgebench",
    help="Benchmark image-forgery localizers with the CLUE protocol (fixed-threshold per-image F1/IoU).",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("list")(listing.list_plugins)
app.add_typer(datasets.app, name="datasets")
app.command()(evaluate.run)
app.command()(sweep.sweep)
app.command()(evaluate.leaderboard)
app.command()(protocols.explain)
app.command()(sweep.plot)
app.command()(compare.compare)
app.command()(report.report)
app.command()(evaluate.rescore)
app.command()(evaluate.demo)
app.command()(predict.predict)
app.command()(train.train)


def main() -> None:
    app()
