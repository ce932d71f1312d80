"""Time each deep detector per image and per megapixel at several image sizes, with its peak memory.

    python benchmarks/deep_speed.py [--detectors imlvit] [--megapixels 0.25,1,4] [--repeats 2] [--device cpu]

Each detector is built from a random-weight checkpoint at its released size, written in the official file layout
(timings do not depend on the weights' values). Prints one Markdown row per detector and size: seconds per image
(the mean of ``--repeats`` calls after one warm-up), seconds per megapixel, and the peak memory so far (the
process's resident set on CPU, allocated memory on CUDA).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from forgebench.detectors.deep.imlvit import IMLViT, to_official
from forgebench.detectors.deep.mvssnet import MVSSNet
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


CHECKPOINTS: dict[str, Callable[[Path], Path]] = {"imlvit": imlvit_checkpoint, "mvssnet": mvssnet_checkpoint}
"""A random-weight checkpoint in the official layout, per deep detector."""


def peak_gib(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default=",".join(CHECKPOINTS))
    parser.add_argument("--megapixels", default="0.25,1,4")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    options = parser.parse_args()
    sizes = [float(value) for value in options.megapixels.split(",")]
    print(f"device {options.device}, torch threads {torch.get_num_threads()}")
    print("| detector | image | megapixels | s / image | s / megapixel | peak memory GiB |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name in options.detectors.split(","):
            plugin = registry.detectors.get(name)
            checkpoint = CHECKPOINTS[name](Path(folder))
            detector = plugin.build(plugin.options(checkpoint=checkpoint), options.device)
            for megapixels in sizes:
                width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
                height = round(width * 3 / 4)
                pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
                batch = [ImageInput("bench/x.png", pixels)]
                detector.predict(batch)  # warm-up
                started = time.perf_counter()
                for _ in range(options.repeats):
                    detector.predict(batch)
                seconds = (time.perf_counter() - started) / options.repeats
                actual = height * width / 1e6
                print(f"| {name} | {width}×{height} | {actual:.2f} | {seconds:.2f} | {seconds / actual:.2f} | "
                      f"{peak_gib(options.device):.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
