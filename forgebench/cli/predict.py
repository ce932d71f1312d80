"""``forgebench predict``: run a detector on image files and write masks and overlays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer
from rich.table import Table

from forgebench.cli.common import console, fail
from forgebench.configure import configure
from forgebench.contract import ImageInput
from forgebench.io import DecodeError, read_rgb
from forgebench.mapcache import quantise
from forgebench.metrics import THRESHOLD, InvalidMapError, check_map, image_score, resize_to
from forgebench.options import OptionError
from forgebench.registry import UnknownPluginError

OVERLAY_RGB = np.array([255, 0, 0], dtype=np.float32)


def predict(
    detector: Annotated[str, typer.Argument(help="Detector name.")],
    images: Annotated[list[Path], typer.Argument(help="Image files.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Detector option key=value.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Write <stem>_mask.png (forged = 255 where p > 0.5), <stem>_overlay.png and <stem>_prob.png per image."""
    try:
        model = configure(detector, option or (), device).build()
    except (UnknownPluginError, OptionError, ValueError, FileNotFoundError) as error:
        fail(str(error))
    out.mkdir(parents=True, exist_ok=True)
    table = Table("image", "forged pixels", "image score", "written")
    failed = 0
    for path in images:
        try:
            pixels = read_rgb(path)
            (prediction,) = model.predict([ImageInput(image_id=f"predict/{path.name}", pixels=pixels)])
            probability = resize_to(check_map(prediction.probability), *pixels.shape[:2])
        except (DecodeError, InvalidMapError) as error:
            console.print(f"[red]{path}[/]: {error}", highlight=False)
            failed += 1
            continue
        written = _write(out, path.stem, pixels, probability)
        score = image_score(check_map(prediction.probability), prediction.score)
        table.add_row(str(path), f"{(probability > THRESHOLD).mean():.1%}", f"{score:.3f}", written)
    console.print(table)
    if failed:
        raise typer.Exit(1)


def _write(out: Path, stem: str, pixels: np.ndarray, probability: np.ndarray) -> str:
    forged = probability > THRESHOLD
    alpha = 0.5 * forged[..., None]
    overlay = (pixels * (1 - alpha) + OVERLAY_RGB * alpha).round().astype(np.uint8)
    cv2.imwrite(str(out / f"{stem}_mask.png"), forged.astype(np.uint8) * 255)
    cv2.imwrite(str(out / f"{stem}_overlay.png"), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / f"{stem}_prob.png"), quantise(probability))
    return f"{stem}_mask.png, {stem}_overlay.png, {stem}_prob.png"
