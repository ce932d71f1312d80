"""``forgebench run``, ``leaderboard`` and ``demo``: evaluate detectors and tabulate the results."""

from __future__ import annotations

import time
from enum import Enum
from typing import Annotated

import typer

from forgebench.analysis import leaderboard as boards
from forgebench.analysis.detection_board import detection_board
from forgebench.analysis.reference import load_reference
from forgebench.analysis.strata import STRATA
from forgebench.cli.board import print_leaderboard, print_robustness, show_grids, show_leaderboard
from forgebench.cli.common import (
    BatchOption,
    BootstrapSeedOption,
    CatalogOption,
    DataRootOption,
    DatasetOption,
    DetectorOptions,
    DeviceOption,
    ExtraOption,
    GridOption,
    LabelOption,
    LevelOption,
    LimitOption,
    OutOption,
    PerturbOption,
    ResamplesOption,
    ResultsOption,
    SeedOption,
    SuiteOption,
    WorkersOption,
    bootstrap_settings,
    catalog_from,
    checked_extras,
    console,
    errors,
    fail,
)
from forgebench.cli.jobs import (
    dataset_names,
    execute,
    one_perturbation,
    print_summary,
    resolve_datasets,
    resolve_grids,
    run_detectors,
    stored_results,
)
from forgebench.cli.protocols import ProtocolsOption, protocols_from, show_protocol
from forgebench.cli.views import show_detection, show_strata
from forgebench.data import paths
from forgebench.data.catalog import CatalogError
from forgebench.data.manifest import DatasetMissingError, build_manifest
from forgebench.demo import run_demo
from forgebench.evaluation.detection import RULES
from forgebench.evaluation.metrics import EXTRA_COLUMNS
from forgebench.evaluation.perturb import CLEAN
from forgebench.evaluation.rescore import ManifestChangedError
from forgebench.evaluation.rescore import rescore as rescore_evaluation
from forgebench.evaluation.runner import Job, RunSummary
from forgebench.evaluation.store import Store
from forgebench.plugin.suggest import unknown_name


