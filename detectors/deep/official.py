"""What every deep detector built from its authors' checkpoint shares: its options and how the model is loaded."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import nn

from forgebench.detectors.deep.weights import file_digest, load_strict, read_official
from forgebench.plugin.contract import Detector


@dataclass(frozen=True)
class CheckpointOptions:
    checkpoint: Path | None = None
    """The checkpoint file as its authors publish it (the card says where), or a safetensors copy of it."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """bf16 autocast (CUDA or CPU); fp32 by default, as bf16's agreement with it is measured on random weights only."""


@dataclass(frozen=True)
class FullResolutionOptions(CheckpointOptions):
    """Options of a detector that runs at the image's own resolution, whose memory grows with the image."""

    max_megapixels: float = 8.0
    """Larger images are refused, each with an error naming its size (the run goes on); the card gives the
    measured peak memory per image size to choose a limit for a machine. The default is the largest size measured
    for every full-resolution detector on CPU (7.0 GiB at most)."""

    def __post_init__(self) -> None:
        if self.max_megapixels <= 0:
            raise ValueError(f"max_megapixels must be positive, got {self.max_megapixels}")


class OfficialDetector(Detector):
    """Builds ``model`` from the official checkpoint: strict, on ``device``, in evaluation mode, with the file's
    SHA-256 as ``weights_digest``. Subclasses give ``name`` and ``published`` (for errors) and :meth:`make_model`."""

    name: ClassVar[str]
    published: ClassVar[str]

    def __init__(self, options: CheckpointOptions, device: str) -> None:
        tensors = self.translate(read_official(options.checkpoint, self.name, self.published))
        self.model = self.make_model(tensors)
        load_strict(self.model, tensors, options.checkpoint)
        self.device = torch.device(device)
        self.model = self.model.eval().to(self.device)
        self.options = options
        self.bf16 = options.precision == "bf16"
        self.weights_digest = file_digest(options.checkpoint)

    @abc.abstractmethod
    def make_model(self, tensors: Mapping[str, torch.Tensor]) -> nn.Module:
        """The model the checkpoint's tensors were saved from (its size read off their shapes)."""

    def translate(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Official key names → the model's (the same unless a subclass says otherwise)."""
        return tensors

    def refuse_larger(self, pixels: np.ndarray) -> None:
        """Raise for an image above the options' ``max_megapixels`` (:class:`FullResolutionOptions`); the runner
        records the error for that image and goes on."""
        max_megapixels = self.options.max_megapixels
        height, width = pixels.shape[:2]
        if height * width > max_megapixels * 1e6:
            raise ValueError(
                f"{self.name} runs at full resolution and this {width}×{height} image ({height * width / 1e6:.1f} "
                f"megapixels) is above max_megapixels={max_megapixels:g}; raise --option max_megapixels=N if this "
                f"machine has the memory (the card gives peak memory per image size)"
            )

    def precision(self) -> AbstractContextManager:
        """Inference mode, with bf16 autocast when asked for."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)
