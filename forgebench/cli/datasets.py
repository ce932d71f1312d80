"""``forgebench datasets``: prepare benchmarks from their downloads, check them against their locks, describe them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forgebench.cli.audit import audit_command
from forgebench.cli.common import (
    CatalogOption,
    DataRootOption,
    SuiteOption,
    catalog_from,
    console,
    expected_counts,
    fail,
)
from forgebench.cli.fit import print_fitted
from forgebench.data import paths
from forgebench.data.catalog import CatalogError, DatasetSpec
from forgebench.data.check import DatasetCheck, check_dataset
from forgebench.data.check import record_exclusions as record_lock_exclusions
from forgebench.data.lock import LockError, read_lock
from forgebench.data.manifest import DatasetMissingError, dataset_root
from forgebench.data.prepare import Prepared, PrepareError, prepare
from forgebench.data.sources import SourceError

app = typer.Typer(help="Prepare, check, describe and audit benchmark datasets.", no_args_is_help=True)
app.command("audit")(audit_command)


@app.command()
def check(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets to check (default: the suite).")] = None,
    suite: SuiteOption = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
    examples: Annotated[int, typer.Option(help="Files listed per problem.")] = 3,
    decode: Annotated[bool, typer.Option(help="Decode every image in full (finds truncated files; slower).")] = False,
    record_exclusions: Annotated[
        bool, typer.Option(help="Record each entry's exclusion list (exclude: FILE) in its lock, files verified first.")
    ] = False,
) -> None:
    """Check datasets: found/missing, pairs, unpaired files, size mismatches, bad masks, counts.

    Exits with code 1 when any problem is found.
    """
    loaded = catalog_from(catalog)
    try:
        specs = loaded.resolve(suite if suite or names else "all", tuple(names or ()))
    except CatalogError as error:
        fail(str(error))
    console.print(f"Data root: {paths.data_root(data_root)}")
    for spec in specs if record_exclusions else ():
        try:
            lock = record_lock_exclusions(spec, data_root)
            excluded = len((lock.exclude or {}).get("images", []))
            console.print(f"{spec.name}: {excluded} excluded images recorded; lock {lock.digest[:12]}")
        except (LockError, DatasetMissingError) as error:
            console.print(f"[red]{spec.name}[/]: {error}", highlight=False)
    results = []
    with console.status("checking…") as status:
        for spec in specs:
            status.update(f"checking {spec.name}…")
            results.append(check_dataset(spec, data_root, decode=decode))
    print_fitted(_table(results))
    for result in results:
        for problem, items in result.problems.items():
            shown = "; ".join(items[:examples]) + (f"; … ({len(items)} in all)" if len(items) > examples else "")
            console.print(f"[red]{result.name}[/]: {problem}: {shown}", highlight=False)
    if any(not r.found for r in results):
        console.print(
            "Missing datasets: prepare each from its download with `forgebench datasets prepare NAME --from DOWNLOAD…` "
            "(`forgebench datasets info NAME` says where to get it) under the data root (--data-root DIR or "
            "FORGEBENCH_DATA=DIR), or describe your own layout with --catalog FILE."
        )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _table(results: list[DatasetCheck]) -> Table:
    table = Table(
        "dataset", "status", "tampered pairs", "authentic", "expected", "lock", "problems", title="Dataset check"
    )
    for r in results:
        status = "[green]ok[/]" if r.ok else ("[yellow]problems[/]" if r.found else "[red]missing[/]")
        expected = expected_counts(r.expected_tampered, r.expected_authentic)
        problems = ", ".join(f"{k} ({len(v)})" for k, v in r.problems.items()) or "—"
        lock = r.lock[:12] if r.lock else "—"
        table.add_row(r.name, status, str(r.tampered), str(r.authentic), expected, lock, problems)
    return table


@app.command("prepare")
def prepare_command(
    name: Annotated[str, typer.Argument(help="A dataset, or a suite (each of its datasets from the same downloads).")],
    downloads: Annotated[
        list[Path], typer.Option("--from", help="What you downloaded: a zip, tar.*, 7z or folder; repeatable.")
    ],
    variant: Annotated[
        str | None, typer.Option(help="Take the download as this variant (default: recognise it).")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE: a convention or fix; see datasets info.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a dataset prepared before.")] = False,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Lay a benchmark out from its download, in the form the catalog reads, with a lock of every file's SHA-256.

    The download's variant is recognised from its file list; conventions and fixes are named options, recorded in the
    lock. Your files are only read: images are hard-linked (or copied) or extracted, masks written as PNG.
    """
    loaded = catalog_from(catalog)
    try:
        specs = [loaded.dataset(name)] if name in loaded.datasets else [loaded.dataset(n) for n in loaded.suite(name)]
    except CatalogError as error:
        fail(str(error))
    given = dict(_key_value(item) for item in option or ())
    failed = []
    for spec in specs:
        try:
            with console.status(f"preparing {spec.name}…"):
                done = prepare(spec, downloads, data_root, variant=variant, options=given, force=force)
        except (PrepareError, SourceError, OSError) as error:
            console.print(f"[red]{spec.name}[/]: {error}", highlight=False)
            failed.append(spec.name)
            continue
        _print_prepared(spec, done)
    if failed:
        raise typer.Exit(1)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        fail(f"--option {text!r}: expected KEY=VALUE, e.g. --option mask=columbia-green-channel")
    return key.strip(), value.strip()


