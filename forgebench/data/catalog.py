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
from forgebench.plugin.suggest import unknown_name


class CatalogError(ValueError):
    """A catalog file that does not describe datasets the way forgebench needs."""


@dataclass(frozen=True)
class FileRule:
    """Which files of a dataset play a role, and the name key that pairs them.

    ``patterns`` are globs relative to the dataset root, minus those matching an ``exclude`` glob;
    ``key`` is a regular expression matched in full against the file's stem whose group ``key``
    (or the whole match) is the pairing key.
    """

    patterns: tuple[str, ...]
    key: str = "(?P<key>.+)"
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class CsvPairs:
    """Pairs listed in a CSV file of the dataset (``image``/``mask`` columns, paths relative to the root)."""

    file: str
    image: str = "image"
    mask: str = "mask"
    sep: str = ","
    where: tuple[tuple[str, str], ...] = ()


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
    variant: tuple[str, str, str] | None = None
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
    datasets: dict[str, DatasetSpec] = {}
    suites: dict[str, tuple[str, ...]] = {}
    for origin, document in documents:
        if not isinstance(document, dict):
            raise CatalogError(f"{origin}: expected a mapping with 'datasets' and/or 'suites'")
        for name, entry in (document.get("datasets") or {}).items():
            for expanded_name, expanded, variant in _expand_matrix(name, entry, origin):
                spec = _dataset_spec(expanded_name, expanded, origin)
                datasets[expanded_name] = dataclasses.replace(spec, variant=variant)
        for name, members in (document.get("suites") or {}).items():
            suites[name] = tuple(members)
    for suite, members in suites.items():
        for member in members:
            if member not in datasets:
                raise CatalogError(f"suite {suite!r} names unknown dataset {member!r}")
    return Catalog(datasets=datasets, suites=suites)


def _expand_matrix(
    name: str, entry: dict[str, Any], origin: str
) -> list[tuple[str, dict[str, Any], tuple[str, str, str] | None]]:
    """Expand ``matrix: {var: {value_in_name: value_in_paths, ...}}`` into one entry per combination.

    Each comes with its :attr:`DatasetSpec.variant` when the matrix has one variable, else None.
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


def _dataset_spec(name: str, entry: dict[str, Any], origin: str) -> DatasetSpec:
    where = f"{origin}: dataset {name!r}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} must be a mapping")
    known = {
        "title", "role", "root", "tampered", "masks", "authentic", "pairs_csv", "generated",
        "expected", "weight", "source", "notes", "allow_outside_root",
    }  # fmt: skip
    unknown = set(entry) - known
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
    if "root" not in entry and "generated" not in entry:
        raise CatalogError(f"{where} needs a 'root' (folder relative to the data root, or absolute)")
    masks = entry.get("masks") or {}
    expected = entry.get("expected") or {}
    try:
        return DatasetSpec(
            name=name,
            title=entry.get("title", name),
            role=entry.get("role", "test"),
            root=str(entry.get("root", "")),
            mask_rule=MaskRule(str(masks.get("forged_if", "> 127"))),
            tampered=_file_rule(entry.get("tampered"), "images"),
            masks=_file_rule(masks, "files") if masks.get("files") else None,
            authentic=_file_rule(entry.get("authentic"), "images"),
            pairs_csv=_csv_pairs(entry.get("pairs_csv")),
            generated=entry.get("generated"),
            expected_tampered=expected.get("tampered"),
            expected_authentic=expected.get("authentic"),
            weight=entry.get("weight"),
            source=entry.get("source", ""),
            notes=entry.get("notes", ""),
            allow_outside_root=bool(entry.get("allow_outside_root", False)),
        )
    except (TypeError, ValueError) as error:
        raise CatalogError(f"{where}: {error}") from None


def _file_rule(entry: dict[str, Any] | None, patterns_key: str) -> FileRule | None:
    if not entry:
        return None
    patterns = entry[patterns_key]
    patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    exclude = entry.get("exclude", ())
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    return FileRule(patterns=patterns, key=entry.get("key", "(?P<key>.+)"), exclude=exclude)


def _csv_pairs(entry: dict[str, Any] | None) -> CsvPairs | None:
    if not entry:
        return None
    where = tuple((str(k), str(v)) for k, v in (entry.get("where") or {}).items())
    return CsvPairs(**{k: v for k, v in entry.items() if k != "where"}, where=where)
