"""The Python API: evaluate a detector plugin, a registered detector or a plain function from a notebook.

``evaluate`` runs the same loop, store, cache and protocol as ``forgebench run``: images already recorded for the
configuration are not scored again, so a repeated call resumes (or, when finished, only reads the store). The
:class:`Results` it returns tabulates the results folder the way ``forgebench leaderboard`` and ``compare`` do,
as pandas DataFrames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forgebench.analysis import compare as comparing
from forgebench.analysis import leaderboard, robustness
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.detection_board import detection_board
from forgebench.analysis.leaderboard import Leaderboard
from forgebench.analysis.protocol_board import protocol_board
from forgebench.data import paths
from forgebench.data.catalog import Catalog, load_catalog
from forgebench.data.truth import GroundTruth
from forgebench.evaluation.configure import configure
from forgebench.evaluation.grids import adhoc_grid
from forgebench.evaluation.labels import checked_label
from forgebench.evaluation.metrics import EXTRA_COLUMNS
from forgebench.evaluation.perturb import CLEAN, parse_chain
from forgebench.evaluation.protocols import load_protocols
from forgebench.evaluation.runner import Job, RunSummary, run
from forgebench.evaluation.store import Store
from forgebench.plugin import registry
from forgebench.plugin.contract import DetectorPlugin
from forgebench.plugin.function import function_plugin
from forgebench.plugin.suggest import unknown_name
from forgebench.render.progress import progress_bars
from forgebench.render.tables import describe_comparison, write_leaderboard, write_robustness


def evaluate(
    detector: str | DetectorPlugin | Callable[[Any], Any],
    *,
    name: str | None = None,
    version: str | None = None,
    batch: bool = False,
    options: Mapping[str, object] | Sequence[str] = (),
    suite: str | None = None,
    datasets: Sequence[str] = (),
    perturb: Sequence[str] = (CLEAN,),
    results: str | Path | None = None,
    label: str | None = None,
    seed: int = 0,
    limit: int | None = None,
    extras: Sequence[str] = (),
    device: str = "auto",
    batch_size: int = 8,
    workers: int = 2,
    retry_errors: bool = False,
    data_root: str | Path | None = None,
    catalog: Sequence[str | Path] = (),
    progress: bool = True,
) -> Results:
    """Evaluate ``detector`` on the datasets of ``suite`` (and ``datasets``), clean and under ``perturb``.

    Parameters:
        detector: A detector name (``"ela"``, see ``forgebench list detectors``), a :class:`DetectorPlugin`, or a
            function ``(H×W×3 uint8 RGB) → H×W map of P(forged) in [0, 1]`` (NumPy array or tensor; a
            ``(map, score)`` pair adds an image-level score).
        name: The detector name a function's results are filed under (required for a function).
        version: For a function: what changes its output without changing its code, such as its weights' hash.
            The function's code is digested too, so an edited function never reuses another's results.
        batch: For a function: it takes a list of images and returns a list of maps.
        options: The detector's options, as a mapping or ``"key=value"`` texts (as ``--option``).
        suite: A suite of the catalog (``"synthetic"``, ``"all"`` …).
        datasets: Datasets by name, added to the suite's.
        perturb: Perturbation specs (``"jpeg:q=70"``); give ``"clean"`` among them to keep the clean run.
        results: The results folder (default: ``$FORGEBENCH_RESULTS``, else ``<forgebench home>/results``).
        label: The name tables give this configuration (default: the detector and its changed options).
        seed: Seed of the stochastic perturbations.
        limit: Score a fixed subset of this many images per dataset.
        extras: Optional per-image columns (``auc``, ``best``, ``inv``), as ``--extra``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (a function is always called on the host's arrays).
        batch_size: Images per detector call.
        workers: Loader threads (decode and perturb); results do not depend on it.
        retry_errors: Score again the images recorded as errors.
        data_root: Where the benchmark datasets are (default: ``$FORGEBENCH_DATA``, else ``<home>/data``).
        catalog: Extra catalog files (YAML) describing datasets of one's own.
        progress: Show progress bars.

    Raises ``ValueError`` for a bad name, option, label or perturbation, and
    :class:`forgebench.evaluation.runner.NoDataError` when no requested dataset is present.
    """
    loaded = load_catalog(tuple(Path(file) for file in catalog))
    specs = tuple(loaded.resolve(suite, tuple(datasets)))
    plugin, detector_name = _plugin(detector, name, version, batch)
    pairs = tuple(f"{k}={v}" for k, v in options.items()) if isinstance(options, Mapping) else tuple(options)
    job = Job(
        detector=detector_name,
        datasets=specs,
        results=paths.results_dir(Path(results) if results is not None else None),
        options=pairs,
        device=device,
        batch_size=batch_size,
        perturbations=tuple(perturb),
        seed=seed,
        limit=limit,
        extras=tuple(extras),
        data_root=Path(data_root) if data_root is not None else None,
        retry_errors=retry_errors,
        workers=workers,
        label=label,
    )
    with registry.detectors.registered(plugin.card.name, plugin) if plugin is not None else nullcontext():
        configure(job.detector, job.options, job.device)  # a bad option or label is refused before the store opens
        if label is not None:
            checked_label(label)
        if unknown := sorted(set(extras) - set(EXTRA_COLUMNS)):
            raise ValueError(f"unknown extras {', '.join(unknown)}; choose from {', '.join(EXTRA_COLUMNS)}")
        with Store(job.results) as store, progress_bars() if progress else nullcontext() as bars:
            summary = run(job, store, progress=bars)
    points = list(dict.fromkeys(parse_chain(spec).canonical_id for spec in job.perturbations))
    return Results(job.results, loaded, [spec.name for spec in specs], points, seed, summary, job.data_root)


def _plugin(
    detector: str | DetectorPlugin | Callable[[Any], Any], name: str | None, version: str | None, batch: bool
) -> tuple[DetectorPlugin | None, str]:
    """The plugin to register for the call (None for a registered name) and the detector's name."""
    if isinstance(detector, str | DetectorPlugin) and (name is not None or version is not None or batch):
        raise ValueError("name=, version= and batch= describe a function; to name a detector's row, give label=")
    if isinstance(detector, str):
        return None, detector
    if isinstance(detector, DetectorPlugin):
        return detector, detector.card.name
    if not callable(detector):
        raise TypeError(f"detector must be a name, a DetectorPlugin or a function, got {type(detector).__name__}")
    if name is None:
        raise ValueError("a function has no name to file its results under: give name='…'")
    return function_plugin(detector, name, version, batch), name


@dataclass
class Results:
    """The results folder of one :func:`evaluate` call, tabulated over the datasets it asked for.

    Tables hold every detector stored in the folder (run the baselines into the same ``results`` to rank
    against them); ``fingerprint`` and :attr:`label` name the configuration this call evaluated.
    """

    folder: Path
    catalog: Catalog
    datasets: list[str]
    perturbations: list[str]
    seed: int
    summary: RunSummary
    data_root: Path | None = None

    @property
    def fingerprint(self) -> str:
        return self.summary.fingerprint

    @property
    def calls(self) -> int:
        """Detector calls this evaluation made (0 when everything was already stored)."""
        return self.summary.calls

    @property
    def label(self) -> str:
        """This configuration's name in the tables."""
        label = self._label(self.board(self.perturbations[0]))
        assert label is not None, "an evaluated configuration has cells under its first perturbation"
        return label

    def _label(self, board: Leaderboard) -> str | None:
        return next((c.label for c in board.cells if c.fingerprint == self.fingerprint), None)

    def board(self, perturb: str = CLEAN, bootstrap: Settings | None = None) -> Leaderboard:
        """The leaderboard model under one perturbation (with bootstrap intervals when ``bootstrap`` is given)."""
        with Store(self.folder) as store:
            board = leaderboard.build(store, self.catalog, self.datasets, parse_chain(perturb).canonical_id, self.seed)
        return board.with_intervals(bootstrap) if bootstrap else board

    def leaderboard(self, perturb: str = CLEAN, ci: bool = False, level: float = 0.95) -> pd.DataFrame:
        """The paper's table: per-dataset F1 and IoU and their image-weighted average, one row per configuration;
        with ``ci``, ``… low`` / ``… high`` bootstrap bounds after each column."""
        board = self.board(perturb, Settings(level=level) if ci else None)
        return board.wide(with_intervals=ci).reset_index(drop=True)

    def protocol(
        self, name: str, perturb: str = CLEAN, protocols: tuple[Path, ...] = (), ci: bool = False, level: float = 0.95
    ) -> pd.DataFrame:
        """The stored maps re-scored under a named protocol (see ``forgebench list protocols``; ``protocols`` adds
        YAML files of your own): per dataset the protocol's F1 (or MCC) and its average, with ``ci`` their
        ``… low`` / ``… high`` bootstrap bounds. No detector is called."""
        known = load_protocols(protocols)
        if name not in known:
            raise ValueError(unknown_name("protocol", name, known))
        truth = GroundTruth(self.catalog, self.data_root)
        scored = protocol_board(self.board(perturb), known[name], truth, Settings(level=level) if ci else None)
        frame = scored.wide()
        frame.attrs["missing"] = {f"{label} on {dataset}": why for (label, dataset), why in scored.missing.items()}
        return frame

    def detection(self, rule: str = "own", tnr: float = 0.95, perturb: str = CLEAN) -> pd.DataFrame:
        """Image-level AUC, balanced accuracy, TPR at ``tnr`` and F1 per dataset under an image-score rule."""
        return detection_board(self.board(perturb), rule, tnr).wide()

    def long(self, perturb: str = CLEAN) -> pd.DataFrame:
        """One row per configuration × dataset: every aggregate, count and the full configuration."""
        return self.board(perturb).long()

    def compare(
        self, other: str, metric: str = "f1", perturb: str = CLEAN, level: float = 0.95, resamples: int = 10_000
    ) -> pd.DataFrame:
        """The paired test of this configuration against ``other`` (a label or detector name in the folder).

        One row per dataset and the weighted average: both means, the difference, its bootstrap interval and the
        sign-flip p-value (Holm-adjusted over datasets). ``frame.attrs["verdicts"]`` says in words which
        differences are significant; ``frame.attrs["method"]`` how they were computed.
        """
        settings = Settings(level=level, resamples=resamples)
        board = self.board(perturb)
        comparison = comparing.compare(board, self._label(board) or self.label, other, settings, metric)
        frame = comparison.frame()
        frame.attrs["verdicts"] = comparison.verdicts()
        frame.attrs["method"] = describe_comparison(settings)
        return frame

    def robustness(self) -> pd.DataFrame:
        """Weighted-average F1 of every configuration at each perturbation evaluated (the clean point first)."""
        return self._robustness().summary()

    def write(self, out: str | Path | None = None) -> list[Path]:
        """The leaderboard's Markdown and CSV files (and the robustness tables where perturbations were run)."""
        folder = Path(out) if out is not None else self.folder
        written = write_leaderboard(self.board(), folder)
        if any(point != CLEAN for point in self.perturbations):
            written += write_robustness(self._robustness(), folder)
        return written

    def _robustness(self) -> robustness.Robustness:
        grid = adhoc_grid([p for p in self.perturbations if p != CLEAN])
        with Store(self.folder) as store:
            return robustness.build(store, self.catalog, grid, self.datasets, self.seed)
