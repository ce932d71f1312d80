"""Can forgebench's evaluation loop keep a GPU busy with CLUE? The real host side, with the model paced.

    python benchmarks/clue_feed.py                                   # 1024×768 and 4000×3000 JPEGs, 55 img/s
    python benchmarks/clue_feed.py --sizes 1024x768 --workers 4,8,16 --rate 55,105

Everything a ``forgebench run clue`` does on the host runs for real: the runner decodes the JPEGs and masks on its
loader threads, the ``clue`` plugin's own ``predict_maps`` builds the square input batch, draws each image's seeded
noise and brings the maps back to each image's size, and the runner scores every map and writes it as a PNG. Only
the model's forward pass is replaced by a stand-in that sleeps for ``batch / rate`` seconds (a GPU at ``rate``
images/s; like a CUDA synchronise, sleeping frees the interpreter for the other threads), one batch at a time as on
one CUDA stream, and returns logits shaped like CLUE's head output (a 16× bilinear upsampling of a random token
grid). The printed ``device busy`` is the share of the wall time the paced device was working: 100 % means the host
side never made the GPU wait. ``in flight`` is the detector's ``batches_in_flight`` (``clue`` takes 2 on a GPU).

With ``--device cpu`` (no GPU) the tensor work that a GPU would do (the uint8 → float conversion, the sigmoid)
runs on the host too, so the host columns are then an upper bound.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from forgebench.data.catalog import load_catalog
from forgebench.data.synthetic.sources import load_photo
from forgebench.detectors.clue.noise import image_noise
from forgebench.detectors.clue.plugin import predict_maps
from forgebench.evaluation.runner import Job, run
from forgebench.evaluation.store import Store
from forgebench.plugin import registry
from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, Prediction

PHOTOS = ("astronaut", "coffee", "rocket", "grace_hopper", "chelsea", "immunohistochemistry")
CATALOG = """
datasets:
  feed:
    title: benchmark JPEGs
    root: {root}
    tampered: {{images: ["images/*.jpg"]}}
    masks: {{files: ["masks/*.png"], forged_if: "> 127"}}
"""


class PacedModel(nn.Module):
    """Stands in for :class:`CLUE` in ``predict_maps``: the paper's input size and noise, a sleeping forward.

    Its logits come from a bank drawn once, so the stand-in itself costs the host nothing per batch.
    """

    def __init__(self, rate: float, input_size: int = 1024, levels: int = 3, bank: int = 16) -> None:
        super().__init__()
        self.rate, self.input_size, self.levels = rate, input_size, levels
        self.stream = threading.Lock()
        self.anchor = nn.Parameter(torch.zeros(()), requires_grad=False)  # gives predict_maps its device
        grid = torch.randn(bank, 1, input_size // 16, input_size // 16, generator=torch.Generator().manual_seed(0))
        self.register_buffer("bank", F.interpolate(2 * grid, scale_factor=16, mode="bilinear"))
        self.calls = 0

    def eval_noise(self, image_ids: Sequence[str], device: torch.device):
        grid = self.input_size // 16
        noise = image_noise((self.levels, 16, grid, grid), 0, image_ids, device)
        return torch.rand(len(image_ids), self.levels, device=device), noise

    def forward(self, images: torch.Tensor, levels, noise, one_level_per_call: bool = False) -> torch.Tensor:
        if self.rate > 0:
            with self.stream:
                time.sleep(images.shape[0] / self.rate)
        self.calls += 1
        rows = (torch.arange(images.shape[0], device=images.device) + self.calls) % self.bank.shape[0]
        return self.bank[rows]


@dataclass(frozen=True)
class PacedOptions:
    rate: float = 55.0
    """Images per second of the stand-in device (0: no device time at all)."""
    in_flight: int = 2


class PacedCLUE(Detector):
    def __init__(self, options: PacedOptions, device: str) -> None:
        self.model = PacedModel(options.rate).to(device)
        self.batches_in_flight = options.in_flight
        self.cpu_seconds = 0.0
        self.counting = threading.Lock()

    def predict(self, batch):
        started = time.thread_time()
        maps = predict_maps(self.model, [i.pixels for i in batch], [i.image_id for i in batch], bf16=False)
        with self.counting:
            self.cpu_seconds += time.thread_time() - started
        return [Prediction(probability=m) for m in maps]


BUILT: list[PacedCLUE] = []


def build(options: PacedOptions, device: str) -> PacedCLUE:
    BUILT.append(PacedCLUE(options, device))
    return BUILT[-1]


PLUGIN = DetectorPlugin(
    card=DetectorCard(name="paced-clue", summary="clue's host side around a sleeping model", devices=("cpu", "cuda")),
    options=PacedOptions,
    build=build,
)


@dataclass
class Row:
    size: str
    workers: int
    in_flight: int
    batch: int
    rate: float
    images: int
    seconds: float
    load_ms: float
    host_ms: float
    """CPU time of all the process's threads per image."""
    predict_ms: float
    """CPU time of the threads in ``predict`` (the plugin's host side) per image."""

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds

    @property
    def busy(self) -> float | None:
        return self.images / self.rate / self.seconds if self.rate else None


