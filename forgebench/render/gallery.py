"""Per-dataset galleries: the images where detectors fail, succeed and disagree most, as overlay thumbnails.

Only tampered images scored by every detector of the dataset take part, so each row compares the same
image. Per row: the image, its ground truth, and for each detector its probability map and its binarised
mask (p > 0.5) with true positives green, false positives red and missed pixels blue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from forgebench.analysis.leaderboard import Cell
from forgebench.analysis.thresholds import cached_levels
from forgebench.data.decode import read_rgb
from forgebench.data.truth import GroundTruth

THUMBNAIL = 128
"""Long side of a thumbnail in pixels."""
SECTIONS = {
    "worst": "Worst: lowest mean F1 over the detectors",
    "best": "Best: highest mean F1 over the detectors",
    "disagreement": "Largest disagreement: highest F1 minus lowest F1 between detectors",
}
TRUE_POSITIVE, FALSE_POSITIVE, MISSED = (40, 200, 70), (230, 40, 40), (50, 110, 255)


@dataclass(frozen=True)
class Row:
    """One image of a gallery: its F1 under each detector (by leaderboard label)."""

    image_id: str
    f1: dict[str, float]

    @property
    def mean(self) -> float:
        return sum(self.f1.values()) / len(self.f1)

    @property
    def spread(self) -> float:
        return max(self.f1.values()) - min(self.f1.values())


@dataclass(frozen=True)
class Tile:
    """One thumbnail: its file (relative to the page) and its caption."""

    path: str
    caption: str
    width: int
    height: int


def select(cells: Sequence[Cell], per_section: int) -> dict[str, list[Row]]:
    """The worst, best and (with two detectors or more) most disputed images of one dataset.

    Ties are broken by image id, so the selection is reproducible. An image shown among the worst is
    not repeated among the best (small datasets).
    """
    scored = [{r.image_id: r.scored.f1 for r in cell.tampered()} for cell in cells]
    common = sorted(set.intersection(*(set(s) for s in scored))) if scored else []
    rows = [Row(image_id, {c.label: s[image_id] for c, s in zip(cells, scored, strict=True)}) for image_id in common]
    worst = sorted(rows, key=lambda r: (r.mean, r.image_id))[:per_section]
    shown = {r.image_id for r in worst}
    best = [r for r in sorted(rows, key=lambda r: (-r.mean, r.image_id)) if r.image_id not in shown][:per_section]
    sections = {"worst": worst, "best": best}
    if len(cells) > 1:
        disputed = [r for r in sorted(rows, key=lambda r: (-r.spread, r.image_id)) if r.spread > 0]
        sections["disagreement"] = disputed[:per_section]
    return sections


def render_row(row: Row, cells: Sequence[Cell], truth: GroundTruth, out_dir: Path) -> list[Tile]:
    """Write the row's thumbnails as JPEG files under ``out_dir`` and return them in display order.

    Raises ``OSError``/``ValueError`` (e.g. a decode error) when the image or a map cannot be read.
    """
    dataset, digest = cells[0].dataset, cells[0].manifest_digest
    sample = truth.samples(dataset, digest)[row.image_id]
    forged = truth.forged(dataset, digest, sample)
    height, width = forged.shape
    image = cv2.resize(read_rgb(sample.image), (width, height), interpolation=cv2.INTER_AREA)
    grey = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    stem = hashlib.sha1(f"{dataset}/{row.image_id}".encode()).hexdigest()[:16]
    tiles = [
        _save(out_dir, f"{stem}-image", image, f"{row.image_id} · mean F1 {row.mean:.3f}"),
        _save(out_dir, f"{stem}-truth", _tint(grey, forged, (255, 60, 60)), f"forged {forged.mean():.1%}"),
    ]
    for index, cell in enumerate(cells):
        record = next(r for r in cell.tampered() if r.image_id == row.image_id)
        levels = cached_levels(cell, record, forged.shape)
        heat = cv2.cvtColor(cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        blended = cv2.addWeighted(heat, 0.7, grey, 0.3, 0)
        tiles.append(_save(out_dir, f"{stem}-{index}-map", blended, "map"))
        tiles.append(
            _save(out_dir, f"{stem}-{index}-mask", _errors(grey, levels > 127, forged), f"F1 {record.scored.f1:.3f}")
        )
    return tiles


def _tint(grey: np.ndarray, region: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    out = (grey * 0.55).astype(np.uint8)
    out[region] = (0.45 * grey[region] + 0.55 * np.array(colour)).astype(np.uint8)
    return out


def _errors(grey: np.ndarray, predicted: np.ndarray, forged: np.ndarray) -> np.ndarray:
    out = (grey * 0.55).astype(np.uint8)
    for region, colour in (
        (predicted & forged, TRUE_POSITIVE),
        (predicted & ~forged, FALSE_POSITIVE),
        (~predicted & forged, MISSED),
    ):
        out[region] = colour
    return out


def _save(out_dir: Path, name: str, rgb: np.ndarray, caption: str) -> Tile:
    height, width = rgb.shape[:2]
    scale = THUMBNAIL / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    path = out_dir / f"{name}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    options = [cv2.IMWRITE_JPEG_QUALITY, 85, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), options):  # 4:4:4 keeps overlay colours
        raise OSError(f"cannot write thumbnail {path}")
    return Tile(path=f"{out_dir.name}/{path.name}", caption=caption, width=rgb.shape[1], height=rgb.shape[0])
