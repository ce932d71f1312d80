"""TruFor: the released architecture's keys and size, the official checkpoint layout, the official test script's
pre- and post-processing, a figure computed by the official code, and the detector end to end on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from builders import run_detector

from forgebench.detectors.deep.official import FullResolutionOptions
from forgebench.detectors.deep.trufor import TruFor, TruForSize, postprocess, preprocess, weighted_statistics
from forgebench.detectors.deep.trufor_plugin import PLUGIN
from forgebench.detectors.deep.weights import WeightsError, save_copy
from forgebench.plugin.contract import ImageInput

TINY = TruForSize(widths=(8, 16, 24, 32), depths=(1, 2, 1, 1), reductions=(4, 2, 1, 1), heads=(1, 1, 1, 1),
                  decoder_width=16, noise_depth=4, noise_width=8, detection_width=8)  # fmt: skip


def wave_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Deterministic weights: the tensor of the k-th key (sorted) is 0.6·sin(0.7·i + k) over its elements i, a
    running variance 1 + 0.5·|that|; batch counters untouched."""
    state = {}
    for index, (key, value) in enumerate(sorted(model.state_dict().items())):
        if key.endswith("num_batches_tracked"):
            state[key] = value
            continue
        wave = 0.6 * torch.sin(0.7 * torch.arange(value.numel(), dtype=torch.float64) + index).float()
        state[key] = (1 + 0.5 * wave.abs() if key.endswith("running_var") else wave).reshape(value.shape)
    return state


def official_checkpoint(path, size=TINY):
    """A TruFor saved as the authors' training does: the state dict under ``state_dict``, official key names."""
    torch.save({"state_dict": wave_state(TruFor(size)), "epoch": 99}, path)
    return path


def build(path, **options):
    return PLUGIN.build(FullResolutionOptions(checkpoint=path, **options), "cpu")


def random_image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_the_released_architecture_has_the_official_keys_and_size():
    model = TruFor()
    keys = model.state_dict().keys()
    assert len(keys) == 952 and sum(p.numel() for p in model.parameters()) == 68_697_421
    prefixes = {"backbone": 820, "decode_head": 17, "decode_head_conf": 17, "detection": 4, "dncnn": 94}
    assert {prefix: sum(key.split(".")[0] == prefix for key in keys) for prefix in prefixes} == prefixes
    official = [
        "dncnn.45.running_var",
        "dncnn.47.bias",
        "backbone.extra_block3.5.attn.sr.weight",
        "backbone.block1.2.mlp.dwconv.dwconv.weight",
        "backbone.FRMs.3.channel_weights.mlp.2.bias",
        "backbone.FFMs.0.cross.cross_attn.kv2.weight",
        "backbone.FFMs.2.channel_emb.channel_embed.4.running_mean",
        "decode_head_conf.linear_c4.proj.weight",
        "detection.3.weight",
    ]
    assert set(official) <= set(keys) and "backbone.block4.0.attn.sr.weight" not in keys
    assert TruForSize.of(model.state_dict()) == TruForSize() and TruForSize().smallest_side == 29
    # eps values are not in the state dict: the official code sets 1e-3 on the forgery decoder's BatchNorm only
    assert model.decode_head.linear_fuse[1].eps == 1e-3 and model.decode_head_conf.linear_fuse[1].eps == 1e-5
    assert model.backbone.block2[0].norm1.eps == 1e-6 and model.backbone.extra_norm3.eps == 1e-6
    assert model.backbone.patch_embed1.norm.eps == 1e-5 and model.backbone.block1[0].attn.norm.eps == 1e-5


def test_preprocessing_divides_by_256_and_postprocessing_takes_the_forged_class():
    image = preprocess(np.array([[[0, 128, 255], [1, 2, 3]]], np.uint8))  # 1×2
    assert image.shape == (3, 1, 2) and image.dtype == np.float32
    np.testing.assert_array_equal(image[:, 0, 0], [0.0, 0.5, 0.99609375])  # 255/256, not 1
    logits = torch.zeros(2, 1, 2)
    logits[1, 0, 1] = np.log(3.0)
    probability, score = postprocess(logits, torch.tensor([np.log(4.0)]))
    np.testing.assert_allclose(probability, [[0.5, 0.75]], rtol=1e-6)
    assert score == pytest.approx(0.8)