def _print_prepared(spec: DatasetSpec, done: Prepared) -> None:
    lock = done.lock
    console.print(f"[bold]{spec.name}[/]: variant {lock.variant} → {done.root}", highlight=False)
    how = ", ".join(f"{n} {kind}" for kind, n in done.how.items() if n)
    expected = expected_counts(spec.expected_tampered, spec.expected_authentic)
    console.print(
        f"  {lock.counts['tampered']} tampered + {lock.counts['authentic']} authentic images ({how}); expected "
        f"{expected}" + (f"; {done.unpaired_masks} masks pair with no image" if done.unpaired_masks else ""),
        highlight=False,
    )
    shown = ", ".join(f"{k}={v!r}" if " " in v else f"{k}={v or '—'}" for k, v in lock.options.items())
    console.print(f"  options: {shown}", highlight=False)
    for fix in lock.fixes:
        files = fix["files"]
        shown = "; ".join(files[:3]) + (f"; … ({len(files)} in all)" if len(files) > 3 else "")
        console.print(f"  [yellow]{fix['fix']}[/] → {fix['action']}: {shown}", highlight=False)
    console.print(f"  lock {lock.digest[:12]} written; verify with: forgebench datasets check {spec.name}")


@app.command("info")
def info(
    name: Annotated[str | None, typer.Argument(help="A dataset (default: a table of all).")] = None,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Where a dataset is published, its licence and counts, the variants recognised and the prepare command."""
    loaded = catalog_from(catalog)
    if name is None:
        table = Table("dataset", "role", "expected", "prepared", "where it is published", title="Datasets")
        for spec in loaded.datasets.values():
            if spec.variants:
                expected = expected_counts(spec.expected_tampered, spec.expected_authentic)
                table.add_row(spec.name, spec.role, expected, _prepared(spec, data_root), spec.source)
        print_fitted(table)
        console.print("Details and the prepare command: forgebench datasets info NAME")
        return
    try:
        spec = loaded.dataset(name)
    except CatalogError as error:
        fail(str(error))
    for line in describe(spec, _prepared(spec, data_root)):
        console.print(line, highlight=False, markup=False)


def describe(spec: DatasetSpec, prepared: str) -> list[str]:
    """The lines of ``datasets info NAME``."""
    lines = [
        f"{spec.name}: {spec.title} ({spec.role} set)",
        f"  published: {spec.source or 'unknown'}",
        f"  licence: {spec.licence or 'unknown'}",
        f"  expected: {expected_counts(spec.expected_tampered, spec.expected_authentic)}"
        + (f"; weight in CLUE's tables {spec.weight}" if spec.weight else ""),
        f"  prepared: {prepared}",
    ]
    lines += [f"  notes: {spec.notes}"] if spec.notes else []
    if not spec.variants:
        return [*lines, "  read as it lies (no variants to prepare from)"]
    lines.append("  variants (tried in this order):")
    for variant in spec.variants:
        lines.append(f"    {variant.name}: {variant.about}")
        lines += [f"      needs {glob}  ({what})" for glob, what in variant.requires]
        downloads = " ".join(f'--from "{d}"' for d in variant.downloads)
        lines.append(f"      forgebench datasets prepare {spec.name} {downloads}")
    lines.append("  options (--option KEY=VALUE):")
    for option in spec.options:
        choices = ", ".join(option.choices) + (" or any" if option.free and option.choices else "")
        default = option.default or ("the variant's rule" if option.name == "mask" else "none")
        lines.append(f"    {option.name} (default {default}{'; ' + choices if choices else ''}): {option.about}")
    return lines


def _prepared(spec: DatasetSpec, data_root: Path | None) -> str:
    try:
        lock = read_lock(dataset_root(spec, data_root))
    except LockError as error:
        return str(error)
    return f"lock {lock.digest[:12]} ({lock.variant}, {lock.prepared})" if lock else "no"
