"""Time each deep detector per image and per megapixel at several image sizes, with its peak memory.

    python benchmarks/deep_speed.py [--detectors imlvit,trufor] [--megapixels 0.25,1,4] [--repeats 2]
                                    [--device cpu] [--precision fp32]

Each detector is built from a random-weight checkpoint at its released size, written in the official file layout
(timings do not depend on the weights' values). Each (detector, size) runs in a fresh process, so that its peak
memory is its own: the process's peak resident set on CPU, the peak allocated memory on CUDA. Prints one Markdown
row per detector and size: seconds per image (the mean of ``--repeats`` calls after one warm-up) and per megapixel;
with ``--precision bf16``, also the largest and the mean absolute difference of the map from the fp32 one.
An image the detector refuses (above its ``max_megapixels``) prints the error instead.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from forgebench.detectors.deep.catnet import CATNet
from forgebench.detectors.deep.imlvit import IMLViT, to_official
from forgebench.detectors.deep.mvssnet import MVSSNet
from forgebench.detectors.deep.trufor import TruFor
from forgebench.plugin import registry
from forgebench.plugin.contract import ImageInput


def imlvit_checkpoint(folder: Path) -> Path:
    path = folder / "iml-vit_checkpoint.pth"
    torch.save({"model": to_official(IMLViT().state_dict())}, path)
    return path


def mvssnet_checkpoint(folder: Path) -> Path:
    path = folder / "mvssnet_casia.pt"
    torch.save(MVSSNet().state_dict(), path)
    return path


def trufor_checkpoint(folder: Path) -> Path:
    path = folder / "trufor.pth.tar"
    torch.save({"state_dict": TruFor().state_dict()}, path)
    return path


def catnet_checkpoint(folder: Path) -> Path:
    path = folder / "CAT_full_v2.pth.tar"
    torch.save({"state_dict": CATNet().state_dict(), "epoch": 0}, path)
    return path


CHECKPOINTS: dict[str, Callable[[Path], Path]] = {
    "imlvit": imlvit_checkpoint,
    "mvssnet": mvssnet_checkpoint,
    "trufor": trufor_checkpoint,
    "catnet": catnet_checkpoint,
}
"""A random-weight checkpoint in the official layout, per deep detector."""


def measure(name: str, checkpoint: Path, megapixels: float, device: str, precision: str, repeats: int) -> str:
    """One Markdown row: time one image of about ``megapixels`` (4:3) in this (fresh) process, and its peak memory."""
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    actual = height * width / 1e6
    plugin = registry.detectors.get(name)
    detector = plugin.build(plugin.options(checkpoint=checkpoint, precision=precision, **_no_limit(plugin)), device)
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    batch = [ImageInput("bench/x.png", pixels)]
    detector.predict(batch)  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        detector.predict(batch)
    seconds = (time.perf_counter() - started) / repeats
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    row = f"| {name} | {width}×{height} | {actual:.2f} | {seconds:.2f} | {seconds / actual:.2f} | {peak:.1f} |"
    if precision == "bf16":  # how far the bf16 map is from the fp32 one, on the same image
        exact = plugin.build(plugin.options(checkpoint=checkpoint, **_no_limit(plugin)), device)
        difference = np.abs(detector.predict(batch)[0].probability - exact.predict(batch)[0].probability)
        row += f" {difference.max():.4f} | {difference.mean():.5f} |"
    return row


def _no_limit(plugin: object) -> dict[str, float]:
    """Lift a full-resolution detector's size limit: the benchmark is there to measure what the limit should be."""
    fields = getattr(plugin.options, "__dataclass_fields__", {})
    return {"max_megapixels": float("inf")} if "max_megapixels" in fields else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default=",".join(CHECKPOINTS))
    parser.add_argument("--megapixels", default="0.25,1,4")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    options = parser.parse_args()
    sizes = [float(value) for value in options.megapixels.split(",")]
    print(f"device {options.device}, precision {options.precision}, torch threads {torch.get_num_threads()}")
    versus = " max abs Δ vs fp32 | mean abs Δ |" if options.precision == "bf16" else ""
    print(f"| detector | image | megapixels | s / image | s / megapixel | peak memory GiB |{versus}")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * versus.count("|"))
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        for name in options.detectors.split(","):
            checkpoint = CHECKPOINTS[name](Path(folder))
            for megapixels in sizes:
                with ProcessPoolExecutor(1, mp_context=spawn) as fresh:
                    task = fresh.submit(measure, name, checkpoint, megapixels, options.device, options.precision,
                                        options.repeats)  # fmt: skip
                    try:
                        print(task.result(), flush=True)
                    except Exception as error:  # noqa: BLE001 — print the failure (e.g. out of memory) and go on
                        print(f"| {name} | {megapixels} MP | failed: {type(error).__name__}: {error} | | | |")


if __name__ == "__main__":
    main()
