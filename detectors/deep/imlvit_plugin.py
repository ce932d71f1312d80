"""The ``imlvit`` detector: IML-ViT with its released checkpoint, the official test-time pre- and post-processing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import torch

from forgebench.detectors.deep.imlvit import IMLViT, IMLViTSize, from_official, postprocess, preprocess
from forgebench.detectors.deep.official import CheckpointOptions, OfficialDetector
from forgebench.detectors.deep.weights import checkpoint_digest
from forgebench.plugin.contract import DetectorCard, DetectorPlugin, ImageInput, Prediction

PUBLISHED = (
    "the IML-ViT repository's checkpoints/ckpt_download_page.md (Google Drive file 1xXJGJPW1i5j9Pc1JKd7fJmIAQkvt9jY7, "
    "iml-vit_checkpoint.pth)"
)


class IMLViTDetector(OfficialDetector):
    name = "imlvit"
    published = PUBLISHED

    def make_model(self, tensors: Mapping[str, torch.Tensor]) -> IMLViT:
        return IMLViT(IMLViTSize.of(tensors))

    def translate(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return from_official(tensors)

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        size = self.model.size.input_size
        prepared = [preprocess(item.pixels, size) for item in batch]
        images = torch.from_numpy(np.stack([image for image, _ in prepared])).permute(0, 3, 1, 2)
        with torch.inference_mode(), self.precision():
            logits = self.model(images.contiguous().to(self.device))
        predictions = []
        for item, (_, inside), logit in zip(batch, prepared, logits, strict=True):
            probability = postprocess(logit, inside, size).cpu().numpy()
            height, width = item.pixels.shape[:2]
            if probability.shape != (height, width):  # an image resized to fit: its map goes back to its size
                probability = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
            predictions.append(Prediction(probability=probability.astype(np.float32)))
        return predictions


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="imlvit",
        summary="IML-ViT: windowed ViT-B/16 at 1024², simple feature pyramid, MLP decoder (official checkpoint)",
        paper="Ma et al., IML-ViT: Benchmarking Image Manipulation Localization by Vision Transformer, "
        "arXiv 2307.14863",
        licence="MIT (code); the released weights carry no licence of their own",
        weights=f"--option checkpoint=FILE: {PUBLISHED}",
        to_probability="sigmoid of the head's logits, bilinear to 1024², cropped to the image; an image larger than "
        "1024 is resized to a long side of 1024 first (the official code crops it) and its map resized back",
        reported="none on file under CLUE's protocol: the paper (arXiv 2307.14863) reports pixel F1 under the "
        "CAT-Net, MVSS-Net and its own CASIA v2 protocols, with other checkpoints than the one published",
        memory="constant: every image runs at 1024²; 3.7 GiB peak resident on CPU (benchmarks/deep_speed.py)",
        devices=("cuda", "cpu"),
    ),
    options=CheckpointOptions,
    build=IMLViTDetector,
    digest=checkpoint_digest,
)
