"""Catalog images with their ground truth, for plugins that train: the one way a plugin reaches the data layer.

A trainer names datasets or suites (built-in or from extra catalog files) and gets every image of them, each with
the rule that reads its mask; :meth:`TrainingImage.read` decodes the pair exactly as an evaluation run does. A
synthetic dataset marked ``live`` in the catalog is never written: each of its images is generated afresh for every
draw a trainer makes (:class:`DrawnImage`), so an epoch never repeats the last one's crops and forgeries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from forgebench.data.catalog import DatasetSpec, load_catalog
from forgebench.data.decode import MaskRule, read_mask, read_rgb
from forgebench.data.manifest import Sample, build_manifest, is_live
from forgebench.data.synthetic import SyntheticConfig, make_sample


@dataclass(frozen=True)
class TrainingImage:
    """One catalogued image: ``sample`` names it (``image_id``, ``dataset``, ``label``, ``image``, ``mask``) and
    ``rule`` says which mask values are forged."""

    sample: Sample
    rule: MaskRule = field(default_factory=MaskRule)

    def read(self, draw: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """H×W×3 uint8 RGB pixels and the H×W boolean forged mask (all false for an authentic image).

        ``draw`` (a trainer's seed for this draw) matters only to a :class:`DrawnImage`. Raises ``ValueError``
        naming the mask when its size differs from the image's: training needs aligned pairs.
        """
        pixels = read_rgb(self.sample.image)
        if self.sample.mask is None:
            return pixels, np.zeros(pixels.shape[:2], bool)
        forged = read_mask(self.sample.mask, self.rule).forged
        if forged.shape != pixels.shape[:2]:
            raise ValueError(f"{self.sample.mask}: mask is {forged.shape[::-1]}, image is {pixels.shape[1::-1]} (w×h)")
        return pixels, forged

    def forged(self) -> np.ndarray:
        """The H×W boolean forged mask alone (all false for an authentic image); the pixels are not decoded."""
        if self.sample.mask is None:
            with Image.open(self.sample.image) as image:
                return np.zeros(image.size[::-1], bool)
        return read_mask(self.sample.mask, self.rule).forged


@dataclass(frozen=True)
class DrawnImage(TrainingImage):
    """A slot of a live synthetic dataset: ``read(draw)`` generates a new sample for every draw (``draw=None``: the
    slot's own fixed sample), saved and decoded as the suite's files are."""

    config: SyntheticConfig = field(default_factory=SyntheticConfig)
    split: str = "train"
    kind: str = "splice"
    index: int = 0

    def read(self, draw: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        tampered = self.sample.label == "tampered"
        made = make_sample(self.config.seed, self.split, self.kind, self.index if draw is None else draw, tampered)
        pixels = read_rgb(self.sample.image, made.save.encode(made.image))
        return pixels, made.mask if made.mask is not None else np.zeros(pixels.shape[:2], bool)

    def forged(self) -> np.ndarray:
        return self.read()[1]


def drawn_images(spec: DatasetSpec) -> list[DrawnImage]:
    """The slots of a live synthetic dataset: as many tampered and authentic ones as its split has files."""
    generated = spec.generated or {}
    config = SyntheticConfig(**generated.get("config", {}))
    split, kind = generated["split"], generated["kind"]
    tampered, authentic = config.counts(split)
    slots = []
    for label, count in (("tampered", tampered), ("authentic", authentic)):
        for index in range(count):
            name = f"{label}-{index:04d}"
            where = Path("<drawn>") / spec.name / name
            sample = Sample(spec.name, f"{spec.name}/{name}", where, where if label == "tampered" else None, label)
            index_key = index if label == "tampered" else tampered + index
            slots.append(DrawnImage(sample, spec.mask_rule, config, split, kind, index_key))
    return slots


def training_images(
    names: Sequence[str], data_root: Path | None = None, catalogs: Sequence[Path] = ()
) -> dict[str, list[TrainingImage]]:
    """Every image of the datasets ``names`` asks for, by dataset name.

    Parameters:
        names: Catalog dataset names or suite names (a suite stands for its datasets).
        data_root: Where the datasets live (default: ``--data-root``'s default, see ``forgebench list datasets``).
        catalogs: Extra catalog YAML files, read after the built-in one.

    Raises the catalog's error for an unknown name and ``DatasetMissingError`` for a dataset that is not on disk.
    """
    catalog = load_catalog(tuple(catalogs))
    found: dict[str, list[TrainingImage]] = {}
    for name in names:
        specs = catalog.resolve(name) if name in catalog.suites else catalog.resolve(None, (name,))
        for spec in specs:
            if is_live(spec):
                found[spec.name] = list(drawn_images(spec))
                continue
            manifest = build_manifest(spec, data_root)
            found[spec.name] = [TrainingImage(sample, spec.mask_rule) for sample in manifest.samples]
    return found
