"""Training settings: dataclasses with a default for every field, read from YAML plus ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from forgebench.plugin.options import settings_from


@dataclass(frozen=True)
class Data:
    train: tuple[str, ...] = ("casia2", "imd2020", "fantastic-reality", "tampcoco")
    """Catalog datasets (or suites) to train on."""
    fractions: dict[str, float] = field(default_factory=lambda: {"tampcoco": 0.01})
    """Share of a dataset's images used (a fixed subset, chosen by image id)."""
    val: tuple[str, ...] = ()
    """Held-out datasets for validation; empty: hold out ``val_fraction`` of the training images."""
    val_fraction: float = 0.02
    balanced: bool = True
    """Draw every training dataset equally often, whatever its size."""
    epoch_size: int | None = None
    """Images per epoch (default: all training images once)."""
    data_root: str | None = None
    catalog: tuple[str, ...] = ()
    """Extra catalog YAML files (relative to the config file that names them)."""
    workers: int = 2


@dataclass(frozen=True)
class Augment:
    flip: float = 0.5
    """Probability of a horizontal flip."""
    rescale: float = 0.3
    """Probability of resizing by a factor drawn from ``scale``."""
    scale: tuple[float, float] = (0.5, 1.5)
    jpeg: float = 0.3
    """Probability of a JPEG round trip at a quality drawn from ``quality``."""
    quality: tuple[int, int] = (70, 100)


@dataclass(frozen=True)
class Optim:
    epochs: int = 20
    batch_size: int = 16
    """Effective batch (over all processes and accumulation steps)."""
    micro_batch: int = 4
    """Images per process and step."""
    lr_lora: float = 1e-4
    lr_heads: float = 5e-4
    weight_decay: float = 1e-4
    warmup: float = 0.02
    """Share of all steps spent warming the learning rate up from 0."""
    clip: float = 1.0


@dataclass(frozen=True)
class TrainConfig:
    model: dict[str, Any] = field(default_factory=lambda: {"preset": "paper"})
    """``preset`` plus overrides of the model config (see the README's CLUE section)."""
    data: Data = field(default_factory=Data)
    augment: Augment = field(default_factory=Augment)
    optim: Optim = field(default_factory=Optim)
    output: str = "runs/clue"
    """Folder for checkpoints (best.safetensors, last.safetensors, state.safetensors) and logs."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """auto: bf16 autocast on GPU, fp32 on CPU."""
    checkpointing: Literal["auto", "on", "off"] = "auto"
    """Gradient checkpointing of the SD3 and SAM blocks; auto: on with a GPU."""
    seed: int = 0
    save_every: int = 0
    """Optimizer steps between saves of ``state.safetensors`` within an epoch (0: at the end of each epoch only); a
    killed run resumes from the last save, exactly as if it had not stopped."""
    resume: str | None = None
    """A state.safetensors to continue from (``auto``: the output folder's, if any)."""
    tensorboard: Literal["auto", "on", "off"] = "auto"
    """Also log to TensorBoard (auto: when the tensorboard package is installed)."""


def load_settings(file: Path | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Defaults ← the YAML ``file`` ← ``key=value`` overrides (values parsed as YAML, keys dotted)."""
    settings = settings_from(TrainConfig, file, overrides)
    if file is not None and settings.data.catalog:  # catalog files named in a config are relative to it
        catalogs = tuple(str((file.parent / path).resolve()) for path in settings.data.catalog)
        settings = dataclasses.replace(settings, data=dataclasses.replace(settings.data, catalog=catalogs))
    return settings