def write_dataset(root: Path, size: tuple[int, int], count: int) -> Path:
    """``count`` JPEGs (quality 92) of scikit-image's photographs at ``size`` (w, h), each with a box mask."""
    width, height = size
    photos = [load_photo(name) for name in PHOTOS]
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for index in range(count):
        photo = photos[index % len(photos)]
        pixels = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
        Image.fromarray(np.ascontiguousarray(pixels[:, :: 1 - 2 * (index // len(photos) % 2)])).save(
            root / f"images/{index:04d}.jpg", quality=92
        )
        mask = np.zeros((height, width), np.uint8)
        mask[height // 4 : height // 2, width // 3 : width // 3 + width // 4] = 255
        Image.fromarray(mask).save(root / f"masks/{index:04d}.png")
    catalog = root / "catalog.yaml"
    catalog.write_text(CATALOG.format(root=root), encoding="utf-8")
    return catalog


def measure(catalog: Path, size: str, workers: int, in_flight: int, batch: int, rate: float, device: str) -> Row:
    """One ``run`` of the paced detector over the dataset into a fresh results folder."""
    spec = load_catalog((catalog,)).dataset("feed")
    with tempfile.TemporaryDirectory() as results:
        job = Job(
            detector="paced-clue",
            datasets=(spec,),
            results=Path(results),
            options=(f"rate={rate}", f"in_flight={in_flight}"),
            device=device,
            batch_size=batch,
            workers=workers,
        )
        with Store(Path(results)) as store:
            started, host = time.perf_counter(), time.process_time()
            summary = run(job, store)
            seconds, host = time.perf_counter() - started, time.process_time() - host
            records = store.records(next(iter(store.evaluations())))
    scored = summary.outcomes[0].scored
    if scored != len(records) or any(r.status != "ok" for r in records):
        raise RuntimeError(f"{size}: {scored} of {len(records)} images scored")
    load_ms = 1000 * statistics.fmean(r.load_seconds for r in records)
    predict_ms = 1000 * BUILT[-1].cpu_seconds / scored
    return Row(size, workers, in_flight, batch, rate, scored, seconds, load_ms, 1000 * host / scored, predict_ms)


def table(rows: Sequence[Row], where: str) -> str:
    lines = [
        f"forgebench run with clue's host side, model paced; {where}",
        "",
        "| image size | workers | in flight | batch | device img/s | img/s | device busy | decode ms/img "
        "| host CPU ms/img | predict CPU ms/img |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        busy = f"{100 * r.busy:.0f} %" if r.busy is not None else "–"
        rate = f"{r.rate:g}" if r.rate else "∞"
        lines.append(
            f"| {r.size} | {r.workers} | {r.in_flight} | {r.batch} | {rate} | {r.images_per_s:.1f} | {busy} "
            f"| {r.load_ms:.1f} | {r.host_ms:.1f} | {r.predict_ms:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    args = _arguments(argv)
    registry.detectors.register("paced-clue", PLUGIN)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            width, height = (int(side) for side in size.split("x"))
            catalog = write_dataset(Path(folder) / size, (width, height), args.images)
            for workers in args.workers:
                for rate in args.rate:
                    for in_flight in args.in_flight:
                        rows.append(measure(catalog, size, workers, in_flight, args.batch, rate, device))
    where = f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, {cv2.getNumThreads()} OpenCV threads"
    print(table(rows, f"{where}, device {device}"))
    return rows


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda t: t.split(","), default=["1024x768", "4000x3000"], help="WxH,…")
    parser.add_argument("--images", type=int, default=64, help="images per size")
    parser.add_argument("--workers", type=lambda t: [int(w) for w in t.split(",")], default=[2], help="loader threads")
    parser.add_argument("--rate", type=lambda t: [float(r) for r in t.split(",")], default=[55.0, 0.0],
                        help="paced device images/s (0: none)")  # fmt: skip
    parser.add_argument("--in-flight", type=lambda t: [int(n) for n in t.split(",")], default=[1, 2],
                        help="batches the detector takes at once")  # fmt: skip
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", help="where the input batch and maps go (default: cuda if available)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
