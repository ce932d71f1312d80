"""Scoring protocols as data: each convention the field uses, named, so one set of stored maps is scored under all.

A :class:`Protocol` fixes every choice that moves a localization number: the map or the better of the map and its
inverse, a no-score band along the mask's border, whether authentic images enter the pixel metric (and how), a mean
over images or one pooled confusion matrix, a fixed threshold or the best one per image or per dataset, F1/IoU or
MCC, which of map and mask is resized to the other, and how datasets are averaged. The built-in protocols are in
``protocols.yaml``, each citing where it is defined; users add their own in a YAML file of the same shape.

Scoring works on the cached maps (:mod:`forgebench.evaluation.mapcache`): 256 levels with the default threshold 0.5
exactly between levels 127 and 128, so the default protocol reproduces the stored scores exactly, and every
threshold a protocol may choose is one of the 257 binarisations ``level ≥ j`` (j = 256 predicts nothing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from scipy.ndimage import maximum_filter, minimum_filter

from forgebench.plugin.options import OptionError, from_mapping

LEVELS = 256


class ProtocolError(ValueError):
    """A protocol file or name forgebench cannot use; the message says which and why."""


@dataclass(frozen=True)
class Protocol:
    """Every choice of one scoring convention (see the module docstring); defaults are CLUE's protocol."""

    name: str
    title: str
    defined_in: str
    """Where the convention is defined (paper, file of a public repository), so a reader can check it."""
    polarity: Literal["map", "best-of-inverse"] = "map"
    """``best-of-inverse``: per image, the better of the map and of its inverse (hides a polarity error)."""
    threshold: Literal["fixed", "best-per-image", "best-per-dataset"] = "fixed"
    value: float = 0.5
    """The fixed threshold: forged ⇔ p > value, exactly at 0.5; another value is applied to the cached 8-bit maps,
    so to within their 1/255 levels (pixels within 1/255 above it may be read as below)."""
    band: tuple[int, int] | None = None
    """(erode, dilate) square kernel sizes of a no-score band: a pixel is scored only where the mask eroded by the
    first is forged or the mask dilated by the second is pristine."""
    authentic: Literal["excluded", "zero", "pixels"] = "excluded"
    """Authentic images: left out of the pixel metric; scored 0 and averaged in; or their pixels pooled in."""
    aggregate: Literal["per-image", "pooled"] = "per-image"
    metric: Literal["f1-iou", "mcc"] = "f1-iou"
    resize: Literal["map-to-mask", "mask-to-map"] = "map-to-mask"
    """``mask-to-map`` scores at the detector's own map size, the mask resized to it by nearest neighbour."""
    datasets: Literal["weighted", "unweighted"] = "weighted"
    """How the average over datasets weighs them: by the images each averaged, or equally."""

    @property
    def level(self) -> int:
        """The binarisation index of the fixed threshold: ``level ≥ j`` ⇔ ``p > value`` on a cached map."""
        return min(LEVELS, math.floor(self.value * 255) + 1)

    def lines(self) -> list[str]:
        """The protocol, one choice per line, for tables and notes."""
        band = f"erode {self.band[0]}×{self.band[0]}, dilate {self.band[1]}×{self.band[1]}" if self.band else "none"
        threshold = f"p > {self.value:g}" if self.threshold == "fixed" else self.threshold
        return [
            f"polarity: {self.polarity}", f"threshold: {threshold}", f"border band: {band}",
            f"authentic images: {self.authentic}", f"aggregate: {self.aggregate}", f"metric: {self.metric}",
            f"resize: {self.resize}", f"datasets: {self.datasets}",
        ]  # fmt: skip


@dataclass(frozen=True)
class Counts:
    """One image's pixel counts at every binarisation ``level ≥ j``, j = 0…256 (scored pixels only)."""

    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int
    tampered: bool

    def inverse(self) -> Counts:
        """The counts of the inverted prediction: what was predicted pristine is now predicted forged."""
        return Counts(self.positives - self.tp, self.negatives - self.fp, self.positives, self.negatives, self.tampered)


@dataclass(frozen=True)
class Result:
    """A protocol's value on one dataset: ``primary`` is F1 (or MCC), ``secondary`` IoU (None for MCC)."""

    primary: float
    secondary: float | None
    images: int
    """Images in the mean (pooled: images whose pixels were counted)."""
    threshold: float
    """The threshold used (the best one found, for ``best-per-dataset``; NaN for ``best-per-image``)."""