def test_the_detection_pools_the_statistics_the_official_code_does():
    """Values from the official ``weighted_statistics_pooling`` on these inputs (soft min, soft max, mean, mean
    square; uniform weights, then weights softmax(log_weights))."""
    values = torch.tensor([[[[0.0, 1.0, -2.0], [0.5, 3.0, -1.0]]]])
    log_weights = torch.tensor([[[[0.0, -1.0, 2.0], [-3.0, 0.5, 1.0]]]])
    torch.testing.assert_close(weighted_statistics(values), torch.tensor([[-0.7040488, 1.4646339, 0.25, 2.5416665]]))
    torch.testing.assert_close(
        weighted_statistics(values, log_weights), torch.tensor([[-1.5686308, 1.0380183, -0.9228564, 3.6051555]])
    )


def test_a_tiny_model_gives_the_official_codes_figures(tmp_path):
    """Pinned from the official classes (test_docker/src at ae54475: ``RGBXTransformer`` with these widths, depths
    and reductions, one head per stage, ``DecoderHead`` of width 16 with the localisation BatchNorm at eps 1e-3, a
    4-layer ``make_net`` DnCNN of width 8, an 8-wide detection MLP) loaded with :func:`wave_state`, run on this
    image as ``trufor_test.py`` runs it."""
    prediction = build(official_checkpoint(tmp_path / "trufor.pth.tar")).predict(
        [ImageInput("d/a", random_image(37, 53))]
    )
    assert prediction[0].score == pytest.approx(0.9096925, abs=1e-6)
    expected = [
        [0.8940833, 0.8982289, 0.8951550, 0.8900975, 0.8523104],
        [0.8528623, 0.8532978, 0.8515980, 0.8439923, 0.8446385],
        [0.8458953, 0.8464481, 0.8479164, 0.8531668, 0.8529510],
        [0.8477111, 0.8384760, 0.8461747, 0.8514019, 0.8505675],
    ]
    np.testing.assert_allclose(prediction[0].probability[::12, ::13], expected, atol=2e-6)
    assert prediction[0].probability.mean() == pytest.approx(0.8529931, abs=2e-6)


def test_the_official_layout_and_its_safetensors_copy_give_the_same_maps(tmp_path):
    detector = build(official_checkpoint(tmp_path / "trufor.pth.tar"))
    images = [ImageInput("d/a.png", random_image(37, 53, 1)), ImageInput("d/b.png", random_image(64, 48, 2))]
    predictions = detector.predict(images)
    for image, prediction in zip(images, predictions, strict=True):
        assert prediction.probability.shape == image.pixels.shape[:2] and prediction.probability.dtype == np.float32
        assert 0 <= prediction.probability.min() < prediction.probability.max() <= 1 and 0 < prediction.score < 1
    copy = save_copy(detector.model.state_dict(), tmp_path / "copy.safetensors")
    again = build(copy).predict(images)
    for first, second in zip(predictions, again, strict=True):
        assert np.array_equal(first.probability, second.probability) and first.score == second.score


@pytest.mark.parametrize(
    ("change", "error"),
    [("missing", r"missing detection\.3\.bias"), ("extra", r"unexpected backbone_conf\.norm1\.weight")],
)
def test_a_missing_or_an_extra_key_is_refused_naming_it(change, error, tmp_path):
    checkpoint = torch.load(official_checkpoint(tmp_path / "full.pth.tar"), weights_only=True)
    if change == "missing":
        del checkpoint["state_dict"]["detection.3.bias"]
    else:  # the separate confidence encoder the released configuration does not have
        checkpoint["state_dict"]["backbone_conf.norm1.weight"] = torch.ones(8)
    torch.save(checkpoint, tmp_path / "changed.pth.tar")
    with pytest.raises(WeightsError, match=error):
        build(tmp_path / "changed.pth.tar")


def test_images_above_max_megapixels_or_below_the_smallest_side_are_refused(tmp_path):
    detector = build(official_checkpoint(tmp_path / "trufor.pth.tar"), max_megapixels=0.001)
    with pytest.raises(ValueError, match=r"53×37 image \(0\.0 megapixels\) is above max_megapixels=0\.001"):
        detector.predict([ImageInput("d/big", random_image(37, 53))])
    with pytest.raises(ValueError, match=r"at least 13×13 pixels, this one is 30×12"):
        detector.predict([ImageInput("d/thin", random_image(12, 30))])


def test_run_end_to_end(tmp_path):
    ran = run_detector(tmp_path, "trufor", f"checkpoint={official_checkpoint(tmp_path / 'trufor.pth.tar')}")
    assert ran.exit_code == 0, ran.output
    assert "tiny: 3 scored" in ran.output