def run(
    detector: Annotated[str, typer.Argument(help="Detector name (see `forgebench list detectors`).")],
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    limit: LimitOption = None,
    device: DeviceOption = "auto",
    batch_size: BatchOption = 8,
    option: DetectorOptions = None,
    perturb: PerturbOption = None,
    seed: SeedOption = 0,
    workers: WorkersOption = 2,
    extra: ExtraOption = None,
    retry_errors: Annotated[bool, typer.Option(help="Retry images recorded as errors.")] = False,
    label: LabelOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Run DETECTOR over datasets, optionally perturbed; records go to the store, scored images are skipped."""
    loaded = catalog_from(catalog)
    if not suite and not dataset:
        fail("name what to evaluate: --suite S (e.g. all, synthetic) or --dataset D")
    run_detectors(
        [detector],
        {detector: tuple(option or ())},
        {detector: label} if label is not None else None,
        datasets=tuple(resolve_datasets(loaded, suite, dataset)),
        results=paths.results_dir(results),
        device=device,
        batch_size=batch_size,
        perturbations=tuple(perturb or (CLEAN,)),
        workers=workers,
        seed=seed,
        limit=limit,
        extras=checked_extras(extra),
        data_root=data_root,
        retry_errors=retry_errors,
    )


class Task(str, Enum):
    localization = "localization"
    detection = "detection"


class By(str, Enum):
    dataset = "dataset"
    perturbation = "perturbation"
    kind = "kind"
    area = "area"
    size = "size"
    format = "format"


def leaderboard(
    suite: SuiteOption = None,
    dataset: DatasetOption = None,
    by: Annotated[
        By,
        typer.Option(
            help="dataset: per-dataset F1/IoU under one perturbation (Table 1 shape); perturbation: robustness "
            "tables over grids, F1 per dataset and point (Table 2 shape), and the plot; kind, area, size, format: "
            "mean F1 per manipulation type, forged-area fraction, image size or file format, pooled over datasets."
        ),
    ] = By.dataset,
    grid: GridOption = None,
    perturb: PerturbOption = None,
    seed: SeedOption = 0,
    ci: Annotated[bool, typer.Option("--ci", help="Add bootstrap intervals over images to every cell.")] = False,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Show a paper's reported rows beside the measured ones, and the measured − reported F1 "
            "of the detectors it reports on: clue-table1 (CLUE's Table 1), mvssnet-readme (MVSS-Net's own F1), or a "
            "YAML file of your own (source, datasets, rows: {method: {detector, f1: [...], reported: {f1}}})."
        ),
    ] = None,
    level: LevelOption = 0.95,
    resamples: ResamplesOption = 2000,
    bootstrap_seed: BootstrapSeedOption = 0,
    protocol: Annotated[
        str | None,
        typer.Option(help="Re-score the stored maps under a named protocol (forgebench list protocols), e.g. trufor."),
    ] = None,
    protocols: ProtocolsOption = None,
    task: Annotated[
        Task, typer.Option(help="localization: pixel F1/IoU; detection: image AUC, balanced accuracy, TPR@TNR, F1.")
    ] = Task.localization,
    image_score: Annotated[
        str, typer.Option(help=f"Detection: the image score ({'; '.join(f'{k}: {v}' for k, v in RULES.items())}).")
    ] = "own",
    tnr: Annotated[float, typer.Option(min=0.5, max=0.999, help="Detection: the TNR at which TPR is reported.")] = 0.95,
    out: OutOption = None,
    results: ResultsOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Tabulate stored results: the paper's per-dataset table, or robustness over perturbation grids."""
    loaded = catalog_from(catalog)
    names = dataset_names(loaded, suite, dataset)
    results_dir = stored_results(results)
    bootstrap = bootstrap_settings(level, resamples, bootstrap_seed) if ci else None
    _refuse_combinations(by, task, protocol, ci, reference)
    if by is By.perturbation:
        grids = resolve_grids(grid, perturb)
        show_grids(grids, names, seed, results_dir, out or results_dir, loaded, plot=True, bootstrap=bootstrap)
        return
    if grid:
        fail("--by dataset tabulates one perturbation; use --by perturbation for grids")
    spec = one_perturbation(perturb, "--by dataset tabulates one perturbation; use --by perturbation for several")
    try:
        reported = load_reference(reference) if reference else None
    except LookupError as error:
        fail(str(error))
    with Store(results_dir) as store:
        board = boards.build(store, loaded, names, spec, seed)
    if by.value in STRATA:
        show_strata(board, by.value, loaded, data_root, out or results_dir)
        return
    if task is Task.detection:
        if image_score not in RULES:
            fail(unknown_name("image-score rule", image_score, RULES))
        show_detection(detection_board(board, image_score, tnr, bootstrap), out or results_dir)
        return
    if protocol is not None:
        known = protocols_from(protocols)
        if protocol not in known:
            fail(unknown_name("protocol", protocol, known))
        show_protocol(board, known[protocol], loaded, data_root, out or results_dir, bootstrap)
        return
    if bootstrap:
        board.with_intervals(bootstrap)
    show_leaderboard(board, out or results_dir, reported)


def _refuse_combinations(by: By, task: Task, protocol: str | None, ci: bool, reference: str | None) -> None:
    """Options that a table would otherwise ignore are refused, each with what takes it."""
    detection = task is Task.detection
    if by is By.perturbation and (reference or protocol or detection):
        fail("--by perturbation tabulates pixel F1 over grids; --reference, --protocol and --task detection take "
             "--by dataset")  # fmt: skip
    if by.value in STRATA and (reference or protocol or detection or ci):
        fail(f"--by {by.value} gives mean F1 per stratum; it takes no --reference, --protocol, --task or --ci")
    if detection and (protocol or reference):
        fail("--task detection scores images, not pixels: it takes no --protocol or --reference")
    if protocol and reference:
        fail("--protocol tables have no reported rows: `forgebench explain DETECTOR --reference NAME` finds the "
             "protocol behind each reported number")  # fmt: skip


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
    wanted = {s.name for s in resolve_datasets(loaded, suite, dataset)} if suite or dataset else None
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
    sweep: Annotated[bool, typer.Option(help="Also run the `demo` robustness grid (JPEG and OSN) and plot it.")] = True,
    page: Annotated[bool, typer.Option("--report/--no-report", help="Also write the HTML report.")] = True,
) -> None:
    """Build the synthetic suite, run the baselines and trained demo models (e.g. a tiny CLUE) on it, rank them.

    The HTML report (see `forgebench report`) goes to <results>/report/index.html.
    With --sweep (default) every detector also runs under the `demo` grid, whose robustness tables
    and plot (robustness-demo.md/.csv/.png) are written next to the leaderboard.
    """
    started = time.perf_counter()

    def execute_and_summarise(job: Job) -> RunSummary:
        summary = execute(job)
        print_summary(summary)
        return summary

    outcome = run_demo(
        paths.results_dir(results), limit, train, sweep, page, execute_and_summarise,
        notify=lambda message: console.print(message, highlight=False),
    )  # fmt: skip
    print_leaderboard(outcome.board)
    if outcome.robustness is not None:
        print_robustness(outcome.robustness)
    for comparison in outcome.against_prior:
        overall = comparison.overall()
        if overall is not None:
            beats = overall.significant and overall.difference > 0
            p_value = "p < 0.001" if overall.p_value < 0.001 else f"p = {overall.p_value:.3f}"
            console.print(
                f"{comparison.a} − prior (the spatial prior of its training split), weighted F1 over "
                f"{overall.pairs} images: {overall.difference:+.3f} [{overall.low:+.3f}, {overall.high:+.3f}], "
                f"{p_value}: {'beats' if beats else 'does not beat'} its prior",
                highlight=False,
            )
    console.print("Written: " + ", ".join(str(p) for p in outcome.written), highlight=False)
    if outcome.report is not None:
        console.print(f"Report: {outcome.report} (open it in a browser)", highlight=False)
    console.print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
