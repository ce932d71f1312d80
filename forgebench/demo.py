"""The demo workflow, callable from Python: what ``forgebench demo`` runs on a fresh machine.

It builds the synthetic suite (once), trains the demo model of every trainer that has one (once, cached), runs the
weight-free baselines and those models over the suite's test split (and, with ``sweep``, under the ``demo`` grid of
JPEG qualities and simulated social networks), then writes the leaderboard, the robustness tables and plot, and
the HTML report into the results folder. Everything already computed is reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from forgebench.analysis import leaderboard, robustness
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.compare import Comparison, compare
from forgebench.analysis.leaderboard import Leaderboard
from forgebench.analysis.robustness import Robustness
from forgebench.data import paths
from forgebench.data.catalog import load_catalog
from forgebench.data.manifest import dataset_root
from forgebench.data.synthetic import describe
from forgebench.evaluation.grids import load_grid
from forgebench.evaluation.perturb import CLEAN
from forgebench.evaluation.protocols import load_protocols
from forgebench.evaluation.runner import Job, RunSummary, run
from forgebench.evaluation.store import Store
from forgebench.plugin import registry
from forgebench.render.plots import robustness_plot
from forgebench.render.report import PageSettings, write_page
from forgebench.render.tables import write_leaderboard, write_robustness

DEMO_DETECTORS = ("ela", "noi1", "adq1", "all-forged", "prior", "all-pristine")
"""The weight-free detectors every demo ranks: the references show the floor (``prior``: the spatial prior of the
synthetic train split, which a model trained there must beat)."""


@dataclass
class DemoResult:
    """What the demo computed and wrote."""

    board: Leaderboard
    robustness: Robustness | None
    summaries: list[RunSummary]
    written: list[Path]
    report: Path | None
    untrained: dict[str, str] = field(default_factory=dict)
    """Trainers whose demo model could not be made → why (the baselines are ranked all the same)."""
    against_prior: list[Comparison] = field(default_factory=list)
    """Each trained demo model against ``prior``, the spatial prior of the split it was trained on (paired F1)."""


def run_demo(
    results: Path,
    limit: int | None = None,
    train: bool = True,
    sweep: bool = True,
    report: bool = True,
    execute: Callable[[Job], RunSummary] | None = None,
    notify: Callable[[str], None] = lambda message: None,
) -> DemoResult:
    """Run the demo and write its files into ``results``.

    Parameters:
        results: The results folder (store, leaderboard, robustness files; the report in ``results/report``).
        limit: Images per dataset (None: all), a fixed subset chosen by image id.
        train: Also train (or take from the cache) each trainer's demo model and rank it.
        sweep: Also run every detector under the ``demo`` grid and write its robustness tables and plot.
        report: Also write the HTML report.
        execute: Runs one evaluation job; the command line passes one with progress bars. Default: a plain run.
        notify: Receives a line of text for each step a person would want to see.
    """
    catalog = load_catalog()
    specs = catalog.resolve("synthetic")
    names = [spec.name for spec in specs]
    for suite_root in sorted({dataset_root(spec).parents[1] for spec in specs}):  # <suite>/<split>/<kind>
        notify(describe(suite_root))
    grid = load_grid("demo")
    points = tuple(grid.specs()) if sweep else (CLEAN,)
    jobs = [Job(detector, tuple(specs), results, limit=limit, perturbations=points) for detector in DEMO_DETECTORS]
    untrained: dict[str, str] = {}
    for name, trainer in registry.trainers if train else ():
        if trainer.demo is None:
            continue
        notify(f"{name}: training its demo model on the synthetic train split (once, then cached)")
        try:
            checkpoint = trainer.demo(paths.home() / "models")
        except Exception as error:  # noqa: BLE001 — a failing plugin must not cost the baselines' leaderboard
            untrained[name] = f"{type(error).__name__}: {error}"
            notify(f"{name}: no demo model ({untrained[name]})")
            continue
        options = (f"checkpoint={checkpoint}",)
        job = Job(name, tuple(specs), results, options=options, limit=limit, perturbations=points, label=f"{name}@demo")
        jobs.append(job)
    summaries = [(execute or _run)(job) for job in jobs]
    with Store(results) as store:
        board = leaderboard.build(store, catalog, names)
        written = write_leaderboard(board, results)
        table = robustness.build(store, catalog, grid, names, 0) if sweep else None
        if table is not None:
            written += write_robustness(table, results)
            written.append(robustness_plot(table, results / f"robustness-{grid.name}.png"))
        settings = PageSettings(datasets=board.datasets, protocols=tuple(load_protocols().values()))
        page = write_page([store], catalog, results / "report", settings) if report else None
    trained = [job.label for job in jobs if job.label and job.label in board.labels()]
    against = [compare(board, label, "prior", Settings()) for label in trained if "prior" in board.labels()]
    return DemoResult(board, table, summaries, written, page, untrained, against)


def _run(job: Job) -> RunSummary:
    with Store(job.results) as store:
        return run(job, store)
