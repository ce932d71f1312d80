"""Decoding images and ground-truth masks into forgebench's canonical arrays.

Images become H×W×3 uint8 RGB: first frame, no EXIF rotation (the pixel grid matters to
forensic cues), grey expanded to three channels, alpha dropped, 16-bit reduced by ``x // 256``.
Masks become boolean H×W arrays (True = forged) by the dataset's declared rule.
"""

from __future__ import annotations

import io
import math
import operator
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile


def _pixel_limit() -> int:
    text = os.environ.get("FORGEBENCH_MAX_PIXELS", str(2**28))
    if not text.isdigit():
        raise ValueError(f"FORGEBENCH_MAX_PIXELS must be a whole number of pixels, got {text!r}")
    return int(text)


MAX_PIXELS = _pixel_limit()
"""Images above this many pixels (16384² by default, ~0.8 GB decoded) are refused from their header, before any
pixel is decoded: a decompression bomb costs nothing. ``FORGEBENCH_MAX_PIXELS`` raises the limit."""
Image.MAX_IMAGE_PIXELS = None  # the limit above replaces Pillow's warning and its 2× error
ImageFile.LOAD_TRUNCATED_IMAGES = False  # Pillow's default, stated: a cut file raises instead of decoding in part

_COMPARATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_RULE = re.compile(r"^\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*$")
COLUMBIA_PALETTE = np.array([(255, 0, 0), (200, 0, 0), (0, 255, 0), (0, 200, 0)], dtype=np.float32)
"""Columbia edge-mask colours: camera-1 region near/far from the boundary, then camera-2 (spliced)."""
COLUMBIA_RULES = {
    "columbia-palette": "nearest of the four colours is a green (the spliced region): the default",
    "columbia-green-channel": "green channel > 0 (as photoholmes reads them)",
    "columbia-red": "nearest of the four colours is a red (the other camera's region)",
    "columbia-bright-red": "nearest of the four colours is bright red (255,0,0) only",
}
"""The conversions of Columbia's colour edge masks in use, by name."""


class DecodeError(ValueError):
    """A file that cannot be read as an image or mask; the message names the file."""


@dataclass(frozen=True)
class MaskRule:
    """How a dataset's mask files encode forged pixels.

    ``forged_if`` is a comparison on grey values (``"> 127"``, ``"> 0"``, ``"< 255"``, ``"<= 127"``)
    or one of :data:`COLUMBIA_RULES` (``"columbia-palette"``: nearest of the four edge-mask colours, green = spliced).
    """

    forged_if: str = "> 127"

    def __post_init__(self) -> None:
        if self.forged_if not in COLUMBIA_RULES and not _RULE.match(self.forged_if):
            raise ValueError(
                f"mask rule {self.forged_if!r} is neither a comparison like '> 127' nor one of {sorted(COLUMBIA_RULES)}"
            )

    @property
    def white_is_forged(self) -> bool:
        return self.forged_if.lstrip().startswith(">")


@dataclass(frozen=True)
class Mask:
    """A normalised ground truth plus what was noticed while normalising it."""

    forged: np.ndarray
    notes: tuple[str, ...] = field(default=())

    @property
    def forged_fraction(self) -> float:
        return float(self.forged.mean())


def read_rgb(path: Path, stored: bytes | None = None) -> np.ndarray:
    """Decode an image file to H×W×3 uint8 RGB; a file that is cut short is an error, never a partial image.

    Parameters:
        path: The file (named in errors).
        stored: Its bytes, where already read (:func:`read_file`): they are decoded instead of reading it again.
    """
    with _open(path, stored) as image:
        return _to_rgb(image, path)


def read_file(path: Path) -> bytes:
    """An image file's bytes as stored, for detectors that read the encoding itself (and for :func:`read_rgb`)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DecodeError(f"File not found: {path}") from None
    except OSError as error:
        raise DecodeError(f"Cannot read {path}: {error}") from None


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    with _open(path) as image:
        return image.height, image.width


def size_note(image: Path, image_hw: tuple[int, ...], mask_hw: tuple[int, ...]) -> str:
    """The note for a mask whose size differs from its image's: it names an EXIF orientation tag that would explain
    it (images are read on their stored pixel grid, the tag not applied, because benchmarks draw masks on that grid).
    """
    note = f"size mismatch: image {image_hw[1]}×{image_hw[0]}, mask {mask_hw[1]}×{mask_hw[0]}"
    if tuple(mask_hw[:2]) == tuple(image_hw[1::-1][:2]):
        with _open(image) as opened:
            orientation = opened.getexif().get(0x0112)  # Orientation
        if orientation in (5, 6, 7, 8):
            note += (
                f"; the mask matches the image turned by its EXIF orientation tag ({orientation}), which forgebench "
                "does not apply: the mask was drawn on the displayed image, not on the stored pixels"
            )
    return note


def read_mask(path: Path, rule: MaskRule) -> Mask:
    """Decode a mask file (image or ``.npy``/``.npz`` array) and apply ``rule``."""
    raw = _read_mask_array(path)
    notes: list[str] = []
    if rule.forged_if in COLUMBIA_RULES:
        return Mask(forged=_columbia(raw, path, rule.forged_if))
    grey, values = _grey_levels(raw)
    op, threshold = _RULE.match(rule.forged_if).groups()
    if rule.white_is_forged and values.max() == 1 and not _COMPARATORS[op](1, float(threshold)):
        notes.append("{0,1} mask: read as 1 = forged")  # the rule itself would call none of it forged
        return Mask(forged=grey == 1, notes=tuple(notes))
    if not (values.size <= 2 and set(values.tolist()) <= {0.0, float(values.max())}):
        notes.append(f"non-binary mask ({values.size} grey levels)")
    return Mask(forged=_compare(grey, op, float(threshold)), notes=tuple(notes))


def _grey_levels(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grey image (the mean over channels) and its sorted distinct values as floats.

    A colour mask whose channels are equal is its first channel, exactly; 8-bit and boolean masks are counted
    in 256 bins instead of sorted, which at 12 megapixels is ten times faster.
    """
    if raw.ndim == 3:
        first = raw[..., 0]
        equal = all(np.array_equal(first, raw[..., c]) for c in range(1, raw.shape[2]))
        raw = first if equal else raw.mean(axis=2)
    if raw.dtype in (np.uint8, np.bool_):
        raw = np.ascontiguousarray(raw).view(np.uint8)
        histogram = cv2.calcHist([raw], [0], None, [256], [0, 256]).ravel()
        return raw, np.flatnonzero(histogram).astype(np.float64)
    grey = raw.astype(np.float64)
    return grey, np.unique(grey)


