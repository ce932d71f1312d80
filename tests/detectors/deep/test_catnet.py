"""CAT-Net: the released architecture's keys and size, the official checkpoint layout, the official input
processing (the JPEG's own coefficients, or a quality-100 re-compression), the post-processing, and the detector
end to end on a small random-weight model."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from builders import run_detector
from PIL import Image
from torch.nn import functional as F

from forgebench.detectors.deep.catnet import (
    CATNet,
    CATNetSize,
    StageSize,
    dct_volume,
    postprocess,
    preprocess,
    recompress,
)
from forgebench.detectors.deep.catnet_plugin import PLUGIN
from forgebench.detectors.deep.weights import WeightsError, save_copy
from forgebench.plugin.contract import ImageInput

SMALL = CATNetSize(
    stem=8, layer1=4, layer1_blocks=1, stage2=StageSize(1, (1, 1), (4, 8)), stage3=StageSize(2, (1, 2, 1), (4, 8, 16)),
    stage4=StageSize(1, (1, 1, 1, 1), (4, 8, 16, 32)), dct_stem=8, dct_tail=2, dct_layer2_blocks=1,
    dc_stage3=StageSize(1, (1, 1), (8, 16)), dc_stage4=StageSize(1, (1, 1, 1), (8, 16, 32)),
    stage5=StageSize(1, (1, 1, 1, 1), (4, 8, 8, 8)),
)  # fmt: skip


def small_model() -> CATNet:
    torch.manual_seed(0)
    model = CATNet(SMALL)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def official_checkpoint(path):
    """A random-weight CAT-Net saved as the authors do: ``{"state_dict": …, "epoch": …}``, official key names."""
    torch.save({"state_dict": small_model().state_dict(), "epoch": 199}, path)
    return path


def jpeg(pixels: np.ndarray, **options) -> bytes:
    output = io.BytesIO()
    Image.fromarray(pixels).save(output, format="JPEG", **options)
    return output.getvalue()


def build(path, **options):
    return PLUGIN.build(PLUGIN.options(checkpoint=path, **options), "cpu")


def test_the_released_architecture_has_the_official_keys_and_size():
    model = CATNet()
    keys = model.state_dict().keys()
    assert len(keys) == 2926 and sum(p.numel() for p in model.parameters()) == 114_263_810
    official = [
        "stage4.2.fuse_layers.3.0.2.0.weight",
        "stage4.2.fuse_layers.0.3.1.running_var",
        "transition3.3.0.0.weight",
        "dc_layer0_dil.0.bias",
        "dc_layer2.0.downsample.1.num_batches_tracked",
        "dc_stage4.1.branches.2.3.bn2.weight",
        "transition4.0.0.weight",
        "last_layer.3.bias",
    ]
    assert set(official) <= set(keys)
    assert model.dc_layer0_dil[0].dilation == (8, 8) and model.dc_layer2[0].conv1.in_channels == 512
    assert CATNetSize.of(model.state_dict()) == CATNetSize() and CATNetSize.of(small_model().state_dict()) == SMALL


def test_a_jpeg_file_gives_its_own_luma_coefficients_and_table_and_pixels_padded_to_a_multiple_of_8():
    pixels = np.full((12, 20, 3), 140, np.uint8)
    pixels[0, 0] = (255, 255, 255)
    prepared = preprocess(pixels, jpeg(pixels, quality=75))
    assert prepared.rgb.shape == (3, 16, 24) and prepared.coefficients.shape == (16, 24)
    assert prepared.rgb[:, 0, 0].tolist() == [1.0, 1.0, 1.0] and prepared.rgb[0, 1, 1] == pytest.approx(12.5 / 127.5)
    assert not prepared.rgb[:, 12:].any() and not prepared.rgb[:, :, 20:].any()  # the official 127.5 padding
    assert prepared.qtable[0].tolist() == [8, 6, 5, 8, 12, 20, 26, 31]  # libjpeg's luma table at quality 75
    flat = prepared.coefficients[8:16, 8:16]  # a flat block (the rows below 12 repeat the last, as libjpeg does)
    assert flat[0, 0] == 12 and np.count_nonzero(flat) == 1  # DC = 8·(140 − 128) / 8, every AC 0
    assert prepared.coefficients[0, 0] != 12 and np.count_nonzero(prepared.coefficients[:8, :8]) > 1  # white pixel


def test_other_inputs_are_recompressed_at_quality_100_and_the_rgb_stream_sees_that_jpeg():
    pixels = np.random.default_rng(0).integers(0, 256, (13, 21, 3), dtype=np.uint8)
    recompressed = np.asarray(Image.open(io.BytesIO(recompress(pixels)))).transpose(2, 0, 1).astype(np.float32)
    assert not np.array_equal(recompressed, pixels.transpose(2, 0, 1))  # quality 100 still rounds
    for source in (None, b"\x89PNG not a jpeg", jpeg(pixels.transpose(1, 0, 2), quality=75)):  # last: other grid
        prepared = preprocess(pixels, source)
        assert prepared.qtable.tolist() == np.ones((8, 8)).tolist()
        np.testing.assert_array_equal(prepared.rgb[:, :13, :21], (recompressed - 127.5) / 127.5)
    assert [layer[1:3] for layer in Image.open(io.BytesIO(recompress(pixels))).layer] == [(1, 1)] * 3  # 4:4:4


def test_the_dct_volume_is_one_hot_in_absolute_value_with_20_and_above_together():
    volume = dct_volume(torch.tensor([[[0, -1, 1, 19, -20, 300]]]))
    assert volume.shape == (1, 21, 1, 6) and volume.sum(1).eq(1).all()
    assert volume.argmax(1)[0, 0].tolist() == [0, 1, 1, 19, 20, 20]


def test_the_dct_stem_computed_in_strips_equals_it_computed_whole():
    model = small_model()
    coefficients = torch.from_numpy(np.random.default_rng(0).integers(-30, 30, (1, 40, 16)))
    with torch.inference_mode():
        whole = model.dct_stem(coefficients, strip=40)
        conv, norm, _ = model.dc_layer0_dil
        official = model.dc_layer1_tail(F.relu(norm(conv(dct_volume(coefficients)))))  # the volume at once
        torch.testing.assert_close(whole, official, rtol=1e-5, atol=1e-6)
        for strip in (8, 12, 16):  # 12: strips off the block grid; 8 rows of margin are exactly the kernel's reach
            torch.testing.assert_close(model.dct_stem(coefficients, strip=strip), whole, rtol=1e-5, atol=1e-6)


def test_postprocessing_takes_class_1_of_the_softmax_then_bilinear_to_the_padded_size_then_crops():
    logits = torch.zeros(2, 1, 2)
    logits[1, 0] = torch.tensor([np.log(1 / 3), np.log(3)])  # P(forged) 0.25 and 0.75 at ¼ resolution
    probability = postprocess(logits, 3, 7)
    assert probability.shape == (3, 7)
    np.testing.assert_allclose(probability[0], [0.25, 0.25, 0.3125, 0.4375, 0.5625, 0.6875, 0.75], rtol=1e-6)


def test_the_official_layout_and_its_safetensors_copy_give_the_same_maps(tmp_path):
    detector = build(official_checkpoint(tmp_path / "CAT_full_v2.pth.tar"))
    rng = np.random.default_rng(0)
    pixels = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((37, 53, 3), (48, 64, 3))]  # one odd-sized
    images = [ImageInput("d/a.png", pixels[0]), ImageInput("d/b.jpg", pixels[1], jpeg(pixels[1], quality=90))]
    predictions = detector.predict(images)
    for image, prediction in zip(images, predictions, strict=True):
        assert prediction.probability.shape == image.pixels.shape[:2]
        assert prediction.probability.min() >= 0 and prediction.probability.max() <= 1
        assert prediction.score == pytest.approx(float(prediction.probability.max()))
    copy = save_copy(detector.model.state_dict(), tmp_path / "copy.safetensors")
    again = build(copy).predict(images)
    assert all(np.array_equal(a.probability, b.probability) for a, b in zip(predictions, again, strict=True))


@pytest.mark.parametrize(("change", "named"), [("drop", "missing stage5"), ("add", "unexpected last_layer.4")])
def test_a_missing_or_an_extra_key_is_refused_naming_it(tmp_path, change, named):
    state = small_model().state_dict()
    if change == "drop":
        del state["stage5.0.branches.3.0.bn2.running_var"]
    else:
        state["last_layer.4.weight"] = torch.zeros(1)
    torch.save({"state_dict": state, "epoch": 1}, tmp_path / "changed.pth.tar")
    with pytest.raises(WeightsError, match=named):
        build(tmp_path / "changed.pth.tar")


def test_an_image_above_max_megapixels_is_refused_naming_its_size(tmp_path):
    detector = build(official_checkpoint(tmp_path / "CAT_full_v2.pth.tar"), max_megapixels=0.001)
    with pytest.raises(ValueError, match="53×37"):
        detector.predict([ImageInput("d/a.png", np.zeros((37, 53, 3), np.uint8))])
    by_default = build(tmp_path / "CAT_full_v2.pth.tar")
    by_default.refuse_larger(np.empty((3744, 5616, 3), np.uint8))  # a 21-megapixel image is taken


def test_run_end_to_end(tmp_path):
    ran = run_detector(tmp_path, "catnet", f"checkpoint={official_checkpoint(tmp_path / 'CAT_full_v2.pth.tar')}")
    assert ran.exit_code == 0, ran.output
    assert "tiny: 3 scored" in ran.output


def seeded(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Deterministic weights for every key, whatever order the modules were built in: normal convolutions of
    variance 1/fan-in, BatchNorm scales and variances in [0.5, 1.5], biases and means in [−0.1, 0.1]."""
    generator = torch.Generator().manual_seed(0)
    seeded_state = {}
    for key in sorted(state):
        value = state[key]
        if key.endswith("num_batches_tracked"):
            seeded_state[key] = value
        elif value.dim() == 4:
            seeded_state[key] = torch.randn(value.shape, generator=generator) * (1 / value[0].numel()) ** 0.5
        elif key.endswith(("weight", "running_var")):
            seeded_state[key] = torch.rand(value.shape, generator=generator) + 0.5
        else:
            seeded_state[key] = torch.rand(value.shape, generator=generator) * 0.2 - 0.1
    return seeded_state


