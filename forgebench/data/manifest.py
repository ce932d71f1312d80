"""A dataset's manifest: its samples found on disk by the catalog's pairing rule, and a hash of them.

Pairing is always by name (or by the dataset's own CSV), never by sorted directory order, so one
stray file cannot shift every pair.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from forgebench.data import paths
from forgebench.data.catalog import CsvPairs, DatasetSpec, FileRule
from forgebench.data.exclusions import ExclusionError, read_exclusions
from forgebench.data.lock import Lock, LockError, read_lock

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}


class DatasetMissingError(FileNotFoundError):
    """A dataset whose files are not where the catalog says."""

    def __init__(self, spec: DatasetSpec, root: Path, reason: str) -> None:
        self.spec, self.root, self.reason = spec, root, reason
        super().__init__(f"{spec.name}: {reason} ({root})")


class UnsafePathError(DatasetMissingError):
    """A file of a dataset that lies outside the dataset's root, which its catalog entry does not allow.

    The dataset is left out of a run like a missing one, with the file named; the other datasets go on.
    """


@dataclass(frozen=True)
class Sample:
    """One image to score: ``image_id`` is ``<dataset>/<path relative to the dataset root>``."""

    dataset: str
    image_id: str
    image: Path
    mask: Path | None
    label: str


@dataclass(frozen=True)
class Manifest:
    """The samples of one dataset plus the files that did not pair."""

    spec: DatasetSpec
    root: Path
    samples: tuple[Sample, ...]
    unpaired_images: tuple[Path, ...] = field(default=())
    unpaired_masks: tuple[Path, ...] = field(default=())
    duplicate_keys: tuple[str, ...] = field(default=())
    lock: Lock | None = None
    """The lock ``datasets prepare`` wrote, when the dataset was prepared."""
    excluded: tuple[str, ...] = field(default=())
    """Image ids left out by the entry's exclusion list."""

    @property
    def unmasked(self) -> tuple[Sample, ...]:
        """The tampered images no mask pairs with, as samples without a mask (a run records each as an error)."""
        return tuple(_sample(self.spec, self.root, image, None, "tampered") for image in self.unpaired_images)

    @property
    def n_tampered(self) -> int:
        return sum(s.label == "tampered" for s in self.samples)

    @property
    def n_authentic(self) -> int:
        return sum(s.label == "authentic" for s in self.samples)

    @property
    def digest(self) -> str:
        """SHA-256 over the mask rule and, per sample, id, label, mask name and image and mask file sizes, plus the
        lock's digest and the excluded ids where there are any.

        It changes when files are added, removed, re-paired or replaced by files of another size, when the catalog
        reads the masks differently and when the dataset is prepared anew from other files or with other options;
        stored results of another digest are not reused.
        """
        rows = [
            (
                s.image_id, s.label, s.mask.relative_to(self.root).as_posix() if s.mask else "", _size(s.image),
                _size(s.mask) if s.mask else 0,
            )
            for s in self.samples
        ]  # fmt: skip
        identity: dict[str, object] = {"forged_if": self.spec.mask_rule.forged_if, "samples": rows}
        if self.lock is not None:
            identity["lock"] = self.lock.digest
        if self.excluded:
            identity["excluded"] = list(self.excluded)
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def dataset_root(spec: DatasetSpec, data_root: Path | None = None) -> Path:
    """Absolute folder of ``spec``: generated datasets live in the cache, others under the data root."""
    if spec.generated:
        from forgebench.data.synthetic import SyntheticConfig, ensure_synthetic

        built = ensure_synthetic(paths.home() / "synthetic", SyntheticConfig(**spec.generated.get("config", {})))
        return built / spec.generated["split"] / spec.generated["kind"]
    root = Path(spec.root).expanduser()
    return root if root.is_absolute() else paths.data_root(data_root) / root


def is_live(spec: DatasetSpec) -> bool:
    """A synthetic dataset drawn afresh at every training draw and never written (see ``forgebench.data.training``)."""
    return bool(spec.generated and spec.generated.get("live"))


def build_manifest(spec: DatasetSpec, data_root: Path | None = None) -> Manifest:
    """Find and pair the files of ``spec``; raises :class:`DatasetMissingError` when there are none."""
    if is_live(spec):
        reason = "drawn afresh at every training draw and never written: train on it, evaluate its fixed split"
        raise DatasetMissingError(spec, Path("<drawn>"), reason)
    root = dataset_root(spec, data_root)
    if not root.is_dir():
        raise DatasetMissingError(spec, root, "folder not found")
    if spec.pairs_csv:
        samples = _csv_samples(spec, root, spec.pairs_csv)
        manifest = Manifest(spec=spec, root=root, samples=tuple(samples))
    else:
        manifest = _rule_manifest(spec, root)
    if not manifest.samples:
        reason = "folder exists but no image matches the catalog's layout"
        if spec.variants:
            reason += f" (prepare it: forgebench datasets prepare {spec.name} --from DOWNLOAD…)"
        raise DatasetMissingError(spec, root, reason)
    if not spec.allow_outside_root:
        _refuse_outside(manifest)
    try:
        lock = None if spec.generated else read_lock(root)
        excluded = read_exclusions(spec.exclude) if spec.exclude else frozenset()
    except (LockError, ExclusionError) as error:
        raise DatasetMissingError(spec, root, str(error)) from None
    kept = tuple(s for s in manifest.samples if s.image_id not in excluded)
    left_out = tuple(sorted(s.image_id for s in manifest.samples if s.image_id in excluded))
    return dataclasses.replace(manifest, samples=kept, lock=lock, excluded=left_out)


