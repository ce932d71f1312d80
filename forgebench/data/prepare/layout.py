"""Laying a planned dataset out under the data root, converting its masks, and writing its lock.

Everything is written into a temporary folder beside the dataset's root and renamed into place at the end, so a
dataset is never read half prepared. Images keep their bytes: a file of a folder is hard-linked where the file system
allows and copied otherwise (the user's file is never moved or written), a member of an archive is extracted. Masks
are written as 8-bit PNG, 255 = forged, by the named mask rule.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from PIL import Image

from forgebench.data import paths
from forgebench.data.catalog import DatasetSpec
from forgebench.data.decode import DecodeError, Mask, MaskRule, image_size, looks_inverted, read_mask
from forgebench.data.exclusions import exclusion_record
from forgebench.data.lock import LOCK_NAME, Lock, file_sha256, pixels_digest, read_lock, record_in_index, write_lock
from forgebench.data.manifest import dataset_root
from forgebench.data.prepare.plan import Pair, Plan, PrepareError, choose_variant, plan_pairs, resolve_options
from forgebench.data.rules import glob_regex
from forgebench.data.sources import Source, materialise, merged, open_source


@dataclass
class Prepared:
    """What ``prepare`` did: the lock it wrote and how the files got there."""

    root: Path
    lock: Lock
    how: dict[str, int] = field(default_factory=dict)
    """"linked", "copied", "extracted": the images laid out each way."""
    unpaired_masks: int = 0


def prepare(
    spec: DatasetSpec,
    downloads: list[Path],
    data_root: Path | None = None,
    *,
    variant: str | None = None,
    options: dict[str, str] | None = None,
    force: bool = False,
    tick: Callable[[], None] | None = None,
) -> Prepared:
    """Recognise ``downloads`` as one of ``spec``'s variants and lay the dataset out where the catalog reads it."""
    sources = [open_source(path) for path in downloads]
    files = merged(sources)
    chosen = choose_variant(spec, sorted(files), variant)
    values = resolve_options(spec, chosen, options or {})
    root = dataset_root(spec, data_root)
    _refuse_to_replace(root, force)
    work = root.with_name(f".{root.name}.preparing-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    (work / "staging").mkdir(parents=True)
    try:
        csv_text = _pair_list(chosen.pairs_csv.file, files, work) if chosen.pairs_csv else None
        plan = plan_pairs(chosen, sorted(files), values, csv_text)
        _check_known_hashes(chosen.sha256, files, work)
        wanted = {p: files[p] for pair in plan.pairs for p in (pair.image, *pair.masks)}
        local = materialise(wanted, work / "staging")
        how = _lay_out(plan, local, work, tick)
        shutil.rmtree(work / "staging")
        lock = _lock(spec, plan, sources, work)
        write_lock(work, lock)
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record_in_index(paths.data_root(data_root), root, lock)
    return Prepared(root, lock, how, len(plan.unpaired_masks))


def _refuse_to_replace(root: Path, force: bool) -> None:
    if not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return
    if not (root / LOCK_NAME).is_file():
        raise PrepareError(f"{root} exists and was not prepared by forgebench (no {LOCK_NAME}): move it away first")
    if not force:
        raise PrepareError(f"{root} is already prepared (lock {read_lock(root).digest[:12]}); --force replaces it")


def _pair_list(glob: str, files: dict[str, Source], work: Path) -> str:
    listed = [name for name in files if glob_regex(glob).fullmatch(name)]
    if len(listed) != 1:
        raise PrepareError(f"expected one pair list matching {glob!r}, found {len(listed)}: {listed[:3]}")
    path, _ = materialise({listed[0]: files[listed[0]]}, work / "staging" / "list")[listed[0]]
    return path.read_text(encoding="utf-8-sig")


def _check_known_hashes(known: tuple[tuple[str, str], ...], files: dict[str, Source], work: Path) -> None:
    for glob, expected in known:
        matches = [name for name in files if glob_regex(glob).fullmatch(name)]
        if len(matches) != 1:
            raise PrepareError(f"the variant's known file {glob!r} matches {len(matches)} files, not one")
        path, _ = materialise({matches[0]: files[matches[0]]}, work / "staging" / "known")[matches[0]]
        if (found := file_sha256(path)) != expected:
            raise PrepareError(f"{matches[0]} has SHA-256 {found}, not the {expected} of this variant")


def _lay_out(plan: Plan, local: dict[str, tuple[Path, bool]], work: Path, tick: Callable[[], None] | None) -> dict:
    how = {"linked": 0, "copied": 0, "extracted": 0}
    findings: dict[str, list[str]] = {}
    for folder in ("images", "masks", "authentic"):
        (work / folder).mkdir()
    for pair in plan.pairs:
        if pair.masks and not _write_mask(pair, plan.options, local, work, findings):
            continue
        how[_place(*local[pair.image], work / pair.name)] += 1
        if tick:
            tick()
    for finding, files in findings.items():
        fix, _, action = finding.partition(":")
        plan.fix(fix, action, files)
    return how


def _write_mask(
    pair: Pair, options: dict[str, str], local: dict[str, tuple[Path, bool]], work: Path, findings: dict
) -> bool:
    """Convert, union and check the pair's masks and write ``masks/<stem>.png``; False when the pair is left out."""
    rule = MaskRule(options["mask"])
    try:
        forged = np.logical_or.reduce([read_mask(local[m][0], rule).forged for m in pair.masks])
        size = image_size(local[pair.image][0])
    except DecodeError:
        findings.setdefault("unreadable:drop", []).append(pair.name)
        return False
    if forged.shape != size:
        action = options["mismatch"]
        findings.setdefault(f"mismatch:{action}", []).append(
            f"{pair.name} (image {size[1]}×{size[0]}, mask {forged.shape[1]}×{forged.shape[0]})"
        )
        if action == "drop":
            return False
        if action == "resize-nearest":
            forged = cv2.resize(forged.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST) > 0
    if not forged.any():
        findings.setdefault("empty-mask:flag", []).append(pair.name)
    elif looks_inverted(Mask(forged)):
        findings.setdefault("looks-inverted:flag", []).append(pair.name)
    path = work / "masks" / f"{PurePosixPath(pair.name).stem}.png"
    Image.fromarray(forged.astype(np.uint8) * 255).save(path)
    return True


def _place(path: Path, users: bool, target: Path) -> str:
    if not users:
        os.replace(path, target)
        return "extracted"
    try:
        os.link(path, target)
        return "linked"
    except OSError:
        shutil.copyfile(path, target)
        return "copied"


def _lock(spec: DatasetSpec, plan: Plan, sources: list[Source], work: Path) -> Lock:
    files = {}
    for path in sorted(p for p in work.rglob("*") if p.is_file()):
        name = path.relative_to(work).as_posix()
        files[name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        if name.startswith("masks/"):
            files[name]["pixels"] = pixels_digest(np.asarray(Image.open(path)) > 127)
    counts = {
        "tampered": sum(p.label == "tampered" for p in plan.pairs if (work / p.name).exists()),
        "authentic": sum(p.label == "authentic" for p in plan.pairs if (work / p.name).exists()),
    }
    options = dict(plan.options)
    if options["subset"]:
        subset = Path(options["subset"])
        options["subset"] = f"{subset.name} sha256:{file_sha256(subset)}"
    return Lock(
        dataset=spec.name,
        variant=plan.variant.name,
        options=options,
        fixes=plan.fixes,
        counts=counts,
        files=files,
        exclude=exclusion_record(spec.name, spec.exclude, set(files)),
        sources=[{"path": str(s.path.resolve()), "kind": s.kind, "bytes": _size(s.path)} for s in sources],
        prepared=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        forgebench=version("forgebench"),
    )


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