def fixed_input() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 16×24 input (RGB ramps, coefficients cycling through −25…25, table 1…64) that needs no JPEG codec."""
    rows, columns = torch.meshgrid(torch.arange(16.0), torch.arange(24.0), indexing="ij")
    rgb = torch.stack([rows / 15, columns / 23, (rows + columns) / 37]) * 2 - 1
    coefficients = ((rows * 24 + columns) * 7 % 51 - 25).long()
    return rgb[None], coefficients[None], torch.arange(1.0, 65.0).reshape(1, 8, 8)


REFERENCE = CATNetSize(
    layer1=8, layer1_blocks=1, stage2=StageSize(1, (1, 1), (8, 16)), stage3=StageSize(1, (1, 1, 1), (8, 16, 32)),
    stage4=StageSize(1, (1, 1, 1, 1), (8, 16, 32, 64)), dc_stage3=StageSize(1, (1, 1), (96, 32)),
    dc_stage4=StageSize(1, (1, 1, 1), (96, 32, 64)), stage5=StageSize(1, (1, 1, 1, 1), (8, 8, 8, 8)),
)  # fmt: skip
"""The smallest size the official code builds: only its stage configuration can change (the stems, the DCT stream's
first layers and the 96 channels after them are fixed in its code)."""


def test_the_official_network_gives_the_same_logits():
    """Reference: the official ``lib/models/network_CAT.py`` (CAT-Net @331b805) built from
    ``experiments/CAT_full.yaml`` with its stages set to ``REFERENCE``'s, loaded with ``seeded(state_dict)``, run on
    ``fixed_input()`` (the coefficients as their ``dct_volume``, the qtable as (1, 1, 8, 8)) on CPU in fp32."""
    model = CATNet(REFERENCE).eval()
    model.load_state_dict(seeded(model.state_dict()))
    with torch.inference_mode():
        logits = model(*fixed_input())
    assert logits.shape == (1, 2, 4, 6)
    expected = [[1.599281, 1.480533, 0.984712], [0.327553, 0.371352, 0.591577]]
    torch.testing.assert_close(logits[0, :, 0, :3], torch.tensor(expected), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(logits.mean((2, 3))[0], torch.tensor([0.657812, 0.328286]), rtol=1e-4, atol=1e-4)
