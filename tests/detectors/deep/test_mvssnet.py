"""MVSS-Net: the released architecture's keys and size, the official checkpoint layout, the official inference's
pre- and post-processing, and the detector end to end on a small random-weight model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from builders import run_detector

from forgebench.detectors.deep.mvssnet import MEAN, STD, BayarConv, MVSSNet, MVSSNetSize, postprocess, preprocess
from forgebench.detectors.deep.mvssnet_plugin import PLUGIN
from forgebench.detectors.deep.official import CheckpointOptions
from forgebench.detectors.deep.weights import WeightsError, save_copy
from forgebench.plugin.contract import ImageInput

SMALL = MVSSNetSize(width=8, blocks=(1, 1, 1, 3))


def official_checkpoint(path, size=SMALL):
    """A random-weight MVSS-Net saved as the authors do: a raw state dict with the official key names."""
    torch.manual_seed(0)
    model = MVSSNet(size)
    with torch.no_grad():
        model.head.pam.alpha.fill_(0.5)
        model.head.cam.beta.fill_(0.5)
    torch.save(model.state_dict(), path)
    return path


def test_the_released_architecture_has_the_official_keys_and_size():
    model = MVSSNet()
    keys = model.state_dict().keys()
    assert len(keys) == 800 and sum(p.numel() for p in model.parameters()) == 146_880_335
    official = [
        "model.layer4.2.conv2.weight",
        "noise_extractor.model.fc.bias",
        "constrain_conv.kernel",
        "sobel_y4.1.running_var",
        "erb_trans_3.conv3.bias",
        "head.pam.conv_b.weight",
        "head.out.1.weight",
    ]
    assert set(official) <= set(keys)
    assert [block.conv2.dilation for block in model.model.layer4] == [(1, 1), (2, 2), (4, 4)]
    assert MVSSNetSize.of(model.state_dict()) == MVSSNetSize()


def test_the_bayar_filter_sums_to_zero_with_minus_one_at_its_centre():
    weight = BayarConv().weight()
    assert weight.shape == (3, 1, 5, 5)
    torch.testing.assert_close(weight[:, 0, 2, 2], -torch.ones(3))
    torch.testing.assert_close(weight.sum((1, 2, 3)), torch.zeros(3), atol=1e-6, rtol=0)


def test_preprocessing_is_bgr_resized_with_rgb_statistics_and_postprocessing_truncates_to_8_bits():
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[..., 0] = 255  # pure red
    image = preprocess(pixels)
    assert image.shape == (512, 512, 3)
    np.testing.assert_allclose(image[0, 0], (np.array([0.0, 0.0, 1.0]) - MEAN) / STD, rtol=1e-6)  # red is last
    probability = np.full((512, 512), 0.9999, np.float32)
    assert postprocess(probability, 3, 7).shape == (3, 7)
    assert postprocess(probability, 3, 7)[0, 0] == pytest.approx(254 / 255)  # 254.97 truncated, as ToPILImage does


def test_the_official_layout_and_its_safetensors_copy_give_the_same_maps(tmp_path):
    detector = PLUGIN.build(CheckpointOptions(checkpoint=official_checkpoint(tmp_path / "mvssnet_casia.pt")), "cpu")
    shapes = {"d/a.png": (37, 53, 3), "d/b.png": (64, 48, 3)}  # one odd-sized
    images = [
        ImageInput(name, np.random.default_rng(index).integers(0, 256, shape, dtype=np.uint8))
        for index, (name, shape) in enumerate(shapes.items())
    ]
    predictions = detector.predict(images)
    for image, prediction in zip(images, predictions, strict=True):
        assert prediction.probability.shape == image.pixels.shape[:2]
        assert prediction.probability.min() >= 0 and prediction.probability.max() <= 1
        assert prediction.score == prediction.probability.max()  # as the official evaluate.py
    copy = save_copy(detector.model.state_dict(), tmp_path / "copy.safetensors")
    again = PLUGIN.build(CheckpointOptions(checkpoint=copy), "cpu").predict(images)
    assert all(np.array_equal(a.probability, b.probability) for a, b in zip(predictions, again, strict=True))


@pytest.mark.parametrize(
    ("change", "error"),
    [("missing", r"missing constrain_conv\.kernel"), ("extra", r"unexpected head\.conv_p3\.1\.weight")],
)
def test_a_missing_or_an_extra_key_is_refused_naming_it(change, error, tmp_path):
    state = torch.load(official_checkpoint(tmp_path / "full.pt"), weights_only=True)
    if change == "missing":
        del state["constrain_conv.kernel"]
    else:  # the auxiliary head the released model was built without
        state["head.conv_p3.1.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "changed.pt")
    with pytest.raises(WeightsError, match=error):
        PLUGIN.build(CheckpointOptions(checkpoint=tmp_path / "changed.pt"), "cpu")


def test_run_end_to_end(tmp_path):
    ran = run_detector(tmp_path, "mvssnet", f"checkpoint={official_checkpoint(tmp_path / 'mvssnet_casia.pt')}")
    assert ran.exit_code == 0, ran.output
    assert "tiny: 3 scored" in ran.output
