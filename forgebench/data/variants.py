"""The published forms of a dataset (catalog data) and the named options of ``datasets prepare``.

A *variant* says how the files of one published form are recognised (its fingerprint: globs that must or must not
match, and optionally the SHA-256 of known files), which of them are tampered images, masks and authentic images, how
they pair, and which mask values are forged. Shared forms (``layouts:`` in the catalog) are named by several datasets.

*Options* are the conventions and fixes ``prepare`` applies; each is recorded in the dataset's lock. Their meanings
are fixed here; a catalog entry may change an option's default and restrict its choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from forgebench.data.decode import MaskRule
from forgebench.data.rules import CsvPairs, FileRule, csv_pairs, file_rule, glob_regex


@dataclass(frozen=True)
class Variant:
    """One published form of a dataset; patterns are globs over the relative paths of the download."""

    name: str
    about: str
    tampered: FileRule | None = None
    masks: FileRule | None = None
    authentic: FileRule | None = None
    pairs_csv: CsvPairs | None = None
    forged_if: str = "> 127"
    requires: tuple[tuple[str, str], ...] = ()
    """(glob, what it is): each must match at least one file; by default the first glob of each role (tampered,
    masks, authentic) and the pair list."""
    absent: tuple[tuple[str, str], ...] = ()
    """(glob, what it would mean): none may match."""
    sha256: tuple[tuple[str, str], ...] = ()
    """(glob matching exactly one file, its SHA-256): known files of this form."""
    downloads: tuple[str, ...] = ("DOWNLOAD",)
    """What to give ``--from``, one item per download (e.g. images and corrected masks come separately)."""

    def missing(self, files: list[str]) -> list[str]:
        """Why the download is not this variant (nothing when it is), from its file list alone."""
        reasons = [f"nothing matches {glob!r} ({what})" for glob, what in self.requires if not _any(glob, files)] + [
            f"{glob!r} matches ({what})" for glob, what in self.absent if _any(glob, files)
        ]
        return reasons


@dataclass(frozen=True)
class Option:
    """A named convention or fix of ``prepare``: its choices, the default and what it decides."""

    name: str
    default: str
    choices: tuple[str, ...]
    about: str
    free: bool = False
    """Any value is allowed besides the choices (a mask rule like '> 0', a file)."""


OPTIONS = {
    option.name: option
    for option in (
        Option("mask", "", ("> 127", "> 0", "< 255", "<= 127"), "how a mask's values become forged pixels: a "
               "comparison on grey values, or a Columbia palette rule; the default is the variant's", free=True),
        Option("mismatch", "flag", ("flag", "resize-nearest", "drop"), "a mask whose size differs from its image's: "
               "keep it as it is (scoring resizes the map to the mask), resize it to the image by nearest neighbour, "
               "or leave the pair out"),
        Option("unmasked", "drop", ("drop", "keep"), "a tampered image without a mask: leave it out, or keep it "
               "(each run records it as an error)"),
        Option("multiple", "union", ("union", "first", "drop"), "an image with several masks: their union, the first "
               "by name, or leave the image out"),
        Option("subset", "", (), "a text file of image names (one per line, with or without suffix) to keep; the "
               "others are left out", free=True),
    )
}  # fmt: skip
"""Every option ``prepare`` knows; each prepared dataset records the value used for all of them."""


def parse_variant(name: str, entry: dict[str, Any], where: str) -> Variant:
    known = {"about", "tampered", "masks", "authentic", "pairs_csv", "requires", "absent", "sha256", "downloads"}
    if unknown := set(entry) - known:
        raise ValueError(f"{where}: variant {name!r} has unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
    masks = entry.get("masks") or {}
    tampered = file_rule(entry.get("tampered"), "images")
    mask_rule = file_rule(masks, "files") if masks.get("files") else None
    pairs = csv_pairs(entry.get("pairs_csv"))
    if tampered is None and pairs is None:
        raise ValueError(f"{where}: variant {name!r} needs 'tampered' images or a 'pairs_csv'")
    requires = tuple((str(k), str(v)) for k, v in (entry.get("requires") or {}).items())
    if not requires:
        defaults = [
            (tampered, "tampered images"),
            (mask_rule, "masks"),
            (file_rule(entry.get("authentic"), "images"), "authentic images"),
        ]
        requires = tuple((rule.patterns[0], what) for rule, what in defaults if rule) + (
            ((pairs.file, "the list of pairs"),) if pairs else ()
        )
    known_hashes = entry.get("sha256") or {}
    if not all(isinstance(v, str) and re.fullmatch("[0-9a-fA-F]{64}", v) for v in known_hashes.values()):
        raise ValueError(f"{where}: variant {name!r}: each sha256 value must be 64 hex digits, quoted")
    forged_if = str(masks.get("forged_if", "> 127"))
    MaskRule(forged_if)
    return Variant(
        name=name,
        about=str(entry.get("about", "")),
        tampered=tampered,
        masks=mask_rule,
        authentic=file_rule(entry.get("authentic"), "images"),
        pairs_csv=pairs,
        forged_if=forged_if,
        requires=requires,
        absent=tuple((str(k), str(v)) for k, v in (entry.get("absent") or {}).items()),
        sha256=tuple((str(k), v.lower()) for k, v in known_hashes.items()),
        downloads=tuple(str(d) for d in entry.get("downloads") or ("DOWNLOAD",)),
    )


def parse_options(entry: dict[str, Any] | None, where: str) -> dict[str, Option]:
    """The options of a dataset: :data:`OPTIONS` with the catalog entry's defaults and choices."""
    options = dict(OPTIONS)
    for name, declared in (entry or {}).items():
        if name not in OPTIONS:
            raise ValueError(f"{where}: unknown option {name!r}; known: {sorted(OPTIONS)}")
        base = OPTIONS[name]
        choices = tuple(str(c) for c in declared.get("choices", base.choices))
        options[name] = Option(
            name, str(declared.get("default", base.default)), choices, str(declared.get("about", base.about)),
            free=base.free and "choices" not in declared,
        )  # fmt: skip
    return options


def _any(glob: str, files: list[str]) -> bool:
    pattern = glob_regex(glob)
    return any(pattern.fullmatch(name) for name in files)
