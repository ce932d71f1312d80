"""Compact storage of scored probability maps (8-bit PNG at the ground truth's size).

Maps are stored after the default protocol's resize, so re-scoring needs no interpolation; where a detector's map
has another size, the run also keeps it at that size (``maps-native/``) for protocols that resize the mask instead.
Quantisation keeps every pixel on its side of the 0.5 threshold (levels ≤ 127 below or at it, ≥ 128 above), so
F1, IoU, FPR and image decisions recomputed from a cached map equal those of the original map;
threshold-free columns (AUC, best threshold) are exact up to the 1/255 quantisation.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from forgebench.evaluation.metrics import THRESHOLD
from forgebench.evaluation.store import process_alive


def quantise(probability: np.ndarray) -> np.ndarray:
    """uint8 levels with ``level > 127`` exactly where ``probability > 0.5``."""
    levels = np.rint(probability * 255.0)
    above = probability > THRESHOLD
    return np.where(above, np.maximum(levels, 128), np.minimum(levels, 127)).astype(np.uint8)


def dequantise(levels: np.ndarray) -> np.ndarray:
    return levels.astype(np.float32) / 255.0


def save_map(path: Path, probability: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One temporary name per process and thread: writers of the same map never share a file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.png")
    if not cv2.imwrite(str(temporary), quantise(probability)):
        raise OSError(f"Cannot write map {temporary}")
    temporary.replace(path)
    for stale in path.parent.glob(f".{path.name}.*.tmp.png"):  # left by a writer killed mid-write
        pid = stale.name[len(path.name) + 2 :].partition(".")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            stale.unlink(missing_ok=True)


def load_levels(path: Path) -> np.ndarray:
    """The cached map's uint8 levels (``level > 127`` ⇔ forged at the fixed threshold)."""
    levels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if levels is None:
        raise FileNotFoundError(f"Cached map not found or unreadable: {path}")
    return levels


def load_map(path: Path) -> np.ndarray:
    return dequantise(load_levels(path))
