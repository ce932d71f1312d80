"""A prepared dataset's lock: what was prepared, how, and the SHA-256 of every file, so a copy can be verified.

``<dataset root>/lock.json`` is written by ``datasets prepare``; ``<data root>/forgebench-locks.json`` lists the
datasets prepared under a data root. The lock's *digest* covers the dataset, variant, options, fixes, exclusions and
the content of every file (image bytes; mask pixels, so that two machines whose PNG encoders differ agree), not where
the download lay or when it was prepared: two people who prepared the same download the same way share a digest.
``kinds.csv`` (each image's manipulation kind) is hashed for ``datasets check`` like every file, but it and the
findings about it stay out of the digest: they label images without changing any score, so stored results stay valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LOCK_NAME = "lock.json"
INDEX_NAME = "forgebench-locks.json"
LOCK_FORMAT = 1
KINDS_NAME = "kinds.csv"


class LockError(ValueError):
    """A lock file that cannot be read; the message names it."""


@dataclass(frozen=True)
class Lock:
    """The record of one prepared dataset (see the module docstring)."""

    dataset: str
    variant: str
    options: dict[str, str]
    fixes: list[dict[str, Any]]
    """Each fix or flag applied: ``{"fix": option or finding, "action": what was done, "files": [...]}``."""
    counts: dict[str, int]
    files: dict[str, dict[str, Any]]
    """Relative path → ``{"sha256", "bytes"}``, plus ``"pixels"`` (a digest of the forged pixels) for masks."""
    exclude: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    prepared: str = ""
    forgebench: str = ""
    format: int = LOCK_FORMAT

    @property
    def digest(self) -> str:
        content = {
            path: entry.get("pixels", entry["sha256"]) for path, entry in self.files.items() if path != KINDS_NAME
        }
        fixes = [fix for fix in self.fixes if fix["fix"] != "kind"]
        identity = {
            "dataset": self.dataset, "variant": self.variant, "options": self.options, "fixes": fixes,
            "exclude": sorted((self.exclude or {}).get("images", [])), "files": content,
        }  # fmt: skip
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def read_lock(root: Path) -> Lock | None:
    """The lock of a prepared dataset, or None when ``root`` has none."""
    path = root / LOCK_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != LOCK_FORMAT:
            raise LockError(f"{path}: lock format {data.get('format')!r}, this forgebench reads {LOCK_FORMAT}")
        return Lock(**data)
    except (OSError, json.JSONDecodeError, TypeError, AttributeError) as error:
        raise LockError(f"{path}: not a readable lock ({error}); prepare the dataset again") from None


def write_lock(root: Path, lock: Lock) -> None:
    _write_json(root / LOCK_NAME, asdict(lock))


def record_in_index(data_root: Path, root: Path, lock: Lock) -> None:
    """Add or replace the dataset's line in ``<data root>/forgebench-locks.json``."""
    path = data_root / INDEX_NAME
    try:
        index = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except json.JSONDecodeError:
        index = {}
    index[lock.dataset] = {
        "root": os.path.relpath(root, data_root), "lock": lock.digest, "variant": lock.variant,
        "counts": lock.counts, "prepared": lock.prepared,
    }  # fmt: skip
    _write_json(path, dict(sorted(index.items())))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pixels_digest(forged: np.ndarray) -> str:
    """A digest of a boolean mask's size and pixels, independent of how the file encodes them."""
    header = f"{forged.shape[0]}x{forged.shape[1]}:".encode()
    return hashlib.sha256(header + np.packbits(forged, axis=None).tobytes()).hexdigest()


def verify(lock: Lock, root: Path) -> dict[str, list[str]]:
    """Files that differ from the lock: ``changed`` (other bytes), ``missing`` and ``extra`` (not in the lock)."""
    problems: dict[str, list[str]] = {}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != LOCK_NAME}
    for name, entry in sorted(lock.files.items()):
        path = root / name
        if name not in on_disk:
            problems.setdefault("missing", []).append(name)
        elif path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
            problems.setdefault("changed", []).append(name)
    problems.update({"extra": sorted(on_disk - set(lock.files))} if on_disk - set(lock.files) else {})
    return problems


def _write_json(path: Path, data: Any) -> None:
    """Write through a temporary file and a rename, so a reader never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
        out.write("\n")
    os.replace(temporary, path)
