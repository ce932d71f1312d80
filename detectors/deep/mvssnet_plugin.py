"""The ``mvssnet`` detector: MVSS-Net with its released checkpoint and the official inference's processing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from forgebench.detectors.deep.mvssnet import MVSSNet, MVSSNetSize, postprocess, preprocess
from forgebench.detectors.deep.official import CheckpointOptions, OfficialDetector
from forgebench.detectors.deep.weights import checkpoint_digest
from forgebench.plugin.contract import DetectorCard, DetectorPlugin, ImageInput, Prediction

PUBLISHED = "the MVSS-Net repository's README (Google Drive / Baidu links, mvssnet_casia.pt)"


class MVSSNetDetector(OfficialDetector):
    name = "mvssnet"
    published = PUBLISHED

    def make_model(self, tensors: Mapping[str, torch.Tensor]) -> MVSSNet:
        return MVSSNet(MVSSNetSize.of(tensors))

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        # contiguous: a channels-last stride makes convolutions round differently, and the channel attention's large
        # energies magnify that to 1/255 steps in the map
        images = torch.from_numpy(np.stack([preprocess(item.pixels) for item in batch])).permute(0, 3, 1, 2)
        with torch.inference_mode(), self.precision():
            logits = self.model(images.contiguous().to(self.device)).float()
            probability = torch.sigmoid(logits)[:, 0].cpu().numpy()
        maps = [postprocess(p, *item.pixels.shape[:2]) for item, p in zip(batch, probability, strict=True)]
        return [Prediction(probability=m, score=float(m.max())) for m in maps]


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="mvssnet",
        summary="MVSS-Net: dilated ResNet-50 on RGB and on Bayar-constrained noise, dual-attention head",
        paper="Chen et al., Image Manipulation Detection by Multi-View Multi-Scale Supervision, ICCV 2021",
        licence="the official repository has no licence file (all rights reserved); weights likewise",
        weights=f"--option checkpoint=FILE: {PUBLISHED}",
        to_probability="as the official inference: BGR, 512² bilinear, /255, ImageNet RGB statistics on BGR; sigmoid "
        "at 512², truncated to 8 bits, bilinear back to the image; score = that map's maximum (as evaluate.py)",
        reported="mvssnetplus.md (CASIA v2-trained, pixel F1 at 0.5; leaderboard --reference mvssnet-readme): "
        "CASIAv1+ .452, Columbia .638, COVER .453, DEFACTO-12k .137, IMD2020 .260; the CLUE paper's Table 1 "
        "(--reference clue-table1): CASIA v1 .432, Columbia .677, NIST16 .305, Coverage .397",
        memory="constant: every image runs at 512²; 1.8 GiB peak resident on CPU (benchmarks/deep_speed.py)",
        devices=("cuda", "cpu"),
    ),
    options=CheckpointOptions,
    build=MVSSNetDetector,
    digest=checkpoint_digest,
)
