"""One synthetic sample: a camera-compressed photo crop, forged or left authentic, and how it is finally saved.

Every random choice comes from a generator seeded by (seed, split, kind, role, index), so a sample never
depends on which other samples were built or in what order.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from forgebench.data.synthetic.regions import (
    AREA_FRACTION,
    TARGET_FRACTION,
    inside_position,
    paste,
    random_region,
    random_shape,
)
from forgebench.data.synthetic.sources import SOURCE_SPLITS, load_photo, random_crop

KINDS = ("splice", "copymove", "removal")
CROP_SIZES = ((256, 384), (384, 256), (384, 512))
"""(height, width) of the generated images."""
CAMERA_QUALITY = (75, 95)
"""JPEG quality range of the simulated camera, inclusive; a splice donor differs from its host by at least 5."""
RESAVE_QUALITY = (70, 95)
"""JPEG quality range of the final re-save, inclusive."""
PNG_FRACTION = 0.3
"""Share of images finally saved losslessly as PNG instead of re-saved as JPEG."""
SUBSAMPLING = ((0, 1, 2), (0.25, 0.25, 0.5))
"""Pillow chroma subsampling codes (4:4:4, 4:2:2, 4:2:0) and their probabilities."""
MIN_CROP_STD = 8.0
"""Least grey standard deviation (0–255) of a crop; flatter crops (black retina corners, empty sky) are redrawn."""
MIN_RELATIVE_CHANGE = 0.25
"""Least mean absolute change over the mask (largest channel), as a share of the crop's grey standard deviation;
near no-op edits (a flat patch pasted on a flat patch) are redrawn."""
_DONOR_QUALITY_GAP = 5
_ATTEMPTS = 200


@dataclass(frozen=True)
class Save:
    """How the final image is written: ``"png"``, or ``"jpeg"`` at ``quality`` with Pillow ``subsampling``."""

    format: str
    quality: int = 0
    subsampling: int = 0

    @property
    def suffix(self) -> str:
        return ".jpg" if self.format == "jpeg" else ".png"

    def encode(self, image: np.ndarray) -> bytes:
        if self.format == "png":
            return _png(image)
        return _jpeg(image, self.quality, self.subsampling)


@dataclass(frozen=True)
class Host:
    """The untouched crop after its camera compression, and where it came from."""

    pixels: np.ndarray
    split: str
    photo: str
    quality: int
    grey_std: float


@dataclass(frozen=True)
class Sample:
    """A generated image before its final save, the untouched crop it was made from, and its forged pixels.

    ``mask`` is None for an authentic sample, whose ``image`` is ``pristine``.
    """

    image: np.ndarray
    pristine: np.ndarray
    mask: np.ndarray | None
    save: Save


def sample_rng(seed: int, split: str, kind: str, role: str, index: int) -> np.random.Generator:
    """The generator of one sample; string keys enter through CRC-32 so they are stable across runs."""
    keys = [zlib.crc32(text.encode()) for text in (split, kind, role)]
    return np.random.default_rng(np.random.SeedSequence([seed, *keys, index]))


def make_sample(seed: int, split: str, kind: str, index: int, tampered: bool) -> Sample:
    """Sample ``index`` of ``split``/``kind``: tampered (``kind`` applied) or authentic (same pipeline, no edit)."""
    if split not in SOURCE_SPLITS or kind not in KINDS:
        raise ValueError(f"unknown split/kind {split!r}/{kind!r}; splits: {list(SOURCE_SPLITS)}, kinds: {list(KINDS)}")
    rng = sample_rng(seed, split, kind, "tampered" if tampered else "authentic", index)
    host = _camera_host(rng, split)
    image, mask = _forge(kind, host, rng) if tampered else (host.pixels, None)
    return Sample(image=image, pristine=host.pixels, mask=mask, save=_random_save(rng))


def encode_mask(mask: np.ndarray) -> bytes:
    """An 8-bit PNG, 255 = forged, 0 = pristine."""
    return _png(np.where(mask, 255, 0).astype(np.uint8))


def _camera_host(rng: np.random.Generator, split: str) -> Host:
    photos = SOURCE_SPLITS[split]
    for _ in range(_ATTEMPTS):
        size = CROP_SIZES[int(rng.integers(len(CROP_SIZES)))]
        photo = photos[int(rng.integers(len(photos)))]
        crop = random_crop(load_photo(photo), size, rng)
        grey_std = float(crop.mean(axis=2, dtype=np.float32).std())
        if grey_std >= MIN_CROP_STD:
            break
    else:
        raise RuntimeError(f"no crop of {photos} reaches a grey standard deviation of {MIN_CROP_STD}")
    quality = int(rng.integers(CAMERA_QUALITY[0], CAMERA_QUALITY[1] + 1))
    pixels = _jpeg_roundtrip(crop, quality, _subsampling(rng))
    return Host(pixels=pixels, split=split, photo=photo, quality=quality, grey_std=grey_std)


def _forge(kind: str, host: Host, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    for _ in range(_ATTEMPTS):
        forged = _FORGERS[kind](host, rng)
        if forged is not None and _acceptable(host, *forged):
            return forged
    raise RuntimeError(f"no acceptable {kind} region for {host.photo} after {_ATTEMPTS} attempts")


def _acceptable(host: Host, image: np.ndarray, mask: np.ndarray) -> bool:
    if not AREA_FRACTION[0] <= mask.mean() <= AREA_FRACTION[1]:
        return False
    change = np.abs(image[mask].astype(np.int16) - host.pixels[mask]).max(axis=1)
    return float(change.mean()) >= MIN_RELATIVE_CHANGE * host.grey_std


def _splice(host: Host, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    donors = [photo for photo in SOURCE_SPLITS[host.split] if photo != host.photo]
    donor_photo = donors[int(rng.integers(len(donors)))]
    qualities = range(CAMERA_QUALITY[0], CAMERA_QUALITY[1] + 1)
    distinct = [quality for quality in qualities if abs(quality - host.quality) >= _DONOR_QUALITY_GAP]
    crop = random_crop(load_photo(donor_photo), host.pixels.shape[:2], rng)
    donor = _jpeg_roundtrip(crop, distinct[int(rng.integers(len(distinct)))], _subsampling(rng))
    mask = random_region(rng, host.pixels.shape[:2])
    return np.where(mask[..., None], donor, host.pixels), mask


def _copymove(host: Host, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    size = host.pixels.shape[:2]
    warped = rng.random() < 0.7
    scale = rng.uniform(0.8, 1.25) if warped else 1.0
    angle = rng.uniform(-30, 30) if warped else 0.0
    patch = random_shape(rng, rng.uniform(*TARGET_FRACTION) * size[0] * size[1] / scale**2)
    position = inside_position(patch.shape, size, rng)
    if position is None:
        return None
    source = paste(patch, size, *position)
    center = (position[1] + patch.shape[1] / 2, position[0] + patch.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(center, angle, scale)
    shift = _destination_shift(matrix, source, rng)
    if shift is None:
        return None
    matrix[:, 2] += shift
    width_height = (size[1], size[0])
    # The mask is warped with nearest-neighbour so it stays binary and is exactly the set of pasted pixels.
    mask = cv2.warpAffine(source.astype(np.uint8), matrix, width_height, flags=cv2.INTER_NEAREST) > 0
    moved = cv2.warpAffine(host.pixels, matrix, width_height, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return np.where(mask[..., None], moved, host.pixels), mask


def _destination_shift(matrix: np.ndarray, source: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A whole-pixel translation putting the warped region anywhere it overlaps the image (cut at the borders, so
    that no part of the frame is favoured), mostly off its source."""
    rows, cols = np.nonzero(source)
    corners = np.array([[x, y] for x in (cols.min(), cols.max()) for y in (rows.min(), rows.max())], np.float64)
    warped = corners @ matrix[:, :2].T + matrix[:, 2]
    low = np.ceil(-warped.max(axis=0))
    high = np.floor(np.array(source.shape[::-1]) - 1 - warped.min(axis=0))
    shift = np.array([rng.integers(int(low[axis]), int(high[axis]) + 1) for axis in (0, 1)], np.float64)
    return shift if np.any(np.abs(shift) >= 0.6 * np.ptp(corners, axis=0)) else None


