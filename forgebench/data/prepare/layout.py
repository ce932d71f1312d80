"""Laying a planned dataset out under the data root, converting its masks, and writing its lock.

Everything is written into a temporary folder beside the dataset's root and renamed into place at the end, so a
dataset is never read half prepared. Images keep their bytes: a file of a folder is hard-linked where the file system
allows and copied otherwise (the user's file is never moved or written), a member of an archive is extracted. Masks
are written as 8-bit PNG, 255 = forged, by the named mask rule.
"""

from __future__ import annotations

import errno
import os
import shutil
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
from forgebench.data.exclusions import ExclusionError, exclusion_record, read_exclusions
from forgebench.data.kinds import write_kinds
from forgebench.data.lock import Lock, LockError, file_sha256, pixels_digest, read_lock, record_in_index, write_lock
from forgebench.data.manifest import dataset_root
from forgebench.data.prepare.plan import Pair, Plan, PrepareError, choose_variant, plan_pairs, resolve_options
from forgebench.data.rules import glob_regex
from forgebench.data.sources import Source, materialise, merged, open_source
from forgebench.data.variants import Variant


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
) -> Prepared:
    """Recognise ``downloads`` as one of ``spec``'s variants and lay the dataset out where the catalog reads it.

    Raises :class:`PrepareError` (or :class:`~forgebench.data.sources.SourceError`) naming what is wrong.
    """
    sources = [open_source(path) for path in downloads]
    files, clashes = merged(sources)
    root = dataset_root(spec, data_root)
    _refuse_to_replace(spec, root, force)
    work = root.with_name(f".{root.name}.preparing-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    (work / "staging").mkdir(parents=True)
    try:
        if spec.exclude is not None:
            read_exclusions(spec.exclude)  # a bad list fails now, not after the layout
        chosen = choose_variant(spec, sorted(files), variant, lambda v: _known_hashes_differ(v, files, work))
        values = resolve_options(spec, chosen, options or {})
        pair_list = _one_file(chosen.pairs_csv.file, files, work) if chosen.pairs_csv else None
        csv_text = pair_list.read_text(encoding="utf-8-sig") if pair_list else None  # a BOM is not a column name
        plan = plan_pairs(chosen, sorted(files), values, csv_text)
        wanted = {p: files[p] for pair in plan.pairs for p in (pair.image, *pair.masks)}
        if used := sorted(set(wanted) & set(clashes)):
            raise PrepareError(f"{used[0]} is in several downloads ({', '.join(map(str, clashes[used[0]]))})")
        how = _lay_out(plan, materialise(wanted, work / "staging"), work)
        shutil.rmtree(work / "staging")
        _record_kinds(plan, work)
        lock = _lock(spec, plan, sources, work)
        write_lock(work, lock)
        _swap_in(work, root)
    except (ExclusionError, LockError, UnicodeDecodeError) as error:
        raise PrepareError(f"{spec.name}: {error}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record_in_index(paths.data_root(data_root), root, lock)
    return Prepared(root, lock, how, len(plan.unpaired_masks))


def _refuse_to_replace(spec: DatasetSpec, root: Path, force: bool) -> None:
    if not root.exists() or (root.is_dir() and not root.is_symlink() and not any(root.iterdir())):
        return
    try:
        lock = read_lock(root) if root.is_dir() and not root.is_symlink() else None
    except LockError as error:
        raise PrepareError(f"{error}: move the folder away first") from None
    if lock is None or lock.dataset != spec.name:
        raise PrepareError(f"{root} exists and was not prepared by forgebench for {spec.name}: move it away first")
    if not force:
        raise PrepareError(f"{root} is already prepared (lock {lock.digest[:12]}); --force replaces it")


def _swap_in(work: Path, root: Path) -> None:
    """Put the new copy in place; the old one is renamed aside first and deleted only once the new one is there."""
    root.parent.mkdir(parents=True, exist_ok=True)
    old = root.with_name(f".{root.name}.replaced-{os.getpid()}")
    if root.exists():
        os.replace(root, old)
    try:
        os.replace(work, root)
    except OSError:
        if old.exists():
            os.replace(old, root)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _one_file(glob: str, files: dict[str, Source], work: Path) -> Path:
    """The one file of the download matching ``glob``, as a local file."""
    matches = [name for name in files if glob_regex(glob).fullmatch(name)]
    if len(matches) != 1:
        raise PrepareError(f"expected one file matching {glob!r}, found {len(matches)}: {matches[:3]}")
    staging = work / "staging" / f"one-{len(list((work / 'staging').iterdir()))}"
    return materialise({matches[0]: files[matches[0]]}, staging)[matches[0]][0]


def _known_hashes_differ(variant: Variant, files: dict[str, Source], work: Path) -> list[str]:
    """Why the known files of ``variant`` are not the ones it lists (nothing when they are, or it lists none)."""
    reasons = []
    for glob, expected in variant.sha256:
        try:
            found = file_sha256(_one_file(glob, files, work))
        except PrepareError as error:
            reasons.append(str(error))
            continue
        if found != expected:
            reasons.append(f"{glob!r} has SHA-256 {found}, not {expected}")
    return reasons


def _lay_out(plan: Plan, local: dict[str, tuple[Path, bool]], work: Path) -> dict[str, int]:
    how = {"linked": 0, "copied": 0, "extracted": 0}
    findings: dict[tuple[str, str], list[str]] = {}
    for folder in ("images", "masks", "authentic"):
        (work / folder).mkdir()
    for pair in plan.pairs:
        if pair.masks and not _write_mask(pair, plan.options, local, work, findings):
            continue
        how[_place(*local[pair.image], work / pair.name)] += 1
    for (fix, action), files in findings.items():
        plan.fix(fix, action, files)
    return how


def _write_mask(
    pair: Pair,
    options: dict[str, str],
    local: dict[str, tuple[Path, bool]],
    work: Path,
    findings: dict[tuple[str, str], list[str]],
) -> bool:
    """Convert, union and check the pair's masks and write ``masks/<stem>.png``; False when the pair is left out."""
    rule = MaskRule(options["mask"])
    try:
        masks = [read_mask(local[m][0], rule) for m in pair.masks]
        size = image_size(local[pair.image][0])
    except DecodeError:
        findings.setdefault(("unreadable", "drop"), []).append(pair.name)
        return False
    for note in sorted({note.split(" (")[0] for mask in masks for note in mask.notes}):
        findings.setdefault((note, "flag"), []).append(pair.name)
    if len({mask.forged.shape for mask in masks}) > 1:
        findings.setdefault(("multiple masks of different sizes", "drop"), []).append(pair.name)
        return False
    forged = np.logical_or.reduce([mask.forged for mask in masks])
    if forged.shape != size:
        action = options["mismatch"]
        findings.setdefault(("mismatch", action), []).append(
            f"{pair.name} (image {size[1]}×{size[0]}, mask {forged.shape[1]}×{forged.shape[0]})"
        )
        if action == "drop":
            return False
        if action == "resize-nearest":
            forged = cv2.resize(forged.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST) > 0
    if not forged.any():
        findings.setdefault(("empty mask", "flag"), []).append(pair.name)
    elif looks_inverted(Mask(forged)):
        findings.setdefault(("looks inverted", "flag"), []).append(pair.name)
    path = work / "masks" / f"{PurePosixPath(pair.name).stem}.png"
    Image.fromarray(forged.astype(np.uint8) * 255).save(path)
    return True


def _record_kinds(plan: Plan, work: Path) -> None:
    """Write ``kinds.csv`` where the pair list names kinds; tampered images it names none for are recorded."""
    if not (plan.variant.pairs_csv and plan.variant.pairs_csv.kinds):
        return
    laid_out = [p for p in plan.pairs if p.label == "tampered" and (work / p.name).exists()]
    plan.fix("kind", "none named", [p.name for p in laid_out if not p.kind])
    write_kinds(work, {p.name: p.kind for p in laid_out if p.kind})


def _place(path: Path, users: bool, target: Path) -> str:
    if not users:
        os.replace(path, target)
        return "extracted"
    try:
        os.link(path, target)
        return "linked"
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP):
            raise
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
        options["subset"] = f"sha256:{file_sha256(subset)}"
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
