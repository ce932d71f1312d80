"""Training and validation images from catalog datasets: selection, balanced sampling, augmentation.

Images are resized to the model's square input and masks to its output size (area average, then ≥ 0.5); an
authentic image has an all-zero mask. A file that cannot be read fails loudly with its path.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from forgebench.data.training import TrainingImage, training_images
from forgebench.detectors.clue.plugin import square_input
from forgebench.detectors.clue.train.settings import Augment, Data


def unit_hash(image_id: str, salt: str) -> float:
    """A fixed pseudo-random number in [0, 1) per image id (subsets and hold-outs that never change)."""
    return zlib.crc32(f"{salt}:{image_id}".encode()) / 2**32


def collect(names: Sequence[str], data: Data) -> list[TrainingImage]:
    """The images of ``names`` (datasets or suites), each dataset cut to its configured fraction."""
    root = Path(data.data_root) if data.data_root else None
    found = training_images(names, root, tuple(Path(p) for p in data.catalog))
    items: list[TrainingImage] = []
    for dataset, images in found.items():
        share = data.fractions.get(dataset, 1.0)
        items += [image for image in images if unit_hash(image.sample.image_id, "subset") < share]
    return items


def split(
    items: list[TrainingImage], val: list[TrainingImage] | None, fraction: float
) -> tuple[list[TrainingImage], list[TrainingImage]]:
    """(train, val): ``val`` as given, or a fixed ``fraction`` of ``items`` held out by image id."""
    if val is not None:
        return items, val
    held = {i.sample.image_id for i in items if unit_hash(i.sample.image_id, "val") < fraction}
    return [i for i in items if i.sample.image_id not in held], [i for i in items if i.sample.image_id in held]


def draw_seed(*parts: object) -> int:
    """A 63-bit seed from ``parts`` (the run's seed, an epoch, a position …): the same parts, the same seed."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "little") >> 1


class EpochDraws(Sampler[tuple[int, int]]):
    """The images an epoch draws, each with the seed of its augmentation, as a function of (seed, epoch, position).

    Every draw depends on nothing else (not on workers, processes or what ran before), so a training resumed at
    any step sees exactly the draws an uninterrupted one sees. ``balanced``: every dataset drawn equally often, an
    image's weight being 1 / (images in its dataset), with replacement; otherwise shuffled passes over all images.
    """

    def __init__(self, items: Sequence[TrainingImage], size: int, seed: int, balanced: bool) -> None:
        counts: dict[str, int] = {}
        for item in items:
            counts[item.sample.dataset] = counts.get(item.sample.dataset, 0) + 1
        self.weights = torch.tensor([1.0 / counts[item.sample.dataset] for item in items]) if balanced else None
        self.count, self.size, self.seed, self.epoch = len(items), size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(draw_seed(self.seed, self.epoch, "order"))
        if self.weights is not None:
            order = torch.multinomial(self.weights, self.size, replacement=True, generator=generator)
        else:
            passes = -(-self.size // self.count)
            order = torch.cat([torch.randperm(self.count, generator=generator) for _ in range(passes)])[: self.size]
        for position, index in enumerate(order.tolist()):
            yield index, draw_seed(self.seed, self.epoch, position)


def augment(pixels: np.ndarray, forged: np.ndarray, settings: Augment, rng: np.random.Generator):
    """Random flip, rescale and JPEG round trip (the mask follows every geometric change)."""
    if rng.random() < settings.flip:
        pixels, forged = pixels[:, ::-1], forged[:, ::-1]
    if rng.random() < settings.rescale:
        factor = rng.uniform(*settings.scale)
        size = (max(16, round(pixels.shape[1] * factor)), max(16, round(pixels.shape[0] * factor)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        forged = cv2.resize(forged.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    if rng.random() < settings.jpeg:
        quality = int(rng.integers(settings.quality[0], settings.quality[1] + 1))
        ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(pixels[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        pixels = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(pixels), np.ascontiguousarray(forged)


def target(forged: np.ndarray, size: int) -> np.ndarray:
    """The mask at the model's output size: area-averaged, then ≥ 0.5 counts as forged."""
    return (cv2.resize(forged.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) >= 0.5).astype(np.float32)


class TrainingImages(Dataset):
    """(image, target) tensors at the model's sizes, augmented when ``augmentation`` is given."""

    def __init__(self, items: Sequence[TrainingImage], input_size: int, output_size: int, augmentation: Augment | None):
        self.items, self.input_size, self.output_size = list(items), input_size, output_size
        self.augmentation = augmentation

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``key`` is (index, augmentation seed), as :class:`EpochDraws` yields it."""
        index, seed = key
        pixels, forged = self.items[index].read(seed)  # a live synthetic image is generated from the draw's seed
        if self.augmentation is not None:
            pixels, forged = augment(pixels, forged, self.augmentation, np.random.default_rng(seed))
        image = torch.from_numpy(square_input(pixels, self.input_size)).permute(2, 0, 1)
        return image, torch.from_numpy(target(forged, self.output_size))[None]