def _compare(grey: np.ndarray, op: str, threshold: float) -> np.ndarray:
    """``grey <op> threshold``; 8-bit masks against the equivalent whole number, which needs no float copy."""
    if grey.dtype == np.uint8:
        threshold = math.floor(threshold) if op in (">", "<=") else math.ceil(threshold)
    return _COMPARATORS[op](grey, threshold)


def looks_inverted(mask: Mask) -> bool:
    """True when the forged region covers most of the image and most of its border (likely wrong polarity)."""
    forged = mask.forged
    border = np.concatenate([forged[0], forged[-1], forged[:, 0], forged[:, -1]])
    return mask.forged_fraction > 0.5 and float(border.mean()) >= 0.75


def _open(path: Path, stored: bytes | None = None) -> Image.Image:
    try:
        image = Image.open(path if stored is None else io.BytesIO(stored))
    except FileNotFoundError:
        raise DecodeError(f"File not found: {path}") from None
    except Exception as error:  # noqa: BLE001 — damaged files make decoders raise many kinds of errors
        raise DecodeError(f"Cannot decode {path}: {error}") from None
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise DecodeError(
            f"{path}: {image.width}×{image.height} = {image.width * image.height:,} pixels, above the limit of "
            f"{MAX_PIXELS:,} (FORGEBENCH_MAX_PIXELS); refused before decoding"
        )
    return image


def _to_rgb(image: Image.Image, path: Path) -> np.ndarray:
    try:
        image.seek(0)
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image, dtype=np.uint32)
            return np.repeat((array // 256).clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
    except Exception as error:  # noqa: BLE001 — damaged files make decoders raise many kinds of errors
        raise DecodeError(f"Cannot decode {path}: {error}") from None


def _read_mask_array(path: Path) -> np.ndarray:
    if path.suffix.lower() in (".npy", ".npz"):
        try:
            loaded = np.load(path, allow_pickle=False, mmap_mode="r")  # .npy: the header only, until read
            if not isinstance(loaded, np.ndarray):
                loaded = _first_member(loaded, path)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise DecodeError(f"Cannot read mask array {path}: {error}") from None
        if int(np.prod(loaded.shape[:2])) > MAX_PIXELS:
            raise DecodeError(f"Mask array {path} has shape {loaded.shape}, above the limit of {MAX_PIXELS:,} pixels")
        array = np.asarray(loaded)
        if array.ndim not in (2, 3):
            raise DecodeError(f"Mask array {path} has shape {array.shape}, expected H×W or H×W×C")
        return array
    with _open(path) as image:
        try:
            image.seek(0)
            if image.mode in ("RGBA", "LA", "P", "PA", "CMYK", "YCbCr"):
                image = image.convert("RGB")
            return np.asarray(image)
        except OSError as error:
            raise DecodeError(f"Cannot decode mask {path}: {error}") from None


def _first_member(archive: np.lib.npyio.NpzFile, path: Path) -> np.ndarray:
    """The first array of an ``.npz``, its header checked against the pixel limit before it is decompressed."""
    if not archive.files:
        raise DecodeError(f"Mask array {path} is an .npz archive with no array in it")
    name = archive.files[0]
    try:
        with zipfile.ZipFile(path) as bundle, bundle.open(f"{name}.npy") as member:
            major, _ = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape = read_header(member)[0]
    except KeyError:
        raise DecodeError(f"Mask array {path}: its first member {name!r} is not an .npy array") from None
    if len(shape) >= 2 and int(np.prod(shape[:2])) > MAX_PIXELS:
        raise DecodeError(f"Mask array {path} has shape {shape}, above the limit of {MAX_PIXELS:,} pixels")
    return archive[name]


def _columbia(raw: np.ndarray, path: Path, rule: str) -> np.ndarray:
    if raw.ndim != 3 or raw.shape[2] < 3:
        raise DecodeError(f"Columbia edge mask {path} is not an RGB image (shape {raw.shape})")
    if rule == "columbia-green-channel":
        return raw[..., 1] > 0
    pixels = raw[..., :3].astype(np.float32)
    nearest = ((pixels[..., None, :] - COLUMBIA_PALETTE) ** 2).sum(axis=-1).argmin(axis=-1)
    return {"columbia-palette": nearest >= 2, "columbia-red": nearest < 2, "columbia-bright-red": nearest == 0}[rule]