def load_protocols(extra_files: Sequence[Path] = ()) -> dict[str, Protocol]:
    """The built-in protocols, then those of ``extra_files`` (a name given again replaces the earlier one)."""
    texts = [("protocols.yaml (built-in)", resources.files(__package__).joinpath("protocols.yaml").read_text())]
    for path in extra_files:
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as error:
            raise ProtocolError(f"protocol file {path}: {error}") from None
    protocols: dict[str, Protocol] = {}
    for origin, text in texts:
        try:
            document = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ProtocolError(f"{origin} is not valid YAML: {error}") from None
        entries = document.get("protocols") if isinstance(document, dict) else None
        if not isinstance(entries, dict):
            raise ProtocolError(f"{origin}: expected a mapping 'protocols:' of name → protocol")
        for name, entry in entries.items():
            protocols[name] = _protocol(name, entry, origin)
    return protocols


def _protocol(name: str, entry: object, origin: str) -> Protocol:
    where = f"{origin}: protocol {name!r}"
    if not isinstance(entry, dict) or "name" in entry or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", str(name)):
        raise ProtocolError(f"{where}: a protocol is a mapping under a lower-case name (letters, digits, . _ -)")
    if name in ("long", "reported") or str(name).startswith(("detection-", "by-")):
        raise ProtocolError(f"{where}: the name is taken by another table's files (leaderboard-{name}.*); rename it")
    body = dict(entry)
    try:
        if "band" in body:
            band = body["band"]
            body["band"] = (int(band["erode"]), int(band["dilate"])) if band else None
        protocol = from_mapping(Protocol, {"name": str(name), **body}, where)
    except (OptionError, KeyError, TypeError, ValueError) as error:
        raise ProtocolError(
            f"{where}: {error} (band needs erode and dilate)" if isinstance(error, KeyError) else str(error)
        ) from None
    if problems := _inconsistencies(protocol):
        raise ProtocolError(f"{where}: {'; '.join(problems)}")
    return protocol


def _inconsistencies(protocol: Protocol) -> list[str]:
    """What makes a protocol's choices meaningless together (nothing when they make sense)."""
    problems = []
    if not 0 < protocol.value < 1:
        problems.append("value must lie strictly between 0 and 1")
    if protocol.band and any(size < 1 or size % 2 == 0 for size in protocol.band):
        problems.append("band sizes must be odd whole numbers ≥ 1")
    if protocol.authentic == "pixels" and protocol.aggregate != "pooled":
        problems.append("authentic: pixels needs aggregate: pooled")
    if protocol.aggregate == "pooled" and protocol.authentic == "zero":
        problems.append("aggregate: pooled takes authentic: excluded or pixels")
    return problems