def _refuse_outside(manifest: Manifest) -> None:
    """Raise :class:`UnsafePathError` for the first image or mask that resolves outside the dataset root."""
    inside = manifest.root.resolve()
    for sample in manifest.samples:
        for path in (sample.image, sample.mask):
            if path is not None and not path.resolve().is_relative_to(inside):
                raise UnsafePathError(
                    manifest.spec, manifest.root, f"{path} lies outside the dataset root (through '..', an absolute "
                    "path or a symbolic link); set allow_outside_root: true in its catalog entry if that is intended",
                )  # fmt: skip


def _rule_manifest(spec: DatasetSpec, root: Path) -> Manifest:
    masks, duplicate_masks, _ = _index(root, spec.masks) if spec.masks else ({}, [], [])
    tampered_images, duplicate_images, unpaired = _index(root, spec.tampered) if spec.tampered else ({}, [], [])
    samples: list[Sample] = []
    used: set[str] = set()
    for key, image in sorted(tampered_images.items(), key=lambda item: item[1]):
        if key in masks:
            used.add(key)
            samples.append(_sample(spec, root, image, masks[key], "tampered"))
        else:
            unpaired.append(image)
    for image in _files(root, spec.authentic) if spec.authentic else []:
        samples.append(_sample(spec, root, image, None, "authentic"))
    unpaired_masks = tuple(path for key, path in sorted(masks.items()) if key not in used)
    return Manifest(
        spec=spec,
        root=root,
        samples=tuple(samples),
        unpaired_images=tuple(unpaired),
        unpaired_masks=unpaired_masks,
        duplicate_keys=tuple(dict.fromkeys(duplicate_masks + duplicate_images)),
    )


def _files(root: Path, rule: FileRule) -> list[Path]:
    found = {path for pattern in rule.patterns for path in root.glob(pattern) if path.is_file()}
    found -= {path for pattern in rule.exclude for path in root.glob(pattern)}
    return sorted(path for path in found if path.suffix.lower() in IMAGE_SUFFIXES | {".npy", ".npz"})


def _index(root: Path, rule: FileRule) -> tuple[dict[str, Path], list[str], list[Path]]:
    """Key → file for the files of ``rule``, plus the keys seen twice and the files whose stem has no key."""
    pattern = re.compile(rule.key)
    index: dict[str, Path] = {}
    duplicates: list[str] = []
    unmatched: list[Path] = []
    for path in _files(root, rule):
        match = pattern.fullmatch(path.stem)
        if not match:
            unmatched.append(path)
            continue
        key = match.groupdict().get("key", match.group(0))
        if key in index:
            duplicates.append(key)
            continue
        index[key] = path
    return index, duplicates, unmatched


def _csv_samples(spec: DatasetSpec, root: Path, rule: CsvPairs) -> list[Sample]:
    table = root / rule.file
    if not table.is_file():
        raise DatasetMissingError(spec, root, f"pair list {rule.file} not found")
    with table.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=rule.sep))
    for column in (rule.image, rule.mask, *(k for k, _ in rule.where)):
        if rows and column not in rows[0]:
            raise DatasetMissingError(spec, root, f"pair list {table} has no column {column!r}")
    samples = []
    for row in rows:
        if any(row[k] != v for k, v in rule.where):
            continue
        mask = (row.get(rule.mask) or "").strip()
        samples.append(
            _sample(spec, root, root / row[rule.image].strip(), root / mask if mask else None,
                    "tampered" if mask else "authentic")
        )  # fmt: skip
    return samples


def _sample(spec: DatasetSpec, root: Path, image: Path, mask: Path | None, label: str) -> Sample:
    return Sample(
        dataset=spec.name, image_id=f"{spec.name}/{_relative_id(image, root)}", image=image, mask=mask, label=label
    )


def _relative_id(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with "/" separators; a step up (allowed outside files) is written ``^``, so that
    ids, and the map files named after them, never climb out of their folder."""
    return "/".join("^" if part == ".." else part for part in Path(os.path.relpath(path, root)).parts)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1
