"""The dataset catalog: ``datasets.yaml`` (plus user catalog files) → dataset specs and suites.

The catalog is data. A user adds datasets or suites with a YAML file of the same shape passed as
``--catalog FILE``; its entries are added to (or replace) the built-in ones.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from forgebench.data.decode import MaskRule
from forgebench.data.rules import CsvPairs, FileRule, csv_pairs, file_rule
from forgebench.data.variants import Option, Variant, parse_options, parse_variant
from forgebench.plugin.suggest import unknown_name

PREPARED_FORM: dict[str, Any] = {
    "tampered": {"images": ["images/*"]},
    "masks": {"files": ["masks/*.png"], "forged_if": "> 127"},
    "authentic": {"images": ["authentic/*"]},
}
"""How an entry without reading rules is read: the form ``datasets prepare`` writes (255 = forged, one mask per image,
paired by file stem). The folder is the entry's ``root``, by default its name, under the data root."""


class CatalogError(ValueError):
    """A catalog file that does not describe datasets the way forgebench needs."""


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset as the catalog declares it."""

    name: str
    title: str
    role: str
    root: str
    mask_rule: MaskRule
    tampered: FileRule | None = None
    masks: FileRule | None = None
    authentic: FileRule | None = None
    pairs_csv: CsvPairs | None = None
    generated: dict[str, Any] | None = None
    expected_tampered: int | None = None
    expected_authentic: int | None = None
    weight: int | None = None
    source: str = ""
    notes: str = ""
    allow_outside_root: bool = False
    """Let files (through ``..``, absolute CSV paths or symbolic links) lie outside the dataset's root."""
    licence: str = ""
    variants: tuple[Variant, ...] = ()
    """The published forms ``datasets prepare`` recognises, in the order they are tried."""
    options: tuple[Option, ...] = ()
    """``prepare``'s options with this dataset's defaults and choices."""
    exclude: Path | None = None
    """A list of image ids (``datasets audit`` writes one) left out of the dataset."""
    kinds: tuple[tuple[str, str], ...] = ()
    """Manipulation type by file-name prefix, ((prefix, kind), …); the prefix "" names the kind of every image."""
    matrix_of: tuple[str, str, str] | None = None
    """For an entry expanded from a one-variable ``matrix``: (entry name without the variable, variable, value),
    e.g. ``("casia1", "osn", "facebook")`` for ``casia1-{osn}``; tables group such datasets like CLUE's Table 2."""


@dataclass(frozen=True)
class Catalog:
    """All datasets and suites known to a run."""

    datasets: dict[str, DatasetSpec]
    suites: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise CatalogError(unknown_name("dataset", name, self.datasets))
        return self.datasets[name]

    def suite(self, name: str) -> tuple[str, ...]:
        if name not in self.suites:
            raise CatalogError(unknown_name("suite", name, self.suites))
        return self.suites[name]

    def resolve(self, suite: str | None, datasets: tuple[str, ...] = ()) -> list[DatasetSpec]:
        """The datasets named directly plus those of ``suite``, in order, without repeats."""
        names = list(datasets) + (list(self.suite(suite)) if suite else [])
        return [self.dataset(name) for name in dict.fromkeys(names)]


def builtin_catalog_text() -> str:
    return resources.files("forgebench.data").joinpath("datasets.yaml").read_text(encoding="utf-8")


def load_catalog(extra_files: tuple[Path, ...] = ()) -> Catalog:
    """The built-in catalog, extended (and overridden) by ``extra_files`` in order."""
    documents = [("datasets.yaml (built-in)", yaml.safe_load(builtin_catalog_text()))]
    for path in extra_files:
        try:
            documents.append((str(path), yaml.safe_load(path.read_text(encoding="utf-8"))))
        except FileNotFoundError:
            raise CatalogError(f"Catalog file not found: {path}") from None
        except yaml.YAMLError as error:
            raise CatalogError(f"Catalog file {path} is not valid YAML: {error}") from None
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    layouts: dict[str, dict[str, Any]] = {}
    overrides: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    suites: dict[str, tuple[str, ...]] = {}
    for origin, document in documents:
        if not isinstance(document, dict):
            raise CatalogError(f"{origin}: expected a mapping with 'datasets', 'suites', 'layouts' and/or 'overrides'")
        folder = Path(origin).resolve().parent if origin in map(str, extra_files) else Path.cwd()
        layouts.update(document.get("layouts") or {})
        for name, entry in (document.get("datasets") or {}).items():
            entries[name] = (origin, _with_exclude_path(entry, folder))
        for name, changes in (document.get("overrides") or {}).items():
            overrides.setdefault(name, []).append((origin, _with_exclude_path(changes, folder)))
        for name, members in (document.get("suites") or {}).items():
            suites[name] = tuple(members)
    datasets: dict[str, DatasetSpec] = {}
    for name, (origin, entry) in entries.items():
        entry = _overridden(entry, overrides.pop(name, []))
        for expanded_name, expanded, variant in _expand_matrix(name, entry, origin):
            expanded = _overridden(expanded, overrides.pop(expanded_name, []))
            spec = _dataset_spec(expanded_name, expanded, origin, layouts)
            datasets[expanded_name] = dataclasses.replace(spec, matrix_of=variant)
    for name, [(origin, _), *_] in overrides.items():
        raise CatalogError(f"{origin}: overrides names unknown dataset or catalog entry {name!r}")
    for suite, members in suites.items():
        for member in members:
            if member not in datasets:
                raise CatalogError(f"suite {suite!r} names unknown dataset {member!r}")
    return Catalog(datasets=datasets, suites=suites)


