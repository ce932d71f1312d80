"""The ``catnet`` detector: CAT-Net (v2 by default, v1 with its own file) with the released checkpoint and the
official inference's input processing, at the image's full resolution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from forgebench.detectors.deep.catnet import CATNet, CATNetSize, postprocess, preprocess
from forgebench.detectors.deep.official import FullResolutionOptions, OfficialDetector
from forgebench.detectors.deep.weights import checkpoint_digest
from forgebench.plugin.contract import DetectorCard, DetectorPlugin, ImageInput, Prediction

PUBLISHED = (
    "the CAT-Net repository's README (Google Drive folder 1hBEfnFtGG6q_srBHVEmbF3fTq0IhP8jq or Baidu, code ycft): "
    "output/splicing_dataset/CAT_full/CAT_full_v2.pth.tar (v1: CAT_full_v1.pth.tar)"
)


@dataclass(frozen=True)
class CATNetOptions(FullResolutionOptions):
    max_megapixels: float = 24.0
    """Larger images are refused, each with an error naming its size (the run goes on). 24 megapixels, the largest
    size measured (8.6 GiB peak on CPU), takes a 5,616×3,744 (21-megapixel) image."""


class CATNetDetector(OfficialDetector):
    name = "catnet"
    published = PUBLISHED

    def make_model(self, tensors: Mapping[str, torch.Tensor]) -> CATNet:
        return CATNet(CATNetSize.of(tensors))

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        for item in batch:
            self.refuse_larger(item.pixels)
        return [self._predict_one(item) for item in batch]

    def _predict_one(self, item: ImageInput) -> Prediction:
        prepared = preprocess(item.pixels, item.source)
        with torch.inference_mode(), self.precision():
            logits = self.model(
                torch.from_numpy(prepared.rgb)[None].to(self.device),
                torch.from_numpy(prepared.coefficients)[None].to(self.device),
                torch.from_numpy(prepared.qtable)[None].to(self.device),
            )
            probability = postprocess(logits[0], *item.pixels.shape[:2])
        return Prediction(probability=probability, score=float(np.max(probability)))


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="catnet",
        summary="CAT-Net: HRNet-W48 on RGB fused with an HRNet stream on the JPEG's quantised luma DCT coefficients "
        "(official checkpoint, full resolution)",
        paper="Kwon et al., Learning JPEG Compression Artifacts for Image Manipulation Detection and Localization, "
        "IJCV 2022 (v2); WACV 2021 (v1)",
        licence="Apache-2.0 (code) and CC-BY-4.0 (weights), per the README's licence update of 2026-08-05",
        weights=f"--option checkpoint=FILE: {PUBLISHED}; both files have the same architecture (one config, "
        "experiments/CAT_full.yaml), so either loads",
        reported="none on file: the official README gives no table and the CLUE paper does not compare with it",
        memory="grows with the image (full resolution): peak resident on CPU in fp32 (benchmarks/deep_speed.py, one "
        "process per size, loading included) 1.5 GiB at 0.25 megapixels, 1.6 at 1, 2.6 at 4, 4.0 at 8, 6.4 at 16, "
        "8.6 GiB at 24; 7 to 10 s per megapixel on 2 CPU cores",
        to_probability="as the official inference: the JPEG file's own luma DCT coefficients and quantisation table "
        "(a non-JPEG or perturbed image is re-compressed in memory at quality 100, 4:4:4, with Pillow, and that "
        "JPEG is what both streams see); RGB (x − 127.5)/127.5; padded to a multiple of 8; softmax class 1 at ¼ "
        "resolution, then bilinear to the padded size and cropped to the image; score = the map's maximum",
        devices=("cuda", "cpu"),
    ),
    options=CATNetOptions,
    build=CATNetDetector,
    digest=checkpoint_digest,
)
