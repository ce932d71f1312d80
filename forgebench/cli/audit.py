"""``forgebench datasets audit``: exact and near copies within and across the test sets and the training sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forgebench.cli.common import CatalogOption, DataRootOption, catalog_from, console, fail
from forgebench.data.audit import AuditReport, audit, write_exclusions
from forgebench.data.catalog import CatalogError
from forgebench.data.manifest import DatasetMissingError, build_manifest
from forgebench.render.progress import progress_bars


def audit_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Datasets to audit (default: the --suite and --train).")
    ] = None,
    suite: Annotated[str, typer.Option("--suite", "-s", help="Test suite audited.")] = "all",
    train: Annotated[
        str, typer.Option(help="Suite of training sets audited against the tests ('' for none).")
    ] = "train",
    write: Annotated[
        Path | None, typer.Option(help="Write the exclusion list (catalog key exclude: FILE) here.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes decoding and hashing images.")] = 1,
    shown: Annotated[int, typer.Option(help="Groups printed in full.")] = 20,
    data_root: DataRootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Find the same photograph twice: exact copies (SHA-256) and near copies (pHash, verified on thumbnails),
    within a dataset, across the test sets and between the test sets and the training sets."""
    loaded = catalog_from(catalog)
    try:
        specs = (
            [loaded.dataset(n) for n in names] if names else loaded.resolve(suite, loaded.suite(train) if train else ())
        )
    except CatalogError as error:
        fail(str(error))
    manifests = []
    for spec in specs:
        try:
            manifests.append(build_manifest(spec, data_root))
        except DatasetMissingError as error:
            console.print(f"[yellow]not audited[/]: {error}", highlight=False)
    if not manifests:
        fail("no dataset to audit is on disk (see forgebench datasets info)")
    with progress_bars(console) as bars:
        advance = bars("audit", sum(len(m.samples) for m in manifests), 0)
        report = audit(manifests, workers=workers, tick=lambda: advance(1))
    _print(report, shown)
    if write is not None:
        excluded = write_exclusions(report, write)
        console.print(f"Wrote {len(excluded)} ids to {write}.")
        datasets = sorted({image_id.split("/", 1)[0] for image_id in excluded})
        if datasets:
            console.print("Apply it with a catalog file passed as --catalog, then record it in the locks:")
            console.print("overrides:\n" + "".join(f"  {d}: {{exclude: {write.resolve()}}}\n" for d in datasets))
            console.print(f"forgebench datasets check {' '.join(datasets)} --catalog FILE --record-exclusions")


def _print(report: AuditReport, shown: int) -> None:
    megabytes = report.bytes_read / 1e6
    seconds = report.fingerprint_seconds + report.match_seconds
    console.print(
        f"Audited {report.images} images ({megabytes:.1f} MB) of {len(report.datasets)} datasets in {seconds:.1f} s: "
        f"{len(report.groups)} groups of copies, {len(report.unreadable)} unreadable images.",
        highlight=False,
    )
    for number, group in enumerate(report.groups[:shown], 1):
        console.print(f"[bold]{number}.[/] {group.scope}: keep {group.kept.image_id}", highlight=False)
        for member in group.members[1:]:
            verb = "exclude" if member in group.excluded else "beside"
            console.print(f"     {verb} {member.image_id} ({member.match} to {member.matched_to})", highlight=False)
    if len(report.groups) > shown:
        console.print(f"… and {len(report.groups) - shown} more groups (--shown N, or --write FILE for all).")
    for item in report.unreadable:
        console.print(f"[red]unreadable[/]: {item.image_id}: {item.message}", highlight=False)
