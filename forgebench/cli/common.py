"""Options, console and progress display shared by the command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from forgebench.analysis.bootstrap import Settings
from forgebench.data.catalog import Catalog, CatalogError, load_catalog
from forgebench.evaluation.metrics import EXTRA_COLUMNS

console = Console()
errors = Console(stderr=True)

CatalogOption = Annotated[
    list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML (datasets/suites); repeatable.")
]
DataRootOption = Annotated[
    Path | None, typer.Option("--data-root", help="Folder holding the datasets (default: $FORGEBENCH_DATA).")
]
ResultsOption = Annotated[
    Path | None, typer.Option("--results", help="Results folder (default: $FORGEBENCH_RESULTS or cache).")
]
SuiteOption = Annotated[str | None, typer.Option("--suite", "-s", help="A suite from the catalog, e.g. all, osn.")]
DatasetOption = Annotated[list[str] | None, typer.Option("--dataset", "-d", help="A dataset name; repeatable.")]
DetectorOptions = Annotated[
    list[str] | None, typer.Option("--option", "-o", help="Detector option key=value; repeatable.")
]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
PerturbOption = Annotated[
    list[str] | None,
    typer.Option(
        "--perturb",
        "--perturbation",
        "-p",
        help="Perturbation spec, e.g. jpeg:q=70, blur:sigma=1.5, osn:wechat, resize:scale=0.5+jpeg:q=70; repeatable.",
    ),
]
GridOption = Annotated[
    list[str] | None,
    typer.Option("--grid", "-g", help="Named grid (imdlbenco, clue, span, osn, demo) or grid YAML file; repeatable."),
]
LimitOption = Annotated[int | None, typer.Option(help="Score a fixed subset of N images per dataset.")]
BatchOption = Annotated[int, typer.Option(min=1, help="Images per detector call.")]
SeedOption = Annotated[int, typer.Option(help="Seed of stochastic perturbations (recorded; tables read one seed).")]
ExtraOption = Annotated[list[str] | None, typer.Option(help=f"Optional columns: {', '.join(EXTRA_COLUMNS)}.")]
OutOption = Annotated[Path | None, typer.Option(help="Folder for the .md/.csv/.png files (default: <results>).")]
WorkersOption = Annotated[
    int, typer.Option(min=1, help="Loader threads (decode + perturb); results never depend on it.")
]
LabelOption = Annotated[
    str | None,
    typer.Option(help="Name the configuration in tables and plots (default: the detector and its changed options)."),
]
LevelOption = Annotated[float, typer.Option(help="Confidence level of bootstrap intervals, e.g. 0.95.")]
ResamplesOption = Annotated[int, typer.Option(help="Bootstrap resamples (and random sign flips of paired tests).")]
BootstrapSeedOption = Annotated[int, typer.Option(help="Seed of the bootstrap draws (results depend only on it).")]


def bootstrap_settings(level: float, resamples: int, seed: int) -> Settings:
    try:
        return Settings(level=level, resamples=resamples, seed=seed)
    except ValueError as error:
        fail(str(error))


def catalog_from(files: list[Path] | None) -> Catalog:
    try:
        return load_catalog(tuple(files or ()))
    except CatalogError as error:
        fail(str(error))


def checked_extras(extra: list[str] | None) -> tuple[str, ...]:
    """The ``--extra`` columns asked for, refusing unknown ones."""
    unknown = set(extra or ()) - set(EXTRA_COLUMNS)
    if unknown:
        fail(f"unknown --extra {', '.join(sorted(unknown))}; choose from {', '.join(EXTRA_COLUMNS)}")
    return tuple(extra or ())


def expected_counts(tampered: int | None, authentic: int | None) -> str:
    """``tampered / authentic`` as the catalog expects them, ``?`` where it does not say."""
    return " / ".join("?" if n is None else str(n) for n in (tampered, authentic))


def fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
