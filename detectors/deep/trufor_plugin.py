"""The ``trufor`` detector: TruFor with its released checkpoint, run as the official test script runs it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from forgebench.detectors.deep.official import FullResolutionOptions, OfficialDetector
from forgebench.detectors.deep.trufor import TruFor, TruForSize, postprocess, preprocess
from forgebench.detectors.deep.weights import checkpoint_digest
from forgebench.plugin.contract import DetectorCard, DetectorPlugin, ImageInput, Prediction

PUBLISHED = (
    "https://www.grip.unina.it/download/prog/TruFor/TruFor_weights.zip (linked from the TruFor repository's README), "
    "which holds weights/trufor.pth.tar"
)


class TruForDetector(OfficialDetector):
    name = "trufor"
    published = PUBLISHED

    def make_model(self, tensors: Mapping[str, torch.Tensor]) -> TruFor:
        return TruFor(TruForSize.of(tensors))

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        return [self.predict_one(item) for item in batch]

    def predict_one(self, item: ImageInput) -> Prediction:
        self.refuse_larger(item.pixels)
        height, width = item.pixels.shape[:2]
        smallest = self.model.size.smallest_side
        if min(height, width) < smallest:
            raise ValueError(
                f"trufor needs images of at least {smallest}×{smallest} pixels, this one is {width}×{height}"
            )
        image = torch.from_numpy(preprocess(item.pixels))[None].to(self.device)
        with torch.inference_mode(), self.precision():
            logits, _, detection = self.model(image)
        probability, score = postprocess(logits[0], detection[0])
        return Prediction(probability=probability, score=score)


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="trufor",
        summary="TruFor: Noiseprint++ (DnCNN) and RGB streams in a dual MiT-B2 encoder with CMX fusion, MLP decoders "
        "for the map and its confidence, a detection head on confidence-weighted statistics (official checkpoint)",
        paper="Guillaro et al., TruFor: Leveraging all-round clues for trustworthy image forgery detection and "
        "localization, CVPR 2023",
        licence="GRIP-UNINA licence (the repository's LICENSE.txt, for its code and the weights it links): "
        "informational and non-profit use only, industrial or profit-oriented use expressly prohibited, notices "
        "kept, the authors credited in published results; the CMX code it builds on is MIT (LICENSE_CMX.txt)",
        weights=f"--option checkpoint=FILE: {PUBLISHED}",
        weights_hash="md5:7bee48f3476c75616c3c5721ab256ff8 (of TruFor_weights.zip, the archive holding the checkpoint)",
        to_probability="as the official test script: RGB/256 at the image's own size (batch 1), ImageNet "
        "normalisation for the RGB stream only; map = softmax of the two logits (bilinearly upsampled to the image) "
        "for the forged class, scored as it is (TruFor's own evaluation takes max(F1(map), F1(1 − map)) and leaves a "
        "band around the mask's borders out; forgebench does neither, as CLUE); score = sigmoid of the detection "
        "logit, pooled from the map and the confidence map, which is computed but not recorded",
        reported="the CLUE paper's Table 1 at 0.5, no inversion, no border band (leaderboard --reference "
        "clue-table1): CASIA v1 .696, Columbia .798, NIST16 .362, Coverage .480; TruFor's own tables use "
        "max(F1(map), F1(1 − map)) with a border band left out, so they are not comparable",
        memory="grows with the image (full resolution): peak resident on CPU in fp32 (benchmarks/deep_speed.py, one "
        "process per size, loading included) 1.5 GiB at 0.25 megapixels, 2.0 at 1, 4.2 at 4, 7.0 GiB at 8; 3, 21, "
        "110 and 267 s per image on 2 CPU cores",
        devices=("cuda", "cpu"),
    ),
    options=FullResolutionOptions,
    build=TruForDetector,
    digest=checkpoint_digest,
)
