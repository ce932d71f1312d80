"""Exclusion lists: image ids (``<dataset>/<path in its root>``) a catalog entry leaves out (``exclude: FILE``).

``datasets audit`` writes them. A line is one id; ``#`` at the start of a line or after a space begins a comment (a
file name may hold a ``#``); blank lines are skipped.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_ID = re.compile(r"[^/\s#]+/(?:[^/]+/)*[^/]+")
_COMMENT = re.compile(r"(?:^|\s)#.*$")


class ExclusionError(ValueError):
    """An exclusion list that cannot be read; the message names the file and the line."""


def read_exclusions(path: Path) -> frozenset[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ExclusionError(f"exclusion list {path}: cannot read it ({error})") from None
    ids = set()
    for number, line in enumerate(lines, 1):
        text = _COMMENT.sub("", line).strip()
        if text and not _ID.fullmatch(text):
            raise ExclusionError(
                f"{path}, line {number}: {text!r} is not an image id of the form <dataset>/<path relative to the "
                "dataset's root>, e.g. casia1/images/Sp_D_001.jpg"
            )
        if text:
            ids.add(text)
    return frozenset(ids)


def exclusion_record(dataset: str, listing: Path | None, files: set[str]) -> dict[str, object] | None:
    """What a lock records of an exclusion list: the file, its SHA-256 and the ids it removes from ``dataset``
    (whose files, relative to its root, are ``files``)."""
    if listing is None:
        return None
    ids = [image_id.partition("/") for image_id in read_exclusions(listing)]
    mine = sorted(f"{name}/{path}" for name, _, path in ids if name == dataset and path in files)
    return {"file": str(listing), "sha256": hashlib.sha256(listing.read_bytes()).hexdigest(), "images": mine}
