"""Which variant a download is, and the plan of files to lay out: pairs, names, and the fixes their options decide.

Everything here works on relative paths (and the one pair-list CSV a variant may name), before any file is copied.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from forgebench.data.catalog import DatasetSpec
from forgebench.data.decode import MaskRule
from forgebench.data.manifest import IMAGE_SUFFIXES
from forgebench.data.rules import CsvPairs, FileRule, glob_regex
from forgebench.data.variants import Variant


class PrepareError(ValueError):
    """A download that cannot be prepared as asked; the message says why and names the files."""


@dataclass
class Pair:
    """One image to lay out: its source path, the masks that go with it (none for an authentic image), its name."""

    image: str
    masks: list[str]
    label: str
    name: str
    kind: str = ""
    """The manipulation kind the download's pair list names ("" where it names none)."""


@dataclass
class Plan:
    """The files to lay out and the fixes applied while planning, each naming its images as they are (or would have
    been) laid out, so that the record does not depend on how the download was nested."""

    variant: Variant
    options: dict[str, str]
    pairs: list[Pair]
    fixes: list[dict[str, object]] = field(default_factory=list)
    unpaired_masks: list[str] = field(default_factory=list)

    def fix(self, fix: str, action: str, files: list[str]) -> None:
        """Record a fix or finding with the files it concerns (nothing when there are none)."""
        if files:
            self.fixes.append({"fix": fix, "action": action, "files": sorted(files)})


def choose_variant(
    spec: DatasetSpec, files: list[str], wanted: str | None, differs: Callable[[Variant], list[str]]
) -> Variant:
    """The variant asked for, or the first whose fingerprint the download fits: its file list, then (``differs``: why
    its known files are not the ones it lists) the SHA-256 of its known files. The error says why none does."""
    if not spec.variants:
        raise PrepareError(f"{spec.name}: the catalog declares no variant to prepare it from (it is read as it lies)")
    variants = [v for v in spec.variants if wanted in (None, v.name)]
    if not variants:
        known = ", ".join(v.name for v in spec.variants)
        raise PrepareError(f"{spec.name}: no variant {wanted!r}; known: {known}")
    reasons = {}
    for variant in variants:
        if not (missing := variant.missing(files) or differs(variant)):
            return variant
        reasons[variant.name] = missing
    lines = "\n".join(f"  {name}: {'; '.join(why)}" for name, why in reasons.items())
    raise PrepareError(f"{spec.name}: the download matches no known variant ({len(files)} files):\n{lines}")


def resolve_options(spec: DatasetSpec, variant: Variant, given: dict[str, str]) -> dict[str, str]:
    """Every option's value: given, else the catalog's default (``mask``: else the variant's rule)."""
    options = {option.name: option for option in spec.options}
    if unknown := set(given) - set(options):
        raise PrepareError(f"{spec.name}: unknown option(s) {sorted(unknown)}; known: {sorted(options)}")
    values = {}
    for name, option in options.items():
        value = given.get(name, option.default)
        if value and value not in option.choices and not option.free:
            raise PrepareError(f"{spec.name}: option {name}={value!r}; choose one of {', '.join(option.choices)}")
        values[name] = value
    values["mask"] = values["mask"] or variant.forged_if
    try:
        MaskRule(values["mask"])
    except ValueError as error:
        raise PrepareError(f"{spec.name}: option mask: {error}") from None
    if values["subset"] and not Path(values["subset"]).is_file():
        raise PrepareError(f"{spec.name}: option subset: {values['subset']} is not a file")
    return values


def plan_pairs(variant: Variant, files: list[str], options: dict[str, str], csv_text: str | None) -> Plan:
    """Pair the files of ``variant`` and apply the options that act on names (unmasked, multiple, subset)."""
    plan = Plan(variant, options, [])
    if variant.pairs_csv:
        pairs, unpaired_masks = _csv_pairs(variant.pairs_csv, files, csv_text or ""), []
    else:
        pairs, unpaired_masks = _rule_pairs(variant, files)
    plan.unpaired_masks = unpaired_masks
    plan.fix("unpaired mask", "not used", [PurePosixPath(m).name for m in unpaired_masks])
    _name(pairs)
    unmasked = [p.name for p in pairs if p.label == "tampered" and not p.masks]
    tampered = sum(p.label == "tampered" for p in pairs)
    if tampered == 0 or len(unmasked) == tampered:
        raise PrepareError(
            f"variant {variant.name}: {tampered} tampered images, none paired with a mask ({len(unmasked)} unmasked, "
            f"{len(unpaired_masks)} masks pair with no image): the variant's names do not fit this copy"
        )
    if options["unmasked"] == "drop":
        pairs = [p for p in pairs if p.label != "tampered" or p.masks]
    plan.fix("unmasked", options["unmasked"], unmasked)
    several = [p for p in pairs if len(p.masks) > 1]
    if options["multiple"] == "drop":
        pairs = [p for p in pairs if len(p.masks) <= 1]
    elif options["multiple"] == "first":
        for pair in several:
            pair.masks = pair.masks[:1]
    plan.fix("multiple", options["multiple"], [p.name for p in several])
    if options["subset"]:
        pairs = _subset(plan, pairs, Path(options["subset"]))
    plan.pairs = pairs
    return plan


