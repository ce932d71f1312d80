"""``forgebench list``: installed detectors, trainers and perturbations, catalog datasets and suites, protocols."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Annotated

import typer
from rich.table import Table

from forgebench.cli.common import CatalogOption, catalog_from, console, expected_counts
from forgebench.cli.fit import print_fitted
from forgebench.data.catalog import Catalog
from forgebench.evaluation.grids import builtin_grids
from forgebench.evaluation.protocols import load_protocols
from forgebench.plugin import registry


class Kind(str, Enum):
    detectors = "detectors"
    trainers = "trainers"
    perturbations = "perturbations"
    datasets = "datasets"
    suites = "suites"
    protocols = "protocols"


def list_plugins(
    kind: Annotated[Kind | None, typer.Argument(help="What to list (default: everything).")] = None,
    catalog: CatalogOption = None,
) -> None:
    """List detectors (with their cards), trainers, perturbations, datasets, suites or scoring protocols."""
    kinds = [kind] if kind else list(Kind)
    if Kind.detectors in kinds:
        _detectors()
    if Kind.trainers in kinds:
        table = Table("name", "summary", "demo model", title="Trainers (forgebench train NAME)")
        for name, trainer in registry.trainers:
            table.add_row(name, trainer.summary, "yes" if trainer.demo else "no")
        print_fitted(table)
    if Kind.perturbations in kinds:
        _perturbations()
    if Kind.datasets in kinds or Kind.suites in kinds:
        loaded = catalog_from(catalog)
        if Kind.datasets in kinds:
            _datasets(loaded)
        if Kind.suites in kinds:
            table = Table("suite", "datasets", title="Suites")
            for name, members in loaded.suites.items():
                table.add_row(name, ", ".join(members))
            print_fitted(table)
    if Kind.protocols in kinds:
        table = Table("name", "title", "choices", title="Scoring protocols (leaderboard --protocol NAME, explain)")
        for protocol in load_protocols().values():
            table.add_row(protocol.name, protocol.title, "; ".join(protocol.lines()))
        print_fitted(table)


def _detectors() -> None:
    """One card per detector: what it computes, how it maps to probabilities, its options and defaults."""
    console.rule("Detectors")
    for name in registry.detectors.names():
        try:
            plugin = registry.detectors.get(name)
        except Exception as error:  # noqa: BLE001 — one broken plugin must not hide the others
            console.print(f"[bold]{name}[/]  [red]cannot load: {type(error).__name__}: {error}[/]")
            continue
        card = plugin.card
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        rows = {
            "paper": card.paper,
            "probability": card.to_probability,
            "options": _option_defaults(plugin.options),
            "weights": card.weights,
            "weights hash": card.weights_hash,
            "reported": card.reported,
            "memory": card.memory,
            "devices": ", ".join(card.devices),
            "licence": card.licence,
        }
        for key, value in rows.items():
            if value:
                grid.add_row(f"  {key}", value)
        console.print(f"[bold]{name}[/] — {card.summary}", highlight=False)
        console.print(grid, highlight=False)


def _option_defaults(options_type: type) -> str:
    """``key=default`` for each option field (``key=(required)`` without a default)."""
    shown = []
    for field in dataclasses.fields(options_type):
        if field.default is not dataclasses.MISSING:
            value = field.default
        elif field.default_factory is not dataclasses.MISSING:
            value = field.default_factory()
        else:
            value = "(required)"
        shown.append(f"{field.name}={value}")
    return ", ".join(shown) or "none"


def _perturbations() -> None:
    """One card per perturbation: its parameters with defaults, other spellings, and what the settings mean."""
    console.rule("Perturbations (spec: name:key=value,... joined with +, e.g. resize:scale=0.5+jpeg:q=70)")
    for name, plugin in registry.perturbations:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row("  parameters", _option_defaults(plugin.params))
        if plugin.aliases:
            grid.add_row("  also", ", ".join(f"{alias} = {key}" for alias, key in plugin.aliases.items()))
        if plugin.stochastic:
            when = "" if plugin.stochastic is True else " (for some settings, see details)"
            grid.add_row("  random", f"draws from a generator seeded by (seed, image id, spec){when}")
        for index, line in enumerate(plugin.details.splitlines()):
            grid.add_row("  details" if index == 0 else "", line)
        console.print(f"[bold]{name}[/] — {plugin.summary}", highlight=False)
        console.print(grid, highlight=False)
    console.print(f"Grids (forgebench sweep --grid NAME): {', '.join(builtin_grids()['grids'])}", highlight=False)


def _datasets(loaded: Catalog) -> None:
    table = Table(title="Datasets")
    for header in ("name", "title", "role", "root", "expected tampered / authentic", "weight"):
        table.add_column(header, no_wrap=header != "title")
    for name, spec in loaded.datasets.items():
        root = f"generated ({spec.generated['split']})" if spec.generated else spec.root
        expected = expected_counts(spec.expected_tampered, spec.expected_authentic)
        table.add_row(name, spec.title, spec.role, root, expected, str(spec.weight or ""))
    print_fitted(table)
