"""The ``clue`` detector: a trained CLUE checkpoint run over batches of images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch

from forgebench.detectors.clue import checkpoint
from forgebench.detectors.clue.model import CLUE
from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, ImageInput, Prediction


@dataclass(frozen=True)
class CLUEOptions:
    checkpoint: Path | None = None
    """A CLUE checkpoint (.safetensors) written by ``forgebench train clue``."""
    preset: str | None = None
    """If set, refuse a checkpoint trained from another preset (e.g. paper)."""
    sd3_weights: str | None = None
    """Where SD3 is on this machine (hub id or diffusers folder), if not where the checkpoint was trained."""
    sam_weights: str | None = None
    """Where the SAM checkpoint is on this machine, if not where the checkpoint was trained."""
    seed: int | None = None
    """Seed of the evaluation noise (default: the checkpoint's)."""
    merge_lora: bool = True
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """auto: bf16 autocast on CUDA, fp32 on CPU."""
    compile: str | None = None
    """A ``torch.compile`` backend (``inductor`` for speed; the first batch of each shape then compiles)."""


def square_pixels(pixels: np.ndarray, size: int) -> np.ndarray:
    """H×W×3 uint8 → size×size×3 uint8 (area when shrinking, bilinear when enlarging)."""
    shrinking = pixels.shape[0] > size or pixels.shape[1] > size
    return cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def square_input(pixels: np.ndarray, size: int) -> np.ndarray:
    """H×W×3 uint8 → size×size×3 float32 in [0, 1]: the model's input."""
    return square_pixels(pixels, size).astype(np.float32) / 255


def predict_maps(model: CLUE, pixels: Sequence[np.ndarray], image_ids: Sequence[str], bf16: bool) -> list[np.ndarray]:
    """Probability maps at each image's own size (the model in eval mode, noise fixed per image id).

    The batch crosses to the device as uint8 and becomes :func:`square_input`'s floats there (the same values):
    a quarter of the bytes to copy, and no per-pixel float work on the host thread that feeds the device.
    """
    device = next(model.parameters()).device
    size = model.input_size
    batch = torch.from_numpy(np.stack([square_pixels(p, size) for p in pixels])).permute(0, 3, 1, 2)
    if device.type == "cuda":
        batch = batch.pin_memory()
    images = batch.to(device, non_blocking=True).float() / 255
    levels, noise = model.eval_noise(image_ids, device)
    maps = infer(model, images, levels, noise, bf16).cpu().numpy()
    return [cv2.resize(m, p.shape[1::-1], interpolation=cv2.INTER_LINEAR) for m, p in zip(maps, pixels, strict=True)]


def infer(
    model: CLUE,
    images: torch.Tensor,
    levels: torch.Tensor | None,
    noise: torch.Tensor | None,
    bf16: bool,
    one_level_per_call: bool = False,
) -> torch.Tensor:
    """P(forged) maps (B, S, S) on the model's device for images (B, 3, S, S) in [0, 1]: the inference step."""
    with torch.inference_mode(), torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(images, levels, noise, one_level_per_call)
    return torch.sigmoid(logits.float())[:, 0]


class CLUEDetector(Detector):
    def __init__(self, options: CLUEOptions, device: str) -> None:
        if options.checkpoint is None:
            raise ValueError("clue needs a trained checkpoint: --option checkpoint=FILE (from `forgebench train clue`)")
        self.path = options.checkpoint
        config, tensors, _ = checkpoint.read(self.path)
        if options.preset is not None and config.preset != options.preset:
            raise ValueError(f"{self.path} was trained from preset {config.preset!r}, not {options.preset!r}")
        overrides: dict[str, Any] = {}
        if options.sd3_weights:
            overrides["sd3.weights"] = options.sd3_weights
        if options.sam_weights:
            overrides["sam.weights"] = options.sam_weights
        if options.seed is not None:
            overrides["noise.seed"] = options.seed
        model = checkpoint.assemble(config.override(overrides), tensors, self.path)
        if options.merge_lora:
            model.merge_lora()
        self.device = torch.device(device)
        self.model: CLUE = model.eval().to(self.device)
        if options.compile:
            backends = torch._dynamo.list_backends(exclude_tags=())
            if options.compile not in backends:
                known = ", ".join(backends)
                raise ValueError(f"clue: compile={options.compile!r} is not a torch.compile backend ({known})")
            self.model.compile(backend=options.compile)
        self.bf16 = options.precision == "bf16" or (options.precision == "auto" and self.device.type == "cuda")
        # On a GPU, a second batch's resizing and copies overlap the first's device work. Compiled models stay at
        # one: torch.compile does not promise thread safety.
        self.batches_in_flight = 2 if self.device.type == "cuda" and not options.compile else 1

    @cached_property
    def weights_digest(self) -> str:
        return checkpoint.digest(self.path)

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        maps = predict_maps(self.model, [i.pixels for i in batch], [i.image_id for i in batch], self.bf16)
        return [Prediction(probability=m) for m in maps]


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="clue",
        summary="CLUE: LoRA-tuned SD3 on Rectified-Flow-noised latents + LoRA-tuned SAM encoder, fused",
        paper="Wang et al., CLUE: Capture Latent Uncovered Evidence, arXiv 2508.07413",
        licence="Apache-2.0 (code); SD3 weights: Stability AI Community License; SAM: Apache-2.0",
        weights="a CLUE checkpoint (--option checkpoint=FILE) plus the SD3 and SAM weights it was trained on",
        to_probability="sigmoid of the head's logits, resized bilinearly to the image",
        devices=("cuda", "cpu"),
    ),
    options=CLUEOptions,
    build=CLUEDetector,
    digest=lambda options: checkpoint.digest(options.checkpoint) if options.checkpoint else None,
)