def _expand_matrix(
    name: str, entry: dict[str, Any], origin: str
) -> list[tuple[str, dict[str, Any], tuple[str, str, str] | None]]:
    """Expand ``matrix: {var: {value_in_name: value_in_paths, ...}}`` into one entry per combination.

    Each comes with its :attr:`DatasetSpec.matrix_of` when the matrix has one variable, else None.
    """
    matrix = entry.get("matrix") if isinstance(entry, dict) else None
    if not matrix:
        return [(name, entry, None)]
    variables = list(matrix)
    expanded = []
    for combination in itertools.product(*(matrix[v].items() for v in variables)):
        in_name = {v: pair[0] for v, pair in zip(variables, combination, strict=True)}
        in_text = {v: pair[1] for v, pair in zip(variables, combination, strict=True)}
        body = {k: _substitute(v, in_text, in_name, origin) for k, v in entry.items() if k != "matrix"}
        variant = None
        if len(variables) == 1:
            base = name.replace("{" + variables[0] + "}", "").strip("-_ ") or name
            variant = (base, variables[0], in_name[variables[0]])
        expanded.append((name.format(**in_name), body, variant))
    return expanded


def _substitute(value: Any, in_text: dict[str, str], in_name: dict[str, str], origin: str) -> Any:
    if isinstance(value, str):
        try:
            return value.format(**in_text, **{f"{k}_name": v for k, v in in_name.items()})
        except (KeyError, IndexError) as error:
            raise CatalogError(f"{origin}: unknown placeholder {error} in {value!r}") from None
    if isinstance(value, list):
        return [_substitute(v, in_text, in_name, origin) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, in_text, in_name, origin) for k, v in value.items()}
    return value


def _overridden(entry: dict[str, Any], changes: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """``entry`` with the keys of each ``overrides:`` block that names it (an entry, or one dataset of a matrix)."""
    for _, keys in changes:
        entry = {**entry, **keys}
    return entry


def _with_exclude_path(entry: Any, folder: Path) -> Any:
    """``exclude:`` read relative to the folder of the catalog file that names it."""
    if isinstance(entry, dict) and entry.get("exclude"):
        return {**entry, "exclude": str(folder / Path(entry["exclude"]).expanduser())}
    return entry


def _dataset_spec(name: str, entry: dict[str, Any], origin: str, layouts: dict[str, Any]) -> DatasetSpec:
    where = f"{origin}: dataset {name!r}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} must be a mapping")
    known = {
        "title", "role", "root", "tampered", "masks", "authentic", "pairs_csv", "generated", "expected", "weight",
        "source", "notes", "allow_outside_root", "licence", "variants", "options", "exclude", "kinds",
    }  # fmt: skip
    unknown = set(entry) - known
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
    own_rules = [k for k in ("tampered", "masks", "authentic", "pairs_csv", "generated") if entry.get(k)]
    if entry.get("variants") and own_rules:
        raise CatalogError(
            f"{where}: an entry with variants is read in the form prepare writes; drop its {', '.join(own_rules)} "
            "(or its variants, to read the files as they lie)"
        )
    if isinstance(entry.get("pairs_csv"), dict) and entry["pairs_csv"].get("kinds"):
        raise CatalogError(
            f"{where}: pairs_csv kinds are read by datasets prepare (a variant's pair list); name a dataset read as "
            "it lies by file-name prefix with the entry's own 'kinds'"
        )
    if not own_rules:
        entry = {**PREPARED_FORM, **entry}
    masks = entry.get("masks") or {}
    expected = entry.get("expected") or {}
    try:
        return DatasetSpec(
            name=name,
            title=entry.get("title", name),
            role=entry.get("role", "test"),
            root=str(entry.get("root", "" if entry.get("generated") else name)),
            mask_rule=MaskRule(str(masks.get("forged_if", "> 127"))),
            tampered=file_rule(entry.get("tampered"), "images"),
            masks=file_rule(masks, "files") if masks.get("files") else None,
            authentic=file_rule(entry.get("authentic"), "images"),
            pairs_csv=csv_pairs(entry.get("pairs_csv")),
            generated=entry.get("generated"),
            expected_tampered=expected.get("tampered"),
            expected_authentic=expected.get("authentic"),
            weight=entry.get("weight"),
            source=entry.get("source", ""),
            notes=entry.get("notes", ""),
            allow_outside_root=bool(entry.get("allow_outside_root", False)),
            licence=str(entry.get("licence", "")),
            variants=tuple(_variant(item, layouts, where) for item in entry.get("variants") or ()),
            options=tuple(parse_options(entry.get("options"), where).values()),
            exclude=Path(entry["exclude"]) if entry.get("exclude") else None,
            kinds=_kinds(entry.get("kinds")),
        )
    except (TypeError, ValueError) as error:
        raise CatalogError(f"{where}: {error}") from None


def _variant(item: str | dict[str, Any], layouts: dict[str, Any], where: str) -> Variant:
    """A variant written in the entry (a mapping with its ``name``), or a shared layout named by a string."""
    if isinstance(item, str):
        if item not in layouts:
            raise CatalogError(unknown_name(f"layout (in {where})", item, layouts))
        return parse_variant(item, layouts[item], where)
    body = {k: v for k, v in item.items() if k != "name"}
    if "name" not in item:
        raise CatalogError(f"{where}: every variant needs a 'name'")
    return parse_variant(str(item["name"]), body, where)


def _kinds(entry: str | dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    """``kinds: splice`` (every image) or ``kinds: {Sp_D_: splice, Sp_S_: copy-move}`` (by file-name prefix)."""
    if not entry:
        return ()
    if isinstance(entry, str):
        return (("", entry),)
    if not isinstance(entry, dict):
        raise ValueError(f"kinds must be one kind or a mapping of file-name prefix → kind, got {entry!r}")
    return tuple((str(k), str(v)) for k, v in entry.items())
