"""``forgebench report``: a static HTML page of one or several runs (leaderboard, curves, thresholds, galleries)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forgebench.cli.common import (
    BootstrapSeedOption,
    CatalogOption,
    DataRootOption,
    DatasetOption,
    LevelOption,
    PerturbOption,
    ResamplesOption,
    SeedOption,
    SuiteOption,
    bootstrap_settings,
    catalog_from,
    console,
    fail,
)
from forgebench.cli.jobs import dataset_names, one_perturbation
from forgebench.cli.protocols import ProtocolsOption, protocols_from
from forgebench.data import paths
from forgebench.evaluation.store import Store
from forgebench.plugin.suggest import unknown_name
from forgebench.render.report import PageSettings, write_page


def report(
    runs: Annotated[
        list[Path] | None,
        typer.Argument(metavar="[RUN]...", help="Results folders to report on (default: the results folder)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for index.html, its figures and thumbnails.")] = Path("report"),
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    perturb: PerturbOption = None,
    seed: SeedOption = 0,
    per_section: Annotated[int, typer.Option(min=1, help="Gallery rows per section (worst, best, disagreement).")] = 4,
    protocol: Annotated[
        list[str] | None,
        typer.Option(help="Also show the leaderboard re-scored under this protocol (repeatable; 'all': every one)."),
    ] = None,
    protocols: ProtocolsOption = None,
    level: LevelOption = 0.95,
    resamples: ResamplesOption = 2000,
    bootstrap_seed: BootstrapSeedOption = 0,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Write a static HTML report: the leaderboard with bootstrap intervals (and, with --protocol, re-scored under
    other protocols), robustness curves, F1 against threshold, and per-dataset galleries of the worst, best and most
    disputed images. Opens from disk."""
    loaded = catalog_from(catalog)
    folders = runs or [paths.results_dir(None)]
    absent = [str(f) for f in folders if not (f / "forgebench.sqlite").is_file()]
    if absent:
        fail(f"no results in {', '.join(absent)}; run `forgebench run DETECTOR --suite S` first")
    names = dataset_names(loaded, suite, dataset)
    spec = one_perturbation(perturb, "the page's leaderboard and galleries read one perturbation")
    known = protocols_from(protocols)
    wanted = list(known) if "all" in (protocol or []) else list(dict.fromkeys(protocol or []))
    if unknown := [name for name in wanted if name not in known]:
        fail(unknown_name("protocol", unknown[0], known))
    settings = PageSettings(names, spec, seed, bootstrap_settings(level, resamples, bootstrap_seed), per_section,
                            data_root, tuple(known[name] for name in wanted))  # fmt: skip
    stores = [Store(folder) for folder in folders]
    try:
        with console.status("writing the report (thresholds and thumbnails read every cached map)…"):
            page = write_page(stores, loaded, out, settings)
    finally:
        for store in stores:
            store.close()
    console.print(f"Written: {page} (open it in a browser; no server needed)", highlight=False)