def _removal(host: Host, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    mask = random_region(rng, host.pixels.shape[:2])
    method = (cv2.INPAINT_TELEA, cv2.INPAINT_NS)[int(rng.integers(2))]
    filled = cv2.inpaint(host.pixels, mask.astype(np.uint8) * 255, float(rng.integers(3, 6)), method)
    return np.where(mask[..., None], filled, host.pixels), mask


_FORGERS: dict[str, Callable[[Host, np.random.Generator], tuple[np.ndarray, np.ndarray] | None]] = {
    "splice": _splice,
    "copymove": _copymove,
    "removal": _removal,
}


def _random_save(rng: np.random.Generator) -> Save:
    if rng.random() < PNG_FRACTION:
        return Save("png")
    quality = int(rng.integers(RESAVE_QUALITY[0], RESAVE_QUALITY[1] + 1))
    return Save("jpeg", quality=quality, subsampling=_subsampling(rng))


def _subsampling(rng: np.random.Generator) -> int:
    codes, weights = SUBSAMPLING
    return int(rng.choice(codes, p=weights))


def _jpeg(image: np.ndarray, quality: int, subsampling: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    return buffer.getvalue()


def _jpeg_roundtrip(image: np.ndarray, quality: int, subsampling: int) -> np.ndarray:
    with Image.open(io.BytesIO(_jpeg(image, quality, subsampling))) as decoded:
        return np.asarray(decoded.convert("RGB"))


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # Level 1 is three times faster than the default and only ~7 % larger on photographs.
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
