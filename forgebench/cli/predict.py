"""``forgebench predict``: run a detector on image files and write masks and overlays."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer
from rich.table import Table

from forgebench.cli.common import DetectorOptions, DeviceOption, console, fail
from forgebench.cli.fit import print_fitted
from forgebench.data.decode import read_file, read_rgb
from forgebench.evaluation.configure import configure
from forgebench.evaluation.mapcache import quantise
from forgebench.evaluation.metrics import THRESHOLD, check_map, image_score, resize_to
from forgebench.plugin.contract import Detector, ImageInput
from forgebench.plugin.options import OptionError
from forgebench.plugin.registry import UnknownPluginError

OVERLAY_RGB = np.array([255, 0, 0], dtype=np.float32)


def predict(
    detector: Annotated[str, typer.Argument(help="Detector name.")],
    images: Annotated[list[Path], typer.Argument(help="Image files.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    option: DetectorOptions = None,
    device: DeviceOption = "auto",
) -> None:
    """Write <stem>_mask.png (forged = 255 where p > 0.5), <stem>_overlay.png and <stem>_prob.png per image.

    Inputs that share a file stem get -2, -3, … appended in the order given, so no output overwrites another.
    """
    model = _build(detector, option or (), device)
    out.mkdir(parents=True, exist_ok=True)
    table = Table("image", "forged pixels", "image score", "written")
    failed = 0
    for path, stem in zip(images, unique_stems(images), strict=True):
        try:
            stored = read_file(path)
            pixels = read_rgb(path, stored)
            (prediction,) = model.predict([ImageInput(f"predict/{path.name}", pixels, stored)])
            raw = check_map(prediction.probability)
            score = image_score(raw, prediction.score)
        except Exception as error:  # noqa: BLE001 — report the failure for this image and go on
            console.print(f"[red]{path}[/]: {type(error).__name__}: {error}", highlight=False)
            failed += 1
            continue
        probability = resize_to(raw, *pixels.shape[:2])
        written = _write(out, stem, pixels, probability)
        table.add_row(str(path), f"{(probability > THRESHOLD).mean():.1%}", f"{score:.3f}", written)
    print_fitted(table)
    if failed:
        raise typer.Exit(1)


def unique_stems(images: list[Path]) -> list[str]:
    """Each image's file stem, with -2, -3, … appended to repeats (in order) so every stem is distinct."""
    taken: set[str] = set()
    stems = []
    for path in images:
        stem, repeat = path.stem, 1
        while stem in taken:
            repeat += 1
            stem = f"{path.stem}-{repeat}"
        taken.add(stem)
        stems.append(stem)
    return stems


def _build(detector: str, option_pairs: Sequence[str], device: str) -> Detector:
    try:
        configured = configure(detector, option_pairs, device)
    except (UnknownPluginError, OptionError, ValueError) as error:
        fail(str(error))
    if not configured.plugin.card.reads_pixels:
        fail(
            f"{detector} does not read pixels: it looks up precomputed maps by dataset image id, so it cannot run on "
            f"image files. Score its maps with `forgebench run {detector} --option root=DIR --dataset NAME` instead."
        )
    try:
        return configured.build()
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))


def _write(out: Path, stem: str, pixels: np.ndarray, probability: np.ndarray) -> str:
    forged = probability > THRESHOLD
    alpha = 0.5 * forged[..., None]
    overlay = (pixels * (1 - alpha) + OVERLAY_RGB * alpha).round().astype(np.uint8)
    cv2.imwrite(str(out / f"{stem}_mask.png"), forged.astype(np.uint8) * 255)
    cv2.imwrite(str(out / f"{stem}_overlay.png"), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / f"{stem}_prob.png"), quantise(probability))
    return f"{stem}_mask.png, {stem}_overlay.png, {stem}_prob.png"
