"""``forgebench run``, ``leaderboard`` and ``demo``: evaluate detectors and tabulate the results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from forgebench import paths, registry, report
from forgebench.catalog import Catalog, CatalogError
from forgebench.cli.board import show_leaderboard
from forgebench.cli.common import (
    CatalogOption,
    DataRootOption,
    DatasetOption,
    DetectorOptions,
    DeviceOption,
    ResultsOption,
    SuiteOption,
    catalog_from,
    checked_extras,
    console,
    errors,
    fail,
    progress_bars,
)
from forgebench.configure import configure
from forgebench.manifest import DatasetMissingError, build_manifest, dataset_root
from forgebench.metrics import EXTRA_COLUMNS
from forgebench.options import OptionError
from forgebench.registry import UnknownPluginError
from forgebench.rescore import ManifestChangedError
from forgebench.rescore import rescore as rescore_evaluation
from forgebench.runner import Job, NoDataError, RunSummary
from forgebench.runner import run as run_job
from forgebench.store import Store
from forgebench.synthetic import describe

DEMO_DETECTORS = ("ela", "noi1", "adq1", "all-forged", "all-pristine")


def run(
    detector: Annotated[str, typer.Argument(help="Detector name (see `forgebench list detectors`).")],
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    limit: Annotated[int | None, typer.Option(help="Score a fixed subset of N images per dataset.")] = None,
    device: DeviceOption = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="Images per detector call.")] = 8,
    option: DetectorOptions = None,
    perturbation: Annotated[str, typer.Option(help="Perturbation chain, e.g. clean.")] = "clean",
    seed: Annotated[int, typer.Option(help="Seed of stochastic perturbations.")] = 0,
    extra: Annotated[list[str] | None, typer.Option(help=f"Optional columns: {', '.join(EXTRA_COLUMNS)}.")] = None,
    retry_errors: Annotated[bool, typer.Option(help="Retry images recorded as errors.")] = False,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Run DETECTOR over datasets; records go to the results store, already-scored images are skipped."""
    loaded = catalog_from(catalog)
    if not suite and not dataset:
        fail("name what to evaluate: --suite S (e.g. all, synthetic) or --dataset D")
    extras = checked_extras(extra)
    job = Job(
        detector=detector,
        datasets=tuple(_resolve(loaded, suite, dataset)),
        results=paths.results_dir(results),
        options=tuple(option or ()),
        device=device,
        batch_size=batch_size,
        perturbation=perturbation,
        seed=seed,
        limit=limit,
        extras=extras,
        data_root=data_root,
        retry_errors=retry_errors,
    )
    summary = _execute(job)
    _print_summary(summary)
    if summary.missing:
        console.print(f"[yellow]Missing (not evaluated):[/] {', '.join(m.spec.name for m in summary.missing)}")


