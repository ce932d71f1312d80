"""Running evaluation jobs from the command line: datasets and grids by name, progress, summaries, missing data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from forgebench.cli.common import console, errors, fail
from forgebench.data import paths
from forgebench.data.catalog import Catalog, CatalogError, DatasetSpec
from forgebench.data.manifest import DatasetMissingError
from forgebench.evaluation.configure import configure
from forgebench.evaluation.grids import Grid, GridError, adhoc_grid, load_grid
from forgebench.evaluation.labels import LabelError, checked_label
from forgebench.evaluation.perturb import CLEAN, parse_chain
from forgebench.evaluation.runner import Job, NoDataError, RunSummary, process_shard
from forgebench.evaluation.runner import run as run_job
from forgebench.evaluation.store import Store
from forgebench.plugin.options import OptionError
from forgebench.plugin.registry import UnknownPluginError
from forgebench.render.progress import progress_bars


def resolve_datasets(loaded: Catalog, suite: str | None, dataset: Sequence[str] | None) -> list[DatasetSpec]:
    try:
        return loaded.resolve(suite, tuple(dataset or ()))
    except CatalogError as error:
        fail(str(error))


def dataset_names(loaded: Catalog, suite: str | None, dataset: Sequence[str] | None) -> list[str] | None:
    """The datasets asked for by name, or None (every dataset the stored runs asked for)."""
    return [s.name for s in resolve_datasets(loaded, suite, dataset)] if suite or dataset else None


def stored_results(folder: Path | None) -> Path:
    """The results folder, refused when it holds no results yet."""
    results = paths.results_dir(folder)
    if not (results / "forgebench.sqlite").is_file():
        fail(f"no results in {results}; run `forgebench run DETECTOR --suite S` first")
    return results


def one_perturbation(specs: Sequence[str] | None, why: str) -> str:
    """The canonical id of the single ``--perturb`` given (clean without one); ``why`` explains refusing several."""
    if len(specs or ()) > 1:
        fail(f"{why}; give --perturb once")
    try:
        return parse_chain((specs or [CLEAN])[0]).canonical_id
    except (LookupError, ValueError) as error:
        fail(str(error))


def resolve_grids(names: Sequence[str] | None, specs: Sequence[str] | None) -> list[Grid]:
    """Named (or YAML-file) grids, plus one ad-hoc grid of the ``--perturb`` specs."""
    try:
        grids = [load_grid(name) for name in names or ()]
        adhoc = adhoc_grid(specs or ())
    except (GridError, UnknownPluginError, OptionError, ValueError) as error:
        fail(str(error))
    return grids + ([adhoc] if adhoc.families else [])


def execute(job: Job) -> RunSummary:
    """Run ``job`` with progress bars; a bad name, option, device or perturbation is refused before writing."""
    try:
        configure(job.detector, job.options, job.device)
        points = list(dict.fromkeys(parse_chain(spec).canonical_id for spec in job.perturbations))
        shown = f"{len(points)} perturbations" if len(points) > 3 else ", ".join(points)
        if job.shard.count > 1:
            shown += f" · process {job.shard.index + 1} of {job.shard.count}"
        with Store(job.results) as store, progress_bars(console) as bars:
            console.print(f"[bold]{job.detector}[/] · {shown} · results {job.results}", highlight=False)
            return run_job(job, store, progress=bars)
    except NoDataError as error:
        explain_missing(error.missing, job)
        raise typer.Exit(2) from None
    except (UnknownPluginError, OptionError, ValueError, TypeError, FileNotFoundError) as error:
        fail(str(error))


def run_detectors(
    detectors: Sequence[str],
    options: Mapping[str, tuple[str, ...]],
    labels: Mapping[str, str] | None = None,
    **settings: Any,
) -> None:
    """Check every detector with its options and label first, then run each as a :class:`Job` with the shared
    ``settings``."""
    labels = labels or {}
    for detector in detectors:
        try:
            configure(detector, options[detector], settings.get("device", "auto"))
            if detector in labels:
                checked_label(labels[detector])
        except (UnknownPluginError, OptionError, ValueError) as error:
            fail(f"--label: {error}" if isinstance(error, LabelError) else str(error))
    shard = process_shard()
    for detector in detectors:
        job = Job(detector=detector, options=options[detector], shard=shard, label=labels.get(detector), **settings)
        summary = execute(job)
        print_summary(summary)
        for missing in summary.missing:
            console.print(f"[yellow]Not evaluated:[/] {missing}", highlight=False, soft_wrap=True)


def print_summary(summary: RunSummary) -> None:
    """One line per dataset and perturbation (only those with problems when there are many), then the totals."""
    many = len(summary.outcomes) > 6
    for outcome in summary.outcomes:
        problems = outcome.errors or outcome.invalid
        if many and not problems:
            continue
        where = outcome.dataset if outcome.perturbation == "clean" else f"{outcome.dataset} · {outcome.perturbation}"
        line = f"  {where}: {outcome.scored} scored, {outcome.skipped} already recorded"
        if problems:
            line += f", [red]{outcome.errors} errors, {outcome.invalid} invalid[/]"
        console.print(line, highlight=False)
    scored = sum(o.scored for o in summary.outcomes)
    skipped = sum(o.skipped for o in summary.outcomes)
    console.print(
        f"  total: {scored} scored, {skipped} already recorded, {summary.calls} detector calls "
        f"({len(summary.outcomes)} dataset × perturbation evaluations)",
        highlight=False,
    )


def explain_missing(missing: list[DatasetMissingError], job: Job) -> None:
    errors.print("[bold red]No requested dataset was found.[/]")
    for item in missing:
        errors.print(
            f"  • {item.spec.name} ({item.spec.title}): {item.reason}: {item.root}", highlight=False, soft_wrap=True
        )
    errors.print(
        f"Data root: {paths.data_root(job.data_root)}. Prepare each dataset there from its download with "
        "`forgebench datasets prepare NAME --from DOWNLOAD…` (`forgebench datasets info NAME` says where to get it), "
        "point to another data root with --data-root DIR or FORGEBENCH_DATA=DIR, or describe your own layout with "
        "--catalog FILE. `forgebench datasets check --suite all` shows what is found."
    )
