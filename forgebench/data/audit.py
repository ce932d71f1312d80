"""Finding the same photograph twice, within a dataset, across test sets, or between a test set and a training set.

Every image (tampered and authentic) is read once: its file bytes give a SHA-256 (exact copies), its pixels, decoded
the canonical way (:func:`~forgebench.data.decode.read_rgb`), give a 64-bit pHash and a small grey thumbnail.
Images whose pHashes differ in at most :data:`PHASH_DISTANCE` bits are only candidates: pHash puts distinct crops of
one photograph at distance 0, so a candidate is a near copy only when its aspect ratio (:data:`MAX_ASPECT_DIFFERENCE`)
and its thumbnail, cell by cell (:data:`MAX_THUMBNAIL_DIFFERENCE`), agree. Exact and near pairs join into groups;
:func:`write_exclusions` lists, per group, the training-set members but the one kept (read back by
:func:`forgebench.data.exclusions.read_exclusions`): a leak is removed from the training set, and copies within or
across test sets are reported but kept, so published test sets keep their counts.

A near copy is the same pixels re-encoded or rescaled. A forgery and its authentic source are apart only when the
forged region shows in the thumbnail (the synthetic suite's do, by 0.57 or more); a small edit, or a copy-move of
similar texture, leaves them near copies. Datasets that ship each forgery beside its source (Coverage, CASIA) are
meant to: such a group within one dataset is reported and nothing of it excluded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image

from forgebench.data.decode import DecodeError, read_file, read_rgb
from forgebench.data.manifest import Manifest

PHASH_DISTANCE = 10
"""Image pairs whose pHashes differ in at most this many of 64 bits are candidates, verified on their thumbnails.

Measured on the synthetic suite (1,080 images) with planted copies: half-size copies (``cv2.INTER_AREA``) differ from
their originals by ≤ 4 bits, JPEG quality-75 copies by ≤ 6 (low-texture photographs such as the moon move most);
distinct images already share hashes (264 pairs at ≤ 6 bits, 710 at ≤ 10), so the wider net costs little."""

THUMBNAIL_SIDE = 32
"""Every image is area-resized to this square grey thumbnail, whatever its aspect, so copies at any scale align."""

MAX_THUMBNAIL_DIFFERENCE = 0.3
"""A candidate is a near copy when its two thumbnails, each standardised to zero mean and unit variance, differ by at
most this much (in standard deviations) in every cell.

