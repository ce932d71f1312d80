"""Writing the synthetic suite to disk, once per configuration, and describing what was written."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

from forgebench.data.synthetic import forge, regions
from forgebench.data.synthetic.forge import KINDS, make_sample
from forgebench.data.synthetic.sources import SOURCE_SPLITS, SPLITS

GENERATOR_VERSION = "2"
"""Bumped whenever a change to the generator changes its output; part of the cache folder's name."""

MANIFEST_NAME = "synthetic.json"


@dataclass(frozen=True)
class SyntheticConfig:
    """The seed and, per split, how many tampered and authentic images each forgery kind gets."""

    seed: int = 0
    train_tampered: int = 160
    train_authentic: int = 80
    val_tampered: int = 40
    val_authentic: int = 20
    test_tampered: int = 40
    test_authentic: int = 20

    def __post_init__(self) -> None:
        negative = {field.name: getattr(self, field.name) for field in fields(self) if getattr(self, field.name) < 0}
        if negative:
            raise ValueError(f"synthetic config values must be ≥ 0, got {negative}")

    def counts(self, split: str) -> tuple[int, int]:
        """(tampered, authentic) images per kind in ``split``."""
        return getattr(self, f"{split}_tampered"), getattr(self, f"{split}_authentic")


def config_hash(config: SyntheticConfig) -> str:
    """Ten hex digits identifying the generator version and configuration."""
    key = json.dumps({"version": GENERATOR_VERSION, "config": asdict(config)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def ensure_synthetic(cache_dir: Path, config: SyntheticConfig = SyntheticConfig()) -> Path:
    """The suite's root ``<cache_dir>/synthetic-<hash>``, generated first if it is not there.

    The build goes to a hidden sibling folder renamed into place at the end, so the final name only ever holds
    a complete suite; an interrupted build leaves a ``.synthetic-<hash>-*`` folder that is never read.
    """
    root = cache_dir / f"synthetic-{config_hash(config)}"
    if (root / MANIFEST_NAME).is_file():
        return root
    staging = cache_dir / f".{root.name}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        build(staging, config, workers=min(4, _available_cpus()))
        os.rename(staging, root)
    except OSError:
        # Another process finished the same suite first: keep its copy.
        if not (root / MANIFEST_NAME).is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def build(root: Path, config: SyntheticConfig, workers: int = 1) -> None:
    """Write every split and kind of the suite under ``root`` with ``workers`` processes; ``synthetic.json`` last.

    The files do not depend on ``workers``: each image has its own random generator.
    """
    tasks = []
    for split in SPLITS:
        tampered_count, authentic_count = config.counts(split)
        for kind in KINDS:
            for sub in ("images", "masks", "authentic"):
                (root / split / kind / sub).mkdir(parents=True, exist_ok=True)
            tasks += [_Task(root, config.seed, split, kind, index, True) for index in range(tampered_count)]
            tasks += [_Task(root, config.seed, split, kind, index, False) for index in range(authentic_count)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write, tasks, chunksize=8))
    else:
        for task in tasks:
            _write(task)
    (root / MANIFEST_NAME).write_text(json.dumps(_manifest(config), indent=2, sort_keys=True) + "\n")


def describe(root: Path) -> str:
    """A few lines for the CLI: generator, seed, and per split the photographs and the image counts."""
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    lines = [f"Synthetic suite v{manifest['generator_version']}, seed {manifest['config']['seed']}: {root}"]
    for split in SPLITS:
        kinds = manifest["counts"][split]
        counts = ", ".join(f"{kind} {kinds[kind]['tampered']}+{kinds[kind]['authentic']}" for kind in KINDS)
        lines.append(f"  {split:<5} {counts} (tampered+authentic) from {', '.join(manifest['sources'][split])}")
    return "\n".join(lines)


class _Task(NamedTuple):
    root: Path
    seed: int
    split: str
    kind: str
    index: int
    tampered: bool


def _write(task: _Task) -> None:
    sample = make_sample(task.seed, task.split, task.kind, task.index, task.tampered)
    folder = task.root / task.split / task.kind
    if task.tampered:
        name = f"{task.kind}-{task.index:04d}"
        (folder / "masks" / f"{name}.png").write_bytes(forge.encode_mask(sample.mask))
        image_path = folder / "images" / f"{name}{sample.save.suffix}"
    else:
        image_path = folder / "authentic" / f"auth-{task.index:04d}{sample.save.suffix}"
    image_path.write_bytes(sample.save.encode(sample.image))


def _available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _manifest(config: SyntheticConfig) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "hash": config_hash(config),
        "config": asdict(config),
        "sources": {split: list(photos) for split, photos in SOURCE_SPLITS.items()},
        "counts": {
            split: {kind: dict(zip(("tampered", "authentic"), config.counts(split), strict=True)) for kind in KINDS}
            for split in SPLITS
        },
        "pipeline": {
            "kinds": list(KINDS),
            "crop_sizes_hw": [list(size) for size in forge.CROP_SIZES],
            "camera_jpeg_quality": list(forge.CAMERA_QUALITY),
            "resave_jpeg_quality": list(forge.RESAVE_QUALITY),
            "png_fraction": forge.PNG_FRACTION,
            "jpeg_subsampling": {"codes": list(forge.SUBSAMPLING[0]), "probabilities": list(forge.SUBSAMPLING[1])},
            "region_area_fraction": list(regions.AREA_FRACTION),
            "mask": "8-bit PNG, 255 = forged, 0 = pristine",
        },
    }