def leaderboard(
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    perturbation: Annotated[str, typer.Option(help="Perturbation chain id.")] = "clean",
    seed: Annotated[int, typer.Option(help="Seed of the runs to tabulate (perturbation randomness).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder for leaderboard.md/.csv (default: <results>).")] = None,
    results: ResultsOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Tabulate stored results in the paper's shape: per-dataset F1/IoU and the weighted average."""
    loaded = catalog_from(catalog)
    names = [s.name for s in _resolve(loaded, suite, dataset)] if suite or dataset else None
    results_dir = paths.results_dir(results)
    if not (results_dir / "forgebench.sqlite").exists():
        fail(f"no results in {results_dir}; run `forgebench run DETECTOR --suite S` first")
    with Store(results_dir) as store:
        board = report.build(store, loaded, names, perturbation, seed)
    show_leaderboard(board, out or results_dir)


def rescore(
    extra: Annotated[list[str], typer.Option(help=f"Columns to compute: {', '.join(EXTRA_COLUMNS)}.")],
    detector: Annotated[str | None, typer.Option(help="Only this detector.")] = None,
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Recompute stored records from the cached maps (e.g. add --extra auc) without re-running detectors."""
    loaded = catalog_from(catalog)
    extras = checked_extras(extra)
    wanted = {s.name for s in _resolve(loaded, suite, dataset)} if suite or dataset else None
    with Store(paths.results_dir(results)) as store:
        for evaluation in list(store.evaluations()):
            if (detector and evaluation.detector != detector) or (
                wanted is not None and evaluation.dataset not in wanted
            ):
                continue
            try:
                manifest = build_manifest(loaded.dataset(evaluation.dataset), data_root)
                count = rescore_evaluation(store, evaluation, manifest, extras)
            except (DatasetMissingError, ManifestChangedError, CatalogError) as error:
                errors.print(f"[yellow]skipped[/] {evaluation.detector} on {evaluation.dataset}: {error}")
                continue
            console.print(
                f"{evaluation.detector} on {evaluation.dataset} ({evaluation.perturbation}): {count} re-scored"
            )


def demo(
    results: ResultsOption = None,
    limit: Annotated[int | None, typer.Option(help="Images per dataset (default: all).")] = None,
    train: Annotated[bool, typer.Option(help="Also train the trainable detectors' demo models (cached).")] = True,
) -> None:
    """Build the synthetic suite, run the baselines and trained demo models (e.g. a tiny CLUE) on it, rank them."""
    started = time.perf_counter()
    loaded = catalog_from(None)
    specs = loaded.resolve("synthetic")
    results_dir = paths.results_dir(results)
    with console.status("preparing the synthetic suite (generated once from bundled photographs)…"):
        suites = {dataset_root(spec).parents[1] for spec in specs}  # <suite>/<split>/<kind>
    for suite_root in sorted(suites):
        console.print(describe(suite_root), highlight=False)
    jobs = [Job(detector, tuple(specs), results_dir, limit=limit) for detector in DEMO_DETECTORS]
    for name, trainer in registry.trainers if train else ():
        if trainer.demo is not None:
            console.print(f"[bold]{name}[/]: training its demo model on the synthetic train split (once, then cached)")
            try:
                checkpoint = trainer.demo(paths.home() / "models")
            except Exception as error:  # noqa: BLE001 — a failing plugin must not cost the baselines' leaderboard
                errors.print(f"[yellow]{name}: no demo model ({type(error).__name__}: {error})[/]", highlight=False)
                continue
            jobs.append(Job(name, tuple(specs), results_dir, options=(f"checkpoint={checkpoint}",), limit=limit))
    for job in jobs:
        _print_summary(_execute(job))
    with Store(results_dir) as store:
        board = report.build(store, loaded, [s.name for s in specs])
    show_leaderboard(board, results_dir)
    console.print(f"Demo finished in {time.perf_counter() - started:.1f} s.")


def _resolve(loaded: Catalog, suite: str | None, dataset: list[str] | None) -> list:
    try:
        return loaded.resolve(suite, tuple(dataset or ()))
    except CatalogError as error:
        fail(str(error))


def _execute(job: Job) -> RunSummary:
    try:
        configure(job.detector, job.options, job.device)  # refuse a bad name, option or device before writing
        with Store(job.results) as store, progress_bars() as bars:
            console.print(f"[bold]{job.detector}[/] · perturbation {job.perturbation} · results {job.results}")
            return run_job(job, store, progress=bars)
    except NoDataError as error:
        _explain_missing(error.missing, job)
        raise typer.Exit(2) from None
    except (UnknownPluginError, OptionError, ValueError, FileNotFoundError) as error:
        fail(str(error))


def _explain_missing(missing: list[DatasetMissingError], job: Job) -> None:
    errors.print("[bold red]No requested dataset was found.[/]")
    for item in missing:
        errors.print(
            f"  • {item.spec.name} ({item.spec.title}): {item.reason}: {item.root}", highlight=False, soft_wrap=True
        )
    errors.print(
        f"Data root: {paths.data_root(job.data_root)}. Put each dataset in the folder named by its catalog 'root' "
        "there, point to it with --data-root DIR or FORGEBENCH_DATA=DIR, or describe your own layout with "
        "--catalog FILE. `forgebench datasets check --suite all` shows what is found; "
        "`forgebench list datasets` shows the expected folders."
    )


def _print_summary(summary: RunSummary) -> None:
    for outcome in summary.outcomes:
        line = f"  {outcome.dataset}: {outcome.scored} scored, {outcome.skipped} already recorded"
        if outcome.errors or outcome.invalid:
            line += f", [red]{outcome.errors} errors, {outcome.invalid} invalid[/]"
        console.print(line)