def _rule_pairs(variant: Variant, files: list[str]) -> tuple[list[Pair], list[str]]:
    masks: dict[str | None, list[str]] = {}  # masks whose names the key does not fit go under None: never used
    for path in _matching(files, variant.masks, mask=True) if variant.masks else []:
        masks.setdefault(variant.masks.key_of(PurePosixPath(path).stem), []).append(path)
    pairs, used = [], set()
    for path in _matching(files, variant.tampered):
        key = variant.tampered.key_of(PurePosixPath(path).stem)
        if key is not None:
            used.add(key)
        pairs.append(Pair(path, sorted(masks.get(key, []) if key is not None else []), "tampered", ""))
    tampered = {p.image for p in pairs}
    for path in _matching(files, variant.authentic) if variant.authentic else []:
        if path not in tampered:
            pairs.append(Pair(path, [], "authentic", ""))
    unpaired = sorted(path for key, paths in masks.items() if key not in used for path in paths)
    return pairs, unpaired


def _matching(files: list[str], rule: FileRule, mask: bool = False) -> list[str]:
    include = [glob_regex(p) for p in rule.patterns]
    exclude = [glob_regex(p) for p in rule.exclude]
    suffixes = IMAGE_SUFFIXES | ({".npy", ".npz"} if mask else set())
    return [
        name for name in files
        if PurePosixPath(name).suffix.lower() in suffixes
        and any(p.fullmatch(name) for p in include) and not any(p.fullmatch(name) for p in exclude)
    ]  # fmt: skip


def _csv_pairs(rule: CsvPairs, files: list[str], text: str) -> list[Pair]:
    listed = [name for name in files if glob_regex(rule.file).fullmatch(name)]
    base = posixpath.normpath(posixpath.join(posixpath.dirname(listed[0]), rule.relative_to))
    rows = list(csv.DictReader(io.StringIO(text), delimiter=rule.sep))
    for column in (rule.image, rule.mask, *(k for k, _ in rule.where), *(k for k, _ in rule.kinds)):
        if rows and column not in rows[0]:
            raise PrepareError(f"pair list {listed[0]} has no column {column!r}")
    present, pairs, absent = set(files), [], []
    for row in rows:
        if any(row[k] != v for k, v in rule.where):
            continue
        image, mask = (row.get(rule.image) or "").strip(), (row.get(rule.mask) or "").strip()
        image, mask = (_joined(base, image), _joined(base, mask) if mask else "")
        absent += [path for path in (image, mask) if path and path not in present]
        label = "tampered" if mask or rule.where else "authentic"  # a filtered list holds only tampered images
        kind = "+".join(kind for column, kind in rule.kinds if (row[column] or "").strip().lower() in YES)
        pairs.append(Pair(image, [mask] if mask else [], label, "", kind))
    if absent:
        raise PrepareError(f"pair list {listed[0]} names {len(absent)} files not in the download, e.g. {absent[0]}")
    return pairs


YES = {"y", "yes", "1", "true"}
"""How a pair list's kind column says that a row is of its kind."""


def _joined(base: str, path: str) -> str:
    joined = posixpath.normpath(posixpath.join(base, path.replace("\\", "/")))
    return joined[2:] if joined.startswith("./") else joined


def _subset(plan: Plan, pairs: list[Pair], listing: Path) -> list[Pair]:
    """Keep the images a list names (by path, file name or stem); names that match no image are recorded too."""
    lines = listing.read_text(encoding="utf-8-sig").splitlines()
    names = {line.strip().replace("\\", "/") for line in lines if line.strip()}

    def names_of(pair: Pair) -> set[str]:
        path = PurePosixPath(pair.image)
        return {pair.image, path.name, path.stem}

    found = set().union(*(names_of(p) for p in pairs))
    plan.fix("subset", "listed, no such image", [n for n in names if not {n, PurePosixPath(n).stem} & found])
    wanted = names | {PurePosixPath(name).stem for name in names}
    plan.fix("subset", "not listed, left out", [p.name for p in pairs if not names_of(p) & wanted])
    return [p for p in pairs if names_of(p) & wanted]


def _name(pairs: list[Pair]) -> None:
    """Laid-out names: ``images/<file name>`` (``authentic/`` for authentic images); two sources for one name fail."""
    taken: dict[str, str] = {}
    for pair in pairs:
        folder = "images" if pair.label == "tampered" else "authentic"
        name = f"{folder}/{PurePosixPath(pair.image).name}"
        stem = f"{folder}/{PurePosixPath(pair.image).stem}".lower()  # names differing in case clash on some disks
        if stem in taken:
            raise PrepareError(f"{taken[stem]} and {pair.image} would both be laid out as {name} (file stems clash)")
        taken[stem] = pair.image
        pair.name = name
