"""The spatial prior: where a training set's forgeries lie, pasted onto every image.

Fitting averages the tampered images' ground-truth masks, each resized to a square grid, into a coverage map, then
picks the coverage level above which calling a pixel forged gives the best mean per-image F1 on those same masks.
The map handed to the scorer is the coverage pasted onto the image's size and bent monotonically so that exactly the
pixels above that level exceed 0.5: at the protocol's fixed threshold the prior marks its best region, and
threshold-free metrics (pixel AUC) see the coverage's own order. It never looks at the pixels.

A learned localizer that does not beat the prior of its training data has learned where forgeries tend to be, not
what they look like; a benchmark the prior does well on rewards that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from forgebench.data.training import TrainingImage, training_images
from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, ImageInput, Prediction, TrainerPlugin
from forgebench.plugin.options import settings_from

FORMAT = "forgebench-prior-1"


@dataclass(frozen=True)
class Prior:
    """A coverage map (grid × grid, the share of training masks covering each cell) and the fitted level."""

    coverage: np.ndarray
    level: float
    """Pixels whose coverage exceeds it are called forged; below every coverage value means all of them."""

    def probability(self, height: int, width: int) -> np.ndarray:
        """The H×W map: each grid cell's coverage over its pixels (nearest neighbour, so the region above 0.5 is the
        grid's region above ``level``), above ``level`` mapped into (0.5, 1], the rest into [0, 0.5]."""
        coverage = cv2.resize(self.coverage, (width, height), interpolation=cv2.INTER_NEAREST)
        top = max(float(self.coverage.max()), self.level + 1e-6)
        above = 0.5 + 0.5 * (coverage - self.level) / (top - self.level)
        below = 0.5 * coverage / self.level if self.level > 0 else np.zeros_like(coverage)
        return np.clip(np.where(coverage > self.level, above, below), 0.0, 1.0).astype(np.float32)

    @property
    def digest(self) -> str:
        data = self.coverage.astype(np.float32).tobytes() + np.float64(self.level).tobytes()
        return hashlib.sha256(data).hexdigest()


def fit_prior(masks: Iterable[np.ndarray], grid: int = 64) -> Prior:
    """The prior of boolean ``masks`` (any sizes): mean coverage on a ``grid``² grid and the best-F1 level.

    Candidate levels are every distinct coverage value (call the cells above it forged) and −1 (all cells); the
    F1 of each mask is computed on the grid, against the mask's cells at least half covered.
    """
    if grid < 1:
        raise ValueError(f"prior: grid must be at least 1 cell, got {grid}")
    resized = [_cells(mask, grid) for mask in masks]
    if not resized:
        raise ValueError("no tampered image to fit a prior on")
    cells = np.stack(resized)
    coverage = cells.mean(axis=0, dtype=np.float64).astype(np.float32)
    truth = (cells >= 0.5).reshape(len(cells), -1)
    best, level = -1.0, -1.0
    for candidate in [-1.0, *np.unique(coverage)[::-1].tolist()]:
        predicted = (coverage > candidate).ravel()
        tp = (truth & predicted).sum(axis=1)
        wrong = (truth ^ predicted).sum(axis=1)
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0).mean()
        if f1 > best + 1e-12:  # ties keep the higher level, the smaller region
            best, level = float(f1), float(candidate)
    return Prior(coverage, level)


