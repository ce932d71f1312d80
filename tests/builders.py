"""Builders for tiny test files: random images and binary masks in a chosen polarity."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner, Result

from forgebench.cli import app


def write_image(path: Path, height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """A random RGB image saved in the format its suffix names; returns the pixels as decoded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return np.asarray(Image.open(path).convert("RGB"))


def write_mask(path: Path, forged: np.ndarray, forged_value: int = 255, background: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.where(forged, forged_value, background).astype(np.uint8)).save(path)


def box(height: int, width: int, top: int, left: int, size: int) -> np.ndarray:
    forged = np.zeros((height, width), bool)
    forged[top : top + size, left : left + size] = True
    return forged


PAIRS_CATALOG = """
datasets:
  {name}:
    title: pairs folder
    root: {root}
    tampered: {{images: ["images/*"]}}
    masks: {{files: ["masks/*.png"], forged_if: "> 127"}}
    authentic: {{images: ["authentic/*"]}}
    expected: {{tampered: {n_tampered}, authentic: {n_authentic}}}
suites:
  tiny: [{name}]
"""


def coverage_download(root: Path, n: int = 3, mismatched: int | None = None) -> Path:
    """A download in the Coverage layout (``COVERAGE/image/NNt.tif``, ``NN.tif``, ``mask/NNforged.tif``) with ``n``
    forged/original pairs; the mask of pair ``mismatched`` is 2 rows taller than its image."""
    top = root / "COVERAGE"
    for index in range(1, n + 1):
        write_image(top / f"image/{index}t.tif", seed=index)
        write_image(top / f"image/{index}.tif", seed=50 + index)
        height = 26 if index == mismatched else 24
        write_mask(top / f"mask/{index}forged.tif", box(height, 32, 2, 2, 4 + index))
    return top


def pairs_dataset(folder: Path, name: str = "tiny", n_tampered: int = 5, n_authentic: int = 2) -> Path:
    """``images/``, ``masks/``, ``authentic/`` with boxes of growing size; returns a catalog file for it."""
    for index in range(n_tampered):
        write_image(folder / f"images/t{index:02d}.png", seed=index)
        write_mask(folder / f"masks/t{index:02d}.png", box(24, 32, 2, 3, 4 + 2 * index))
    for index in range(n_authentic):
        write_image(folder / f"authentic/a{index:02d}.jpg", seed=100 + index)
    catalog = folder.parent / f"{name}.yaml"
    catalog.write_text(
        PAIRS_CATALOG.format(name=name, root=folder, n_tampered=n_tampered, n_authentic=n_authentic), encoding="utf-8"
    )
    return catalog


def jpeg_roundtrip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """``pixels`` encoded as JPEG at ``quality`` with Pillow's defaults and decoded again."""
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, format="JPEG", quality=quality)
    return np.array(Image.open(encoded).convert("RGB"))


def paste_uncompressed(original: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask): ``original`` JPEG-compressed at ``quality`` except a 192×192 box kept uncompressed."""
    inside = box(*original.shape[:2], top=128, left=160, size=192)
    tampered = jpeg_roundtrip(original, quality)
    tampered[inside] = original[inside]
    return tampered, inside


def run_detector(folder: Path, detector: str, *options: str) -> Result:
    """``forgebench run DETECTOR --option …`` through the CLI, on a tiny pairs dataset (2 tampered images, 1 authentic)
    written under ``folder``, with results in ``folder/r``."""
    catalog = pairs_dataset(folder / "tiny", n_tampered=2, n_authentic=1)
    arguments = ["run", detector, "--dataset", "tiny", "--catalog", str(catalog), "--results", str(folder / "r")]
    for option in options:
        arguments += ["--option", option]
    return CliRunner(env={"COLUMNS": "250"}).invoke(app, arguments)
