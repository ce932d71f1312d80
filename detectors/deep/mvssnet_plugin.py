"""The ``mvssnet`` detector: MVSS-Net with its released checkpoint and the official inference's processing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from forgebench.detectors.deep.mvssnet import MVSSNet, MVSSNetSize, postprocess, preprocess
from forgebench.detectors.deep.weights import checkpoint_digest, file_digest, load_strict, read_official
from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, ImageInput, Prediction

PUBLISHED = "the MVSS-Net repository's README (Google Drive / Baidu links, mvssnet_casia.pt)"


@dataclass(frozen=True)
class MVSSNetOptions:
    checkpoint: Path | None = None
    """The official ``mvssnet_casia.pt`` (a raw state dict), or a safetensors copy."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """bf16 autocast (CUDA or CPU); fp32 by default, as its agreement with fp32 is not measured yet."""


class MVSSNetDetector(Detector):
    def __init__(self, options: MVSSNetOptions, device: str) -> None:
        tensors = read_official(options.checkpoint, "mvssnet", PUBLISHED)
        blocks = tuple(
            1 + max(int(k.split(".")[2]) for k in tensors if k.startswith(f"model.layer{i}.")) for i in range(1, 5)
        )
        self.model = MVSSNet(MVSSNetSize(width=tensors["model.conv1.weight"].shape[0], blocks=blocks))
        load_strict(self.model, tensors, options.checkpoint)
        self.device = torch.device(device)
        self.model = self.model.eval().to(self.device)
        self.bf16 = options.precision == "bf16"
        self.weights_digest = file_digest(options.checkpoint)

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        images = torch.from_numpy(np.stack([preprocess(item.pixels) for item in batch])).permute(0, 3, 1, 2)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            probability = torch.sigmoid(self.model(images.to(self.device)).float())[:, 0].cpu().numpy()
        return [
            Prediction(probability=postprocess(p, *item.pixels.shape[:2]), score=float(p.max()))
            for item, p in zip(batch, probability, strict=True)
        ]


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="mvssnet",
        summary="MVSS-Net: dilated ResNet-50 on RGB and on Bayar-constrained noise, dual-attention head",
        paper="Chen et al., Image Manipulation Detection by Multi-View Multi-Scale Supervision, ICCV 2021",
        licence="the official repository has no licence file (all rights reserved); weights likewise",
        weights=f"--option checkpoint=FILE: {PUBLISHED}",
        to_probability="as the official inference: BGR, 512² bilinear, /255, ImageNet RGB statistics on BGR; sigmoid "
        "at 512², truncated to 8 bits, bilinear back to the image; score = the map's maximum before that",
        devices=("cuda", "cpu"),
    ),
    options=MVSSNetOptions,
    build=MVSSNetDetector,
    digest=checkpoint_digest,
)