def _cells(mask: np.ndarray, grid: int) -> np.ndarray:
    return cv2.resize(mask.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class PriorOptions:
    fit: str = "synthetic-train"
    """Datasets or suites (comma-separated) whose tampered masks the prior is fitted on, when no ``file`` is given."""
    file: Path | None = None
    """A prior written by ``forgebench train prior``; takes the place of ``fit``."""
    grid: int = 64
    data_root: Path | None = None
    catalog: Path | None = None
    """An extra catalog file naming the datasets of ``fit``."""


class PriorDetector(Detector):
    """Pastes the prior onto every image."""

    def __init__(self, prior: Prior) -> None:
        self.prior = prior
        self.weights_digest = prior.digest

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        return [Prediction(self.prior.probability(*item.pixels.shape[:2])) for item in batch]


def build(options: PriorOptions, device: str) -> PriorDetector:
    if options.file is not None:
        return PriorDetector(read_prior(options.file)[0])
    return PriorDetector(fitted(_names(options.fit), options.grid, options.data_root, options.catalog))


@cache
def fitted(names: tuple[str, ...], grid: int, data_root: Path | None, catalog: Path | None) -> Prior:
    """The prior of the datasets ``names``, fitted once per process."""
    tampered = tampered_images(names, data_root, catalog)
    return fit_prior((image.forged() for images in tampered.values() for image in images), grid)


def tampered_images(
    names: tuple[str, ...], data_root: Path | None, catalog: Path | None
) -> dict[str, list[TrainingImage]]:
    """Dataset → its tampered images with a mask, for the datasets or suites ``names``."""
    found = training_images(names, data_root, (catalog,) if catalog else ())
    return {name: [image for image in images if image.sample.mask] for name, images in found.items()}


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError("prior: name the datasets or suites to fit on (--option fit=NAME[,NAME…])")
    return names


def write_prior(prior: Prior, path: Path, provenance: dict[str, object]) -> Path:
    """A safetensors file holding the coverage, with the level and ``provenance`` as metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, "level": repr(prior.level), "provenance": json.dumps(provenance, sort_keys=True)}
    save_file({"coverage": prior.coverage}, str(path), metadata=metadata)
    return path


def read_prior(path: Path) -> tuple[Prior, dict[str, object]]:
    """The prior in ``path`` and its provenance; a file that is not one raises ``ValueError`` naming it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"prior file {path} not found (set it with --option file=PATH)")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise ValueError(f"format {metadata.get('format')!r}, expected {FORMAT!r}")
            coverage = handle.get_tensor("coverage")
        prior = Prior(coverage.astype(np.float32), float(metadata["level"]))
    except Exception as error:  # noqa: BLE001 — any unreadable file gets the same clear message
        raise ValueError(f"{path} is not a forgebench prior: {error}") from None
    return prior, json.loads(metadata.get("provenance", "{}"))


@dataclass(frozen=True)
class PriorTraining:
    """``forgebench train prior`` settings (YAML file and ``--set key=value``)."""

    fit: str = "synthetic-train"
    grid: int = 64
    output: Path = Path("prior.safetensors")
    data_root: Path | None = None
    catalog: Path | None = None


def train(config_file: Path | None, overrides: Sequence[str] = ()) -> Path:
    """Fit the prior of the ``fit`` datasets and write it with its provenance (datasets, image counts, time)."""
    settings = settings_from(PriorTraining, config_file, overrides, "prior settings")
    names = _names(settings.fit)
    tampered = tampered_images(names, settings.data_root, settings.catalog)
    prior = fit_prior((image.forged() for images in tampered.values() for image in images), settings.grid)
    provenance = {
        "fit": list(names),
        "tampered_images": {name: len(images) for name, images in tampered.items()},
        "grid": settings.grid,
        "level": prior.level,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return write_prior(prior, settings.output, provenance)


CARD = DetectorCard(
    name="prior",
    summary="reference: the mean ground-truth mask of a training split, pasted onto every image",
    licence="Apache-2.0",
    weights="fitted from a training split's masks (--option fit=SUITE) or a file from `forgebench train prior`",
    to_probability="each grid cell's training coverage pasted onto the image; the best-F1 coverage level maps to 0.5",
)
PLUGIN = DetectorPlugin(card=CARD, options=PriorOptions, build=build)
TRAINER = TrainerPlugin(
    name="prior", summary="fit the spatial prior of a training split (--set fit=SUITE)", train=train
)
