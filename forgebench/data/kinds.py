"""Manipulation kinds recorded with a prepared dataset: ``<dataset root>/kinds.csv``, one image path and kind a row.

``datasets prepare`` writes it where the download's pair list names each image's kind (NIST16's reference CSV). The
lock hashes it like every other file, so ``datasets check`` verifies it; ``leaderboard --by kind`` reads it before
the catalog's file-name prefixes.
"""

from __future__ import annotations

import csv
from pathlib import Path

from forgebench.data.catalog import DatasetSpec
from forgebench.data.lock import KINDS_NAME
from forgebench.data.manifest import dataset_root

__all__ = ["KINDS_NAME", "KindsError", "read_kinds", "write_kinds"]


class KindsError(ValueError):
    """A kinds file that cannot be read; the message names it."""


def write_kinds(root: Path, kinds: dict[str, str]) -> None:
    """Write ``kinds.csv`` (paths relative to ``root``) under ``root``."""
    with (root / KINDS_NAME).open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["image", "kind"])
        writer.writerows(sorted(kinds.items()))


def read_kinds(spec: DatasetSpec, data_root: Path | None = None) -> dict[str, str]:
    """Image id (``<dataset>/<path>``) → kind from the prepared copy's ``kinds.csv``; empty where there is none (and
    for a dataset not read in the prepared form)."""
    if spec.generated or not spec.variants:
        return {}
    path = dataset_root(spec, data_root) / KINDS_NAME
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != ["image", "kind"] or any(len(row) != 2 for row in rows[1:]):
        raise KindsError(f"{path}: not a kinds file (columns image,kind); prepare the dataset again")
    return {f"{spec.name}/{image}": kind for image, kind in rows[1:]}
