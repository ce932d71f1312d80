"""How a catalog names a dataset's files: glob rules with a pairing key, or a CSV of pairs.

Both the catalog's reading rules (files under a prepared dataset's root) and a variant's rules (files of what the
user downloaded, matched by ``datasets prepare``) are written this way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FileRule:
    """Which files of a dataset play a role, and the name key that pairs them.

    ``patterns`` are globs relative to the dataset root, minus those matching an ``exclude`` glob;
    ``key`` is a regular expression matched in full against the file's stem whose group ``key``
    (or the whole match) is the pairing key.
    """

    patterns: tuple[str, ...]
    key: str = "(?P<key>.+)"
    exclude: tuple[str, ...] = ()

    def key_of(self, stem: str) -> str | None:
        """The pairing key of a file stem, or None when the stem does not match ``key``."""
        match = re.fullmatch(self.key, stem)
        return None if match is None else match.groupdict().get("key", match.group(0))


@dataclass(frozen=True)
class CsvPairs:
    """Pairs listed in a CSV file (``image``/``mask`` columns; an empty mask is an authentic image).

    In a catalog entry ``file`` and the paths in it are relative to the dataset root. In a variant ``file`` is a glob
    over the download and the paths are relative to the CSV's folder joined with ``relative_to``.
    """

    file: str
    image: str = "image"
    mask: str = "mask"
    sep: str = ","
    where: tuple[tuple[str, str], ...] = ()
    relative_to: str = "."
    kinds: tuple[tuple[str, str], ...] = ()
    """(column, kind): a row whose column says yes (Y, yes, 1, true) is of that kind (NIST16's
    ``IsManipulationType…`` columns); read by ``datasets prepare`` into the prepared copy's ``kinds.csv``."""


def file_rule(entry: dict[str, Any] | None, patterns_key: str) -> FileRule | None:
    if not entry:
        return None
    patterns = entry[patterns_key]
    patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    exclude = entry.get("exclude", ())
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    return FileRule(patterns=patterns, key=entry.get("key", "(?P<key>.+)"), exclude=exclude)


def csv_pairs(entry: dict[str, Any] | None) -> CsvPairs | None:
    if not entry:
        return None
    where = tuple((str(k), str(v)) for k, v in (entry.get("where") or {}).items())
    kinds = tuple((str(k), str(v)) for k, v in (entry.get("kinds") or {}).items())
    return CsvPairs(**{k: v for k, v in entry.items() if k not in ("where", "kinds")}, where=where, kinds=kinds)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over "/"-separated relative paths as a regular expression: ``**/`` is any number of folders, ``*`` and
    ``?`` stay within one name, ``[…]`` is a set (``[!…]`` its complement)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
