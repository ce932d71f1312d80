"""Random forged-region shapes (smooth blobs, ellipses, star polygons) and their placement inside an image."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage

AREA_FRACTION = (0.02, 0.20)
"""Accepted share of the image a forged region covers."""

TARGET_FRACTION = (0.025, 0.18)
"""Share drawn for a new shape: inside ``AREA_FRACTION`` with room for rasterisation and copy-move scaling."""

BORDER_MARGIN = 2
"""Pixels kept free between a copy-move's source region and the image border."""


def random_shape(rng: np.random.Generator, area_px: float) -> np.ndarray:
    """A boolean patch, cropped to its bounding box, holding one connected shape of about ``area_px`` pixels."""
    draw = (_blob, _ellipse, _polygon)[int(rng.integers(3))]
    patch = draw(rng, area_px)
    rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
    return patch[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def random_position(patch_shape: tuple[int, int], size: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
    """A random (top, left) at which every pixel of a ``size`` image is equally likely to fall under the patch: the
    patch may hang over any border by all but one row or column, and :func:`paste` cuts it there."""
    top, left = (int(rng.integers(1 - inner, outer)) for outer, inner in zip(size, patch_shape, strict=True))
    return top, left


def inside_position(
    patch_shape: tuple[int, int], size: tuple[int, int], rng: np.random.Generator
) -> tuple[int, int] | None:
    """A random (top, left) that keeps the patch ``BORDER_MARGIN`` pixels inside ``size``; None if it cannot fit
    (where pixels must be read from inside the image, as a copy-move's source)."""
    free = [outer - inner - 2 * BORDER_MARGIN for outer, inner in zip(size, patch_shape, strict=True)]
    if min(free) < 0:
        return None
    return BORDER_MARGIN + int(rng.integers(free[0] + 1)), BORDER_MARGIN + int(rng.integers(free[1] + 1))


def paste(patch: np.ndarray, size: tuple[int, int], top: int, left: int) -> np.ndarray:
    """A full ``size`` boolean mask holding ``patch`` at (top, left), cut at the image's borders."""
    mask = np.zeros(size, bool)
    rows = slice(max(top, 0), min(top + patch.shape[0], size[0]))
    cols = slice(max(left, 0), min(left + patch.shape[1], size[1]))
    mask[rows, cols] = patch[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
    return mask


def random_region(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A full-size mask with one random shape of ``TARGET_FRACTION`` of the image, placed anywhere (possibly cut
    by a border, so that no part of the frame is favoured; the caller rejects what is left too small)."""
    patch = random_shape(rng, rng.uniform(*TARGET_FRACTION) * size[0] * size[1])
    return paste(patch, size, *random_position(patch.shape, size, rng))


def _ellipse(rng: np.random.Generator, area_px: float) -> np.ndarray:
    ratio = rng.uniform(0.4, 1.0)
    major = math.sqrt(area_px / (math.pi * ratio))
    side = 2 * math.ceil(major) + 3
    canvas = np.zeros((side, side), np.uint8)
    axes = (round(major), max(1, round(major * ratio)))
    cv2.ellipse(canvas, (side // 2, side // 2), axes, float(rng.uniform(0, 180)), 0, 360, 1, thickness=-1)
    return canvas > 0


def _polygon(rng: np.random.Generator, area_px: float) -> np.ndarray:
    count = int(rng.integers(5, 13))
    angles = np.sort(rng.uniform(0, 2 * math.pi, count))
    radii = rng.uniform(0.45, 1.0, count)
    x, y = radii * np.cos(angles), radii * np.sin(angles)
    unit_area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    points = np.stack([x, y], axis=1) * math.sqrt(area_px / unit_area)
    points = np.round(points - points.min(axis=0) + 1).astype(np.int32)
    width, height = points.max(axis=0) + 2
    canvas = np.zeros((height, width), np.uint8)
    cv2.fillPoly(canvas, [points], 1)
    return canvas > 0


def _blob(rng: np.random.Generator, area_px: float) -> np.ndarray:
    radius = math.sqrt(area_px / math.pi)
    side = int(2.6 * radius) + 3
    noise = cv2.resize(rng.normal(size=(6, 6)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    offsets = (np.arange(side) - (side - 1) / 2) / (side / 2)
    # A radial falloff keeps the blob compact; the smooth noise bends its outline.
    field = 0.35 * noise - (offsets[:, None] ** 2 + offsets[None, :] ** 2)
    blob = field >= np.sort(field, axis=None)[-max(1, round(area_px))]
    labels, count = ndimage.label(blob)
    largest = np.argmax(np.bincount(labels.ravel(), minlength=count + 1)[1:]) + 1
    return ndimage.binary_fill_holes(labels == largest)
