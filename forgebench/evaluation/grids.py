"""Perturbation grids: named sets of points (``grids.yaml``, or a user YAML file) and ad-hoc lists.

A grid is families of points; each family is one panel of the robustness plot and one block of
the robustness table, its points in increasing intensity. Specs are stored as canonical ids, and
the clean point is part of every grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from forgebench.evaluation.perturb import CLEAN, parse_chain
from forgebench.plugin.suggest import unknown_name


class GridError(ValueError):
    """A grid name or file that does not describe a perturbation grid."""


@dataclass(frozen=True)
class Point:
    """One perturbation of a grid: its canonical id and its tick label in the family's panel."""

    spec: str
    label: str


@dataclass(frozen=True)
class Family:
    name: str
    axis: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Grid:
    name: str
    title: str
    source: str
    families: tuple[Family, ...]

    def specs(self) -> list[str]:
        """Every canonical id of the grid, the clean point first, each once."""
        return list(dict.fromkeys([CLEAN, *(p.spec for f in self.families for p in f.points)]))

    def describe(self) -> str:
        lines = [f"{self.name}: {self.title}. {self.source}".strip()]
        for family in self.families:
            lines.append(f"  {family.name} ({family.axis}): " + ", ".join(p.label for p in family.points))
        return "\n".join(lines)


def builtin_grids() -> dict[str, Any]:
    """The ``grids`` and ``aliases`` of the bundled ``grids.yaml``."""
    return yaml.safe_load(resources.files("forgebench.evaluation").joinpath("grids.yaml").read_text(encoding="utf-8"))


def load_grid(name_or_file: str) -> Grid:
    """A bundled grid by name (``imdlbenco``, ``clue``, ``span``, ``osn``, ``demo``) or a YAML file of that shape."""
    path = Path(name_or_file)
    if path.suffix in {".yaml", ".yml"}:
        if not path.is_file():
            raise GridError(f"grid file {path} does not exist")
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise GridError(f"{path}: not valid YAML: {error}") from None
        entries = (document or {}).get("grids") if isinstance(document, dict) else None
        if not isinstance(entries, dict) or len(entries) != 1:
            raise GridError(f"{path}: expected `grids:` with exactly one grid")
        (name, entry), origin = next(iter(entries.items())), str(path)
    else:
        bundled = builtin_grids()
        name = bundled.get("aliases", {}).get(name_or_file, name_or_file)
        if name not in bundled["grids"]:
            raise GridError(unknown_name("grid", name_or_file, list(bundled["grids"])) + " (or give a .yaml file)")
        entry, origin = bundled["grids"][name], "grids.yaml"
    return _grid(name, entry, origin)


def adhoc_grid(specs: Sequence[str]) -> Grid:
    """A grid of the given specs, one family per perturbation kind (the step names, e.g. ``resize+jpeg``)."""
    families: dict[str, list[Point]] = {}
    for spec in specs:
        chain = parse_chain(spec)
        if not chain.is_clean:
            kind = "+".join(step.name for step in chain.steps)
            families.setdefault(kind, []).append(Point(chain.canonical_id, chain.canonical_id))
    return Grid(
        name="custom",
        title="Ad-hoc perturbations",
        source="given on the command line",
        families=tuple(Family(kind, "perturbation", tuple(points)) for kind, points in families.items()),
    )


def covering_grids(specs: Sequence[str]) -> list[Grid]:
    """The largest bundled grids all of whose points are among ``specs``, then an ad-hoc grid of the others.

    A covered grid that is part of another covered grid (``osn`` of ``demo``) is left out.
    """
    stored = set(specs)
    grids = [grid for name in builtin_grids()["grids"] if set((grid := load_grid(name)).specs()) <= stored]
    covering = [g for g in grids if not any(set(g.specs()) < set(other.specs()) for other in grids)]
    covered = {spec for grid in covering for spec in grid.specs()}
    adhoc = adhoc_grid([spec for spec in specs if spec not in covered])
    return covering + ([adhoc] if adhoc.families else [])


def _grid(name: str, entry: Any, origin: str) -> Grid:
    where = f"{origin}: grid {name}"
    if not isinstance(entry, dict) or not isinstance(entry.get("families"), dict):
        raise GridError(f"{where}: expected a mapping with `families:`")
    families = []
    for family, body in entry["families"].items():
        if not isinstance(body, dict) or not {"spec", "values"} <= set(body):
            raise GridError(f"{where}: family {family} needs `spec` and `values`")
        values = list(body["values"])
        labels = [str(label) for label in body.get("labels", values)]
        if len(labels) != len(values):
            raise GridError(f"{where}: family {family} has {len(values)} values but {len(labels)} labels")
        points = []
        for value, label in zip(values, labels, strict=True):
            text = str(body["spec"]).format(value)
            try:
                points.append(Point(parse_chain(text).canonical_id, label))
            except (LookupError, ValueError) as error:
                raise GridError(f"{where}: family {family}: {text!r}: {error}") from None
        families.append(Family(str(family), str(body.get("axis", family)), tuple(points)))
    return Grid(name, str(entry.get("title", name)), str(entry.get("source", "")).strip(), tuple(families))
