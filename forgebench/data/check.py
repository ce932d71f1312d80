"""``forgebench datasets check``: is a dataset where the catalog says, paired and plausible?"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from forgebench.data import paths
from forgebench.data.catalog import DatasetSpec
from forgebench.data.decode import DecodeError, image_size, looks_inverted, read_mask, read_rgb, size_note
from forgebench.data.exclusions import exclusion_record
from forgebench.data.lock import Lock, LockError, record_in_index, verify, write_lock
from forgebench.data.manifest import DatasetMissingError, Manifest, UnsafePathError, build_manifest, is_live
from forgebench.data.training import drawn_images


@dataclass
class DatasetCheck:
    """Findings for one dataset; ``problems`` maps a finding to the files it concerns."""

    name: str
    root: Path | None
    found: bool
    tampered: int = 0
    authentic: int = 0
    expected_tampered: int | None = None
    expected_authentic: int | None = None
    problems: dict[str, list[str]] = field(default_factory=dict)
    lock: str | None = None
    """The digest of the dataset's lock, when it was prepared."""

    @property
    def ok(self) -> bool:
        return self.found and not self.problems

    def add(self, finding: str, item: str) -> None:
        self.problems.setdefault(finding, []).append(item)


def check_dataset(
    spec: DatasetSpec, data_root: Path | None, tick: Callable[[], None] | None = None, decode: bool = False
) -> DatasetCheck:
    """Pair the files, open every mask and every image header (every image in full with ``decode``: truncated
    files show only then), and compare the counts with the catalog."""
    expected = {"expected_tampered": spec.expected_tampered, "expected_authentic": spec.expected_authentic}
    if is_live(spec):  # nothing on disk: the slots are counted and one sample generated
        slots = drawn_images(spec)
        slots[0].read()
        labels = [slot.sample.label for slot in slots]
        counts = {"tampered": labels.count("tampered"), "authentic": labels.count("authentic")}
        return DatasetCheck(spec.name, None, found=True, **counts, **expected)
    try:
        manifest = build_manifest(spec, data_root)
    except UnsafePathError as error:
        result = DatasetCheck(spec.name, error.root, found=True, **expected)
        result.add("file outside the dataset root", error.reason)
        return result
    except DatasetMissingError as error:
        result = DatasetCheck(spec.name, error.root, found=False, **expected)
        result.add(error.reason, str(error.root))
        return result
    result = DatasetCheck(
        spec.name,
        manifest.root,
        found=True,
        tampered=manifest.n_tampered,
        authentic=manifest.n_authentic,
        **expected,
    )
    _check_pairing(manifest, result)
    if manifest.lock is not None:
        _check_lock(manifest, result)
    for sample in manifest.samples:
        if sample.mask is None:
            _check_header(sample.image, result, decode)
        else:
            _check_pair(sample.image, sample.mask, spec, result, decode)
        if tick:
            tick()
    _check_counts(result)
    return result


def _check_pairing(manifest: Manifest, result: DatasetCheck) -> None:
    for path in manifest.unpaired_images:
        result.add("tampered image without mask", _rel(path, manifest.root))
    for path in manifest.unpaired_masks:
        result.add("mask without image", _rel(path, manifest.root))
    for key in manifest.duplicate_keys:
        result.add("two files for one pairing key (the second is not used)", key)


def _check_lock(manifest: Manifest, result: DatasetCheck) -> None:
    """Every file hashed against the lock; the exclusion list compared with the one recorded at prepare time."""
    lock = manifest.lock
    result.lock = lock.digest
    labels = {"changed": "file differs from the lock", "missing": "file in the lock is missing",
              "extra": "file not in the lock"}  # fmt: skip
    for kind, files in verify(lock, manifest.root).items():
        for name in files:
            result.add(labels[kind], name)
    recorded = sorted((lock.exclude or {}).get("images", []))
    current = sorted(manifest.excluded)
    if recorded != current:
        result.add(
            "exclusion list differs from the lock's",
            f"{len(current)} excluded now, {len(recorded)} in the lock: record them with --record-exclusions",
        )


def _check_header(image: Path, result: DatasetCheck, decode: bool) -> None:
    try:
        _size(image, decode)
    except DecodeError as error:
        result.add("unreadable file", str(error))


def _size(image: Path, decode: bool) -> tuple[int, int]:
    return read_rgb(image).shape[:2] if decode else image_size(image)


def _check_pair(image: Path, mask_path: Path, spec: DatasetSpec, result: DatasetCheck, decode: bool) -> None:
    name = _rel(image, result.root)
    try:
        size = _size(image, decode)
        mask = read_mask(mask_path, spec.mask_rule)
    except DecodeError as error:
        result.add("unreadable file", str(error))
        return
    if mask.forged.shape != size:
        result.add("image/mask size mismatch", f"{name}: {size_note(image, size, mask.forged.shape)}")
    if not mask.forged.any():
        result.add("empty mask on a tampered image", name)
    elif looks_inverted(mask):
        result.add("mask looks inverted", f"{name} ({mask.forged_fraction:.0%} forged, border forged)")
    for note in mask.notes:
        result.add(note.split(" (")[0], name)


def _check_counts(result: DatasetCheck) -> None:
    for label, found, expected in (
        ("tampered", result.tampered, result.expected_tampered),
        ("authentic", result.authentic, result.expected_authentic),
    ):
        if expected is not None and found != expected:
            result.add("count differs from expected", f"{label}: {found} found, {expected} expected")


def _rel(path: Path, root: Path | None) -> str:
    try:
        return path.relative_to(root).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def record_exclusions(spec: DatasetSpec, data_root: Path | None) -> Lock:
    """Record the entry's current exclusion list in the dataset's lock, once every file verifies against it."""
    manifest = build_manifest(spec, data_root)
    if manifest.lock is None:
        raise LockError(f"{spec.name}: {manifest.root} has no lock: prepare it first")
    if problems := verify(manifest.lock, manifest.root):
        named = "; ".join(f"{kind}: {', '.join(files[:3])}" for kind, files in problems.items())
        raise LockError(f"{spec.name}: files differ from the lock ({named}); prepare it again instead")
    lock = dataclasses.replace(
        manifest.lock, exclude=exclusion_record(spec.name, spec.exclude, set(manifest.lock.files))
    )
    write_lock(manifest.root, lock)
    record_in_index(paths.data_root(data_root), manifest.root, lock)
    return lock
