"""Scores precomputed outputs from a folder, so any external method's maps can be ranked.

Layout: ``<root>/<image_id without extension>.<ext>``, i.e. ``<root>/<dataset>/<relative path>``,
with ``<ext>`` one of ``.npy``, ``.npz`` (key ``map``, optional ``score``), ``.png``, ``.tif``
(8-bit /255, 16-bit /65535). An optional ``<root>/forgebench.json`` declares
``{"polarity": "white_is_forged" | "black_is_forged", "range": "prob" | "logit"}``; the default is
white = forged probabilities. A missing file is an error for that image, never a zero map.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, ImageInput, Prediction

SUFFIXES = (".npy", ".npz", ".png", ".tif", ".tiff")


@dataclass(frozen=True)
class MasksDirOptions:
    root: Path | None = None
    """Folder holding one map per image id."""


@dataclass(frozen=True)
class Convention:
    polarity: str = "white_is_forged"
    range: str = "prob"

    @classmethod
    def read(cls, root: Path) -> Convention:
        sidecar = root / "forgebench.json"
        if not sidecar.is_file():
            return cls()
        declared = json.loads(sidecar.read_text(encoding="utf-8"))
        convention = cls(polarity=declared.get("polarity", cls.polarity), range=declared.get("range", cls.range))
        if convention.polarity not in ("white_is_forged", "black_is_forged") or convention.range not in (
            "prob",
            "logit",
        ):
            raise ValueError(f"{sidecar}: unsupported polarity/range {convention}")
        return convention


class MasksDir(Detector):
    """Reads ``<root>/<image_id stem>.<ext>`` for each input; never looks at the pixels."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise FileNotFoundError(f"masks-dir root {root} is not a folder (set it with --option root=DIR)")
        self.root = root
        self.convention = Convention.read(root)

    @cached_property
    def weights_digest(self) -> str:
        """Digest of the folder's file names, sizes and modification times: new maps, new fingerprint."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.relative_to(self.root).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        return [self._read(item.image_id) for item in batch]

    def _read(self, image_id: str) -> Prediction:
        stem = self.root / Path(image_id).with_suffix("")
        path = next((stem.with_name(stem.name + s) for s in SUFFIXES if stem.with_name(stem.name + s).is_file()), None)
        if path is None:
            raise FileNotFoundError(f"no precomputed map for {image_id} under {self.root} ({'/'.join(SUFFIXES)})")
        values, score = _read_values(path)
        if self.convention.range == "logit":
            values = 1.0 / (1.0 + np.exp(-values))
        if self.convention.polarity == "black_is_forged":
            values = 1.0 - values
        return Prediction(probability=values.astype(np.float32), score=score)


def _read_values(path: Path) -> tuple[np.ndarray, float | None]:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False).astype(np.float64), None
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            score = float(archive["score"]) if "score" in archive.files else None
            return archive["map"].astype(np.float64), score
    levels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if levels is None:
        raise ValueError(f"cannot decode {path}")
    if levels.ndim == 3:
        levels = levels.mean(axis=2)
    full_scale = 65535.0 if levels.dtype == np.uint16 else 255.0
    return levels.astype(np.float64) / full_scale, None


def _build(options: MasksDirOptions, device: str) -> MasksDir:
    if options.root is None:
        raise ValueError("masks-dir needs --option root=DIR (the folder of precomputed maps)")
    return MasksDir(options.root)


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="masks-dir",
        summary="precomputed maps from a folder: <root>/<dataset>/<relative path>.{npy,npz,png,tif}",
        licence="Apache-2.0",
        weights="none (reads files)",
        to_probability="as stored: PNG/TIFF value/255 (or /65535), npy/npz as is; logits and black = forged "
        "via <root>/forgebench.json",
        reads_pixels=False,
    ),
    options=MasksDirOptions,
    build=_build,
)