Measured on the synthetic suite: JPEG quality-75, half-size and quarter-size copies of all 1,080 images stay within
0.15 (quality 50: 0.27); the closest distinct test images, crops of one photograph 1 pixel apart of which one is
forged, differ by 0.57. Pearson correlation cannot tell these apart (0.9982 for that pair against ≥ 0.9982 for the
copies): the forged region shows in a few cells, not in the mean. Crops 1 pixel apart with no edit (0.19) count as
copies; 2 pixels apart (0.35) do not."""

MAX_ASPECT_DIFFERENCE = 0.02
"""A near copy's width/height also agrees within this fraction: resizing keeps the aspect (a half-size copy of an
odd-sized image is off by < 0.5 %), and the square thumbnails alone would not tell an image from a stretched one."""

_SEARCH_CHUNK = 1 << 22
"""Hash comparisons per step of the pairwise search: 32 MB of XORs at a time, whatever the number of images."""


@dataclass(frozen=True)
class Fingerprint:
    """What the audit keeps of one image: file digest and size, pixel size, pHash and grey uint8 thumbnail."""

    sha256: str
    size_bytes: int
    width: int
    height: int
    phash: int
    thumbnail: np.ndarray = field(compare=False, repr=False)


@dataclass(frozen=True)
class Link:
    """Two images (indices into the audited list) found to be copies of each other."""

    first: int
    second: int
    exact: bool
    phash_distance: int
    correlation: float
    """Pearson correlation of the two thumbnails, reported; the verification itself is cell by cell."""

    @property
    def description(self) -> str:
        if self.exact:
            return "exact"
        return f"near (pHash distance {self.phash_distance}, correlation {self.correlation:.4f})"


@dataclass(frozen=True)
class Member:
    """One image of a duplicate group (``label``: tampered or authentic in its dataset); ``match`` describes its
    closest link in the group, the one to ``matched_to``."""

    image_id: str
    dataset: str
    role: str
    label: str
    path: Path
    size_bytes: int
    match: str
    matched_to: str


@dataclass(frozen=True)
class DuplicateGroup:
    """Images that are copies of one another, the one to keep first (see :func:`write_exclusions`)."""

    members: tuple[Member, ...]

    @property
    def kept(self) -> Member:
        return self.members[0]

    @property
    def forgery_and_source(self) -> bool:
        """A tampered image and its authentic source shipped together in one dataset: expected, never excluded."""
        labels = {member.label for member in self.members}
        return len({member.dataset for member in self.members}) == 1 and labels == {"tampered", "authentic"}

    @property
    def excluded(self) -> tuple[Member, ...]:
        """The members an exclusion list leaves out: training-set copies only. A copy within or across test sets is
        reported but kept, so published test sets keep their counts (leave one out by hand if you decide to)."""
        return () if self.forgery_and_source else tuple(m for m in self.members[1:] if m.role == "train")

    @property
    def scope(self) -> str:
        roles = {member.role for member in self.members}
        if self.forgery_and_source:
            return f"a forgery and its source within {self.kept.dataset} (kept)"
        if len({member.dataset for member in self.members}) == 1:
            return f"within {self.kept.dataset}"
        if "train" not in roles:
            return "across test sets"
        return "across training sets" if roles == {"train"} else "test vs train"


@dataclass(frozen=True)
class Unreadable:
    """An image the audit could not read or decode, and why."""

    image_id: str
    message: str


@dataclass(frozen=True)
class AuditReport:
    """The duplicate groups among the ``images`` readable images (``bytes_read`` bytes of files) of ``datasets``.

    Timings are left out of comparisons: two audits of the same files compare equal, whatever their workers.
    """

    datasets: tuple[str, ...]
    images: int
    bytes_read: int
    groups: tuple[DuplicateGroup, ...]
    unreadable: tuple[Unreadable, ...]
    fingerprint_seconds: float = field(default=0.0, compare=False)
    match_seconds: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class _Entry:
    image_id: str
    dataset: str
    role: str
    label: str
    path: Path
    order: int

    def keep_key(self) -> tuple[bool, int, str]:
        """Sorts the member to keep first: test before train (a leak is removed from the training set, so published
        test sets keep their counts), then the order the datasets were given in, then the id."""
        return self.role == "train", self.order, self.image_id


def audit(manifests: Sequence[Manifest], *, workers: int = 1, tick: Callable[[], None] | None = None) -> AuditReport:
    """Find exact and near copies among all images (tampered and authentic) of ``manifests``.

    Parameters:
        manifests: The datasets, in the order that decides which copy is kept among equals.
        workers: Processes decoding and hashing the images; the report does not depend on it.
        tick: Called once per image fingerprinted, for a progress bar.
    """
    entries = [
        _Entry(sample.image_id, manifest.spec.name, manifest.spec.role, sample.label, sample.image, order)
        for order, manifest in enumerate(manifests)
        for sample in manifest.samples
    ]
    started = time.perf_counter()
    results = fingerprint_all([entry.path for entry in entries], workers=workers, tick=tick)
    fingerprinted = time.perf_counter()
    readable: list[_Entry] = []
    fingerprints: list[Fingerprint] = []
    unreadable: list[Unreadable] = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, str):
            unreadable.append(Unreadable(entry.image_id, result))
        else:
            readable.append(entry)
            fingerprints.append(result)
    return AuditReport(
        datasets=tuple(manifest.spec.name for manifest in manifests),
        images=len(fingerprints),
        bytes_read=sum(item.size_bytes for item in fingerprints),
        groups=_groups(readable, fingerprints, find_links(fingerprints)),
        unreadable=tuple(unreadable),
        fingerprint_seconds=fingerprinted - started,
        match_seconds=time.perf_counter() - fingerprinted,
    )


def fingerprint(path: Path) -> Fingerprint:
    """Read ``path`` once: SHA-256 of its bytes, pHash and thumbnail of its pixels. Raises :class:`DecodeError`."""
    stored = read_file(path)
    rgb = read_rgb(path, stored)
    grey = Image.fromarray(rgb).convert("L")  # the grey image pHash makes itself, shared with the thumbnail
    return Fingerprint(
        sha256=hashlib.sha256(stored).hexdigest(),
        size_bytes=len(stored),
        width=rgb.shape[1],
        height=rgb.shape[0],
        phash=int(str(imagehash.phash(grey)), 16),
        thumbnail=cv2.resize(np.asarray(grey), (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA),
    )


def fingerprint_all(
    paths: Sequence[Path], *, workers: int = 1, tick: Callable[[], None] | None = None
) -> list[Fingerprint | str]:
    """The fingerprint of each path, in order, or the message of the error that prevented it."""
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            return [_ticked(result, tick) for result in pool.map(_fingerprint_or_error, paths, chunksize=8)]
    return [_ticked(_fingerprint_or_error(path), tick) for path in paths]


def _fingerprint_or_error(path: Path) -> Fingerprint | str:
    try:
        return fingerprint(path)
    except DecodeError as error:
        return str(error)


def _ticked(result: Fingerprint | str, tick: Callable[[], None] | None) -> Fingerprint | str:
    if tick:
        tick()
    return result


def find_links(fingerprints: Sequence[Fingerprint]) -> list[Link]:
    """Exact pairs (equal SHA-256, each copy linked to the first) and verified near pairs, in index order."""
    first_with: dict[str, int] = {}
    links = []
    for index, item in enumerate(fingerprints):
        first = first_with.setdefault(item.sha256, index)
        if first != index:
            links.append(Link(first, index, exact=True, phash_distance=0, correlation=1.0))
    if fingerprints:
        hashes = np.array([item.phash for item in fingerprints], dtype=np.uint64)
        aspects = np.array([item.width / item.height for item in fingerprints])
        thumbnails = np.stack([item.thumbnail.ravel() for item in fingerprints])
        digests = [item.sha256 for item in fingerprints]
        for first, second, distance in _candidates(hashes):
            links += _verified(first, second, distance, aspects, thumbnails, digests)
    return sorted(links, key=lambda link: (link.first, link.second))


def _candidates(hashes: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Index pairs (i < j) and Hamming distances of the hashes within :data:`PHASH_DISTANCE`, a block of rows at a
    time, each row against the hashes after it: memory stays bounded at any number of images."""
    count = len(hashes)
    rows = max(1, _SEARCH_CHUNK // count)
    for start in range(0, count, rows):
        block = hashes[start : start + rows]
        distances = np.bitwise_count(block[:, None] ^ hashes[None, start:])
        later = np.arange(count - start)[None, :] > np.arange(len(block))[:, None]
        row, column = np.nonzero((distances <= PHASH_DISTANCE) & later)
        yield row + start, column + start, distances[row, column]


def _verified(
    first: np.ndarray,
    second: np.ndarray,
    distance: np.ndarray,
    aspects: np.ndarray,
    thumbnails: np.ndarray,
    digests: Sequence[str],
) -> list[Link]:
    """The candidate pairs whose aspects and thumbnails agree, less the exact copies (linked already)."""
    same_aspect = np.abs(aspects[first] / aspects[second] - 1) <= MAX_ASPECT_DIFFERENCE
    first, second, distance = first[same_aspect], second[same_aspect], distance[same_aspect]
    a, b = _standardised(thumbnails[first]), _standardised(thumbnails[second])
    close = np.abs(a - b).max(axis=1) <= MAX_THUMBNAIL_DIFFERENCE
    correlation = (a * b).mean(axis=1)
    return [
        Link(int(i), int(j), exact=False, phash_distance=int(d), correlation=float(c))
        for i, j, d, c in zip(first[close], second[close], distance[close], correlation[close], strict=True)
        if digests[i] != digests[j]
    ]


def _standardised(thumbnails: np.ndarray) -> np.ndarray:
    """Rows to zero mean and unit variance. A flat thumbnail (one grey level: a black frame, a white page) becomes
    NaN, which fails every comparison: two flat images of any brightness would otherwise agree, so they match only
    exactly."""
    rows = thumbnails.astype(np.float32)
    rows -= rows.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return rows / rows.std(axis=1, keepdims=True)


def _groups(
    entries: Sequence[_Entry], fingerprints: Sequence[Fingerprint], links: Sequence[Link]
) -> tuple[DuplicateGroup, ...]:
    """Union-find over the links; each group sorted with the member to keep first, the groups by that member."""
    parent = list(range(len(entries)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    closest: dict[int, Link] = {}
    for link in links:
        parent[root(link.second)] = root(link.first)
        for index in (link.first, link.second):
            known = closest.get(index)
            if known is None or (link.exact, link.correlation) > (known.exact, known.correlation):
                closest[index] = link
    components: dict[int, list[int]] = {}
    for index in sorted(closest):
        components.setdefault(root(index), []).append(index)
    ordered = sorted(
        (sorted(indices, key=lambda i: entries[i].keep_key()) for indices in components.values()),
        key=lambda indices: entries[indices[0]].keep_key(),
    )
    return tuple(
        DuplicateGroup(tuple(_member(entries, fingerprints[i], i, closest[i]) for i in indices)) for indices in ordered
    )


def _member(entries: Sequence[_Entry], fingerprint: Fingerprint, index: int, link: Link) -> Member:
    entry = entries[index]
    other = entries[link.second if link.first == index else link.first]
    return Member(
        image_id=entry.image_id,
        dataset=entry.dataset,
        role=entry.role,
        label=entry.label,
        path=entry.path,
        size_bytes=fingerprint.size_bytes,
        match=link.description,
        matched_to=other.image_id,
    )


def write_exclusions(report: AuditReport, path: Path) -> tuple[str, ...]:
    """Write the ids to leave out, one per line with its group, to ``path`` (UTF-8); return them.

    Per group every member but :attr:`DuplicateGroup.kept` is listed. The file holds no date, so the same audit
    writes the same file.
    """
    header = [
        f"# Copies found by forgebench.data.audit among {report.images} images of: {', '.join(report.datasets)}.",
        f"# Exact: same SHA-256. Near: pHash within {PHASH_DISTANCE} bits, aspect within "
        f"{MAX_ASPECT_DIFFERENCE:.0%}, {THUMBNAIL_SIDE}×{THUMBNAIL_SIDE} grey thumbnails within "
        f"{MAX_THUMBNAIL_DIFFERENCE} standard deviations in every cell.",
        "# Per group one image is kept: a test-set member before a training-set one, then the first dataset audited,",
        "# then the first id. The other training-set members are listed below and left out; copies within or across",
        "# test sets are reported by the audit but kept, as is a forgery beside its source in one dataset.",
    ]
    excluded = [
        (member.image_id, f"group {number}: {group.scope}, duplicate of {group.kept.image_id}")
        for number, group in enumerate(report.groups, 1)
        for member in group.excluded
    ]
    lines = header + [f"{image_id}  # {note}" for image_id, note in excluded]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tuple(image_id for image_id, _ in excluded)
