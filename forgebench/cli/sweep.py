"""``forgebench sweep`` and ``forgebench plot``: robustness over perturbation grids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from forgebench.cli.board import show_grids
from forgebench.cli.common import (
    BatchOption,
    CatalogOption,
    DataRootOption,
    DatasetOption,
    DetectorOptions,
    DeviceOption,
    ExtraOption,
    GridOption,
    LimitOption,
    OutOption,
    PerturbOption,
    ResultsOption,
    SeedOption,
    SuiteOption,
    WorkersOption,
    catalog_from,
    checked_extras,
    console,
    fail,
)
from forgebench.cli.jobs import resolve_datasets, resolve_grids, run_detectors
from forgebench.data import paths
from forgebench.evaluation.runner import process_shard


def sweep(
    detectors: Annotated[list[str], typer.Argument(help="One or more detector names.")],
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    grid: GridOption = None,
    perturb: PerturbOption = None,
    limit: LimitOption = None,
    device: DeviceOption = "auto",
    batch_size: BatchOption = 8,
    option: DetectorOptions = None,
    seed: SeedOption = 0,
    workers: WorkersOption = 2,
    extra: ExtraOption = None,
    retry_errors: Annotated[bool, typer.Option(help="Retry images recorded as errors.")] = False,
    label: Annotated[
        list[str] | None,
        typer.Option(
            help="Name a configuration in tables and plots: NAME with one detector, DETECTOR=NAME with several; "
            "repeatable."
        ),
    ] = None,
    plot: Annotated[bool, typer.Option(help="Also write the robustness plot (PNG) per grid.")] = True,
    out: OutOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Run DETECTORS over every point of the grids (the clean point included), then tabulate and plot.

    Points already in the store are not run again. --option NAME.key=value goes to detector NAME only,
    key=value to every detector.
    """
    loaded = catalog_from(catalog)
    if not suite and not dataset:
        fail("name what to evaluate: --suite S (e.g. all, synthetic) or --dataset D")
    if not grid and not perturb:
        fail("name the points: --grid G (imdlbenco, clue, span, osn, demo or a YAML file) and/or --perturb SPEC")
    grids = resolve_grids(grid, perturb)
    extras = checked_extras(extra)
    specs = tuple(dict.fromkeys(spec for g in grids for spec in g.specs()))
    datasets = tuple(resolve_datasets(loaded, suite, dataset))
    results_dir = paths.results_dir(results)
    chosen = list(dict.fromkeys(detectors))
    run_detectors(
        chosen,
        {detector: _options_for(detector, option or (), chosen) for detector in chosen},
        _labels_for(label or (), chosen),
        datasets=datasets,
        results=results_dir,
        device=device,
        batch_size=batch_size,
        perturbations=specs,
        seed=seed,
        limit=limit,
        data_root=data_root,
        workers=workers,
        extras=extras,
        retry_errors=retry_errors,
    )
    if process_shard().count > 1:  # the other processes may still be scoring: tabulate once all have finished
        console.print("Run `forgebench leaderboard --by perturbation` (and `plot`) once every process has finished.")
        return
    show_grids(grids, [d.name for d in datasets], seed, results_dir, out or results_dir, loaded, plot=plot)


def plot(
    grid: GridOption = None,
    perturb: PerturbOption = None,
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    seed: SeedOption = 0,
    out: OutOption = None,
    results: ResultsOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Figure-4-style curves from stored results: F1 vs intensity, a panel per perturbation kind, a line per detector.

    Writes robustness-<grid>.png only; `leaderboard --by perturbation` gives the tables.
    """
    loaded = catalog_from(catalog)
    names = [s.name for s in resolve_datasets(loaded, suite, dataset)] if suite or dataset else None
    results_dir = paths.results_dir(results)
    if not (results_dir / "forgebench.sqlite").exists():
        fail(f"no results in {results_dir}; run `forgebench sweep DETECTOR --suite S --grid G` first")
    show_grids(resolve_grids(grid, perturb), names, seed, results_dir, out or results_dir, loaded, tables=False)


def _options_for(detector: str, pairs: Sequence[str], detectors: Sequence[str]) -> tuple[str, ...]:
    """``NAME.key=value`` pairs addressed to ``detector`` (prefix removed) plus the unprefixed ones."""
    chosen = []
    for pair in pairs:
        owner, dot, _ = pair.partition("=")[0].partition(".")
        if not dot:
            chosen.append(pair)
        elif owner not in detectors:
            fail(f"--option {pair}: {owner!r} is not one of the detectors swept ({', '.join(detectors)})")
        elif owner == detector:
            chosen.append(pair[len(owner) + 1 :])
    return tuple(chosen)


def _labels_for(given: Sequence[str], detectors: Sequence[str]) -> dict[str, str]:
    """Detector → label from ``--label NAME`` (one detector swept) or ``--label DETECTOR=NAME``."""
    labels: dict[str, str] = {}
    for text in given:
        owner, equals, name = text.partition("=")
        if not equals and len(detectors) == 1:
            owner, name = detectors[0], text
        elif not equals or owner not in detectors:
            fail(f"--label {text}: with several detectors give DETECTOR=NAME, DETECTOR one of {', '.join(detectors)}")
        if owner in labels:
            fail(f"--label {text}: {owner} is already named {labels[owner]!r}")
        labels[owner] = name
    return labels
