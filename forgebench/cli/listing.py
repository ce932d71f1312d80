"""``forgebench list``: installed detectors and perturbations, catalog datasets and suites."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.table import Table

from forgebench import registry
from forgebench.catalog import Catalog
from forgebench.cli.common import CatalogOption, catalog_from, console


class Kind(str, Enum):
    detectors = "detectors"
    perturbations = "perturbations"
    datasets = "datasets"
    suites = "suites"


def list_plugins(
    kind: Annotated[Kind | None, typer.Argument(help="What to list (default: everything).")] = None,
    catalog: CatalogOption = None,
) -> None:
    """List detectors (with their cards), perturbations, datasets or suites."""
    kinds = [kind] if kind else list(Kind)
    if Kind.detectors in kinds:
        _detectors()
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
            console.print(table)


def _detectors() -> None:
    table = Table("name", "summary", "to probability", "weights", "devices", "licence", title="Detectors")
    for name in registry.detectors.names():
        try:
            card = registry.detectors.get(name).card
        except Exception as error:  # noqa: BLE001 — one broken plugin must not hide the others
            table.add_row(name, f"[red]cannot load: {type(error).__name__}: {error}[/]", "", "", "", "")
            continue
        summary = card.summary + (f"\n[dim]{card.paper}[/]" if card.paper else "")
        table.add_row(name, summary, card.to_probability, card.weights, ", ".join(card.devices), card.licence)
    console.print(table)


def _perturbations() -> None:
    table = Table("name", "summary", "parameters", title="Perturbations")
    for name, plugin in registry.perturbations:
        params = ", ".join(plugin.params.__dataclass_fields__) or "none"
        table.add_row(name, plugin.summary, params)
    console.print(table)


def _datasets(loaded: Catalog) -> None:
    table = Table("name", "title", "role", "root", "expected (tampered/authentic)", "weight", title="Datasets")
    for name, spec in loaded.datasets.items():
        root = f"generated ({spec.generated['split']})" if spec.generated else spec.root
        expected = f"{spec.expected_tampered or '?'} / {spec.expected_authentic or '?'}"
        table.add_row(name, spec.title, spec.role, root, expected, str(spec.weight or ""))
    console.print(table)