def level_counts(
    levels: np.ndarray, forged: np.ndarray, scored: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """TP and FP of a cached map at every binarisation ``level ≥ j``, j = 0…256, over the ``scored`` pixels (all)."""
    inside, outside = (forged, ~forged) if scored is None else (forged & scored, ~forged & scored)
    positive = np.bincount(levels[inside], minlength=LEVELS)
    negative = np.bincount(levels[outside], minlength=LEVELS)
    return np.r_[np.cumsum(positive[::-1])[::-1], 0], np.r_[np.cumsum(negative[::-1])[::-1], 0]


def image_counts(levels: np.ndarray, forged: np.ndarray, protocol: Protocol, tampered: bool | None = None) -> Counts:
    """Counts of one cached map (uint8 levels) against its mask, both at the size the protocol scores at; ``tampered``
    is the image's label (by default: whether the mask marks any pixel)."""
    tp, fp = level_counts(levels, forged, _scored(forged, protocol.band))
    return Counts(tp, fp, int(tp[0]), int(fp[0]), bool(forged.any()) if tampered is None else tampered)


def used_images(protocol: Protocol, images: Sequence[Counts]) -> list[Counts]:
    """The images the protocol scores: the tampered ones, and the authentic ones unless it leaves them out."""
    return [c for c in images if c.tampered or protocol.authentic != "excluded"]


def score_dataset(protocol: Protocol, images: Sequence[Counts]) -> Result | None:
    """The protocol's value over one dataset's images (None when it has no image the protocol scores)."""
    used = used_images(protocol, images)
    if not any(c.tampered for c in used):
        return None
    if protocol.aggregate == "pooled":
        return _pooled(protocol, used)
    primary, secondary, level = _per_image(protocol, used)
    threshold = math.nan if level is None else _threshold(level)
    return Result(_mean(primary), None if secondary is None else _mean(secondary), len(used), threshold)


def resampled_values(protocol: Protocol, used: Sequence[Counts], draws: np.ndarray) -> np.ndarray:
    """The protocol's primary value on bootstrap resamples of the images it scores (:func:`used_images`):
    ``draws[r, i]`` is how often resample ``r`` drew image ``i``. A threshold the protocol chooses (per dataset) is
    chosen again on each resample; with every image drawn once this is :func:`score_dataset`'s value."""
    if protocol.aggregate == "pooled":
        # one pooled count per resample: TP and FP (resamples × levels), positives and negatives (resamples × 1)
        total = Counts(
            draws @ np.stack([c.tp for c in used]),
            draws @ np.stack([c.fp for c in used]),
            draws @ np.array([[c.positives] for c in used]),
            draws @ np.array([[c.negatives] for c in used]),
            True,
        )
        pooled, _ = _curves(protocol, total)
        return pooled[:, protocol.level] if protocol.threshold == "fixed" else pooled.max(axis=1)
    primary = np.array([_curves(protocol, c)[0] for c in used])
    if protocol.threshold == "best-per-dataset":
        return (draws @ primary / len(used)).max(axis=1)
    values = primary.max(axis=1) if protocol.threshold == "best-per-image" else primary[:, protocol.level]
    return draws @ values / len(used)


def image_values(protocol: Protocol, images: Sequence[Counts]) -> tuple[np.ndarray, np.ndarray | None]:
    """Per image (of those given, which must all be ones the protocol averages) its value under a per-image protocol,
    at the threshold the protocol takes for the dataset: what a paired comparison compares."""
    if protocol.aggregate == "pooled":
        raise ValueError(f"protocol {protocol.name} pools pixels over a dataset: it has no value per image")
    primary, secondary, _ = _per_image(protocol, images)
    return primary, secondary


def _per_image(protocol: Protocol, used: Sequence[Counts]) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """Each image's primary and secondary value, and the binarisation used (None: each image's best)."""
    curves = [_curves(protocol, c) for c in used]
    primary = np.array([curve[0] for curve in curves])
    secondary = np.array([curve[1] for curve in curves]) if protocol.metric == "f1-iou" else None
    if protocol.threshold == "best-per-image":
        return primary.max(axis=1), (None if secondary is None else secondary.max(axis=1)), None
    level = protocol.level if protocol.threshold == "fixed" else int(np.argmax(primary.mean(axis=0)))
    return primary[:, level], (None if secondary is None else secondary[:, level]), level


def _pooled(protocol: Protocol, used: Sequence[Counts]) -> Result:
    total = Counts(
        sum(c.tp for c in used), sum(c.fp for c in used), sum(c.positives for c in used),
        sum(c.negatives for c in used), True,
    )  # fmt: skip
    primary, secondary = _curves(protocol, total)
    level = protocol.level if protocol.threshold == "fixed" else int(np.argmax(primary))
    return Result(
        float(primary[level]), _float(None if secondary is None else secondary[level]), len(used), _threshold(level)
    )


def _curves(protocol: Protocol, counts: Counts) -> tuple[np.ndarray, np.ndarray | None]:
    """The image's metric at every binarisation (authentic images under ``zero``: 0 everywhere)."""
    if not counts.tampered and protocol.aggregate == "per-image":
        zeros = np.zeros(LEVELS + 1)
        return zeros, (zeros if protocol.metric == "f1-iou" else None)
    primary, secondary = _metric(protocol.metric, counts)
    if protocol.polarity == "best-of-inverse":
        inverse = _metric(protocol.metric, counts.inverse())
        primary = np.maximum(primary, inverse[0])
        secondary = None if secondary is None else np.maximum(secondary, inverse[1])
    return primary, secondary


def _metric(metric: str, c: Counts) -> tuple[np.ndarray, np.ndarray | None]:
    tp, fp = c.tp.astype(np.float64), c.fp.astype(np.float64)
    fn, tn = c.positives - tp, c.negatives - fp
    if metric == "mcc":
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return _ratio(tp * tn - fp * fn, denominator), None
    return _ratio(2 * tp, 2 * tp + fp + fn), _ratio(tp, tp + fp + fn)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (nothing to score: no forged pixel and none predicted)."""
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _scored(forged: np.ndarray, band: tuple[int, int] | None) -> np.ndarray | None:
    """The pixels outside the no-score band (None: every pixel)."""
    if band is None:
        return None
    eroded = minimum_filter(forged, size=band[0])
    dilated = maximum_filter(forged, size=band[1])
    return eroded | ~dilated


def _threshold(level: int) -> float:
    """The probability threshold ``p > t`` of binarisation index ``level``."""
    return (level - 0.5) / 255 if level > 0 else 0.0


def _float(value: float | np.floating | None) -> float | None:
    return None if value is None else float(value)


def _mean(values: np.ndarray) -> float:
    """The mean as the stored scores' is taken (``np.mean`` of a contiguous vector, in record order), so the default
    protocol gives back the stored dataset values bit for bit."""
    return float(np.mean(np.ascontiguousarray(values)))
