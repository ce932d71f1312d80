"""IML-ViT: the released architecture's keys and size, its official checkpoint layouts, the official pre- and
post-processing, and the detector end to end on small random-weight models."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from builders import pairs_dataset
from typer.testing import CliRunner

from forgebench.cli import app
from forgebench.detectors.deep.imlvit import MEAN, STD, IMLViT, IMLViTSize, postprocess, preprocess, to_official
from forgebench.detectors.deep.imlvit_plugin import PLUGIN
from forgebench.detectors.deep.official import CheckpointOptions
from forgebench.detectors.deep.weights import WeightsError, save_copy
from forgebench.plugin.contract import ImageInput

TINY = IMLViTSize(input_size=64, embed_dim=32, depth=3, num_heads=2, global_blocks=(2,), window=2, pretrain_grid=3,
                  fpn_channels=8, head_channels=8)  # fmt: skip


def official_checkpoint(path, layout="raw", size=TINY):
    """A random-weight IML-ViT saved as the authors do: official key names, raw or under ``model`` with ``args``."""
    torch.manual_seed(0)
    model = IMLViT(size)
    with torch.no_grad():
        for buffer in ("running_mean", "running_var"):
            getattr(model.predict_head.norm, buffer).uniform_(0.5, 1.5)
    state = to_official(model.state_dict())
    torch.save(state if layout == "raw" else {"model": state, "args": argparse.Namespace(lr=1e-4)}, path)
    return path


def build(path):
    return PLUGIN.build(CheckpointOptions(checkpoint=path), "cpu")


def test_the_released_architecture_has_the_official_keys_and_size():
    model = IMLViT()
    keys = to_official(model.state_dict()).keys()
    assert len(keys) == 212 and sum(p.numel() for p in model.parameters()) == 91_777_729
    assert "encoder_net.blocks.11.mlp.fc2.weight" in keys and "featurePyramid_net.simfp_2.4.norm.bias" in keys
    assert model.encoder_net.pos_embed.shape == (1, 197, 768)
    assert model.encoder_net.blocks[2].attn.rel_pos_h.shape == (127, 64)
    assert model.encoder_net.blocks[3].attn.rel_pos_h.shape == (27, 64)
    assert IMLViTSize.of(to_official(model.state_dict())) == IMLViTSize()


def test_preprocessing_pads_top_left_before_normalising_and_fits_large_images():
    pixels = np.array([[[255, 0, 128], [10, 20, 30]]], np.uint8)  # 1×2
    image, inside = preprocess(pixels, 8)
    assert image.shape == (8, 8, 3) and inside == (1, 2)
    np.testing.assert_allclose(image[0, 0], (np.array([1.0, 0.0, 128 / 255]) - MEAN) / STD, rtol=1e-6)
    np.testing.assert_allclose(image[5, 5], -MEAN / STD, rtol=1e-6)  # padding is zero pixels, normalised
    _, inside = preprocess(np.zeros((30, 12, 3), np.uint8), 8)
    assert inside == (8, 3)  # long side to 8, rounded
    logits = torch.zeros(1, 2, 2)
    logits[0, 0, 0] = 4.0
    probability = postprocess(logits, (3, 5), 8)
    # pixel (2, 4) of the 8×8 upsampling samples the 2×2 logits at (0.125, 0.625): weight 0.875 · 0.375 on the 4
    assert probability.shape == (3, 5)
    assert float(probability[2, 4]) == pytest.approx(1 / (1 + np.exp(-4 * 0.875 * 0.375)), rel=1e-6)


@pytest.mark.parametrize("layout", ["raw", "model-and-args"])
def test_official_layouts_and_the_safetensors_copy_give_the_same_maps(layout, tmp_path):
    detector = build(official_checkpoint(tmp_path / "iml-vit_checkpoint.pth", layout))
    sizes = {"d/a.png": (37, 53, 3), "d/b.png": (90, 70, 3)}  # odd-sized, and larger than the 64² input
    images = [ImageInput(name, np.random.default_rng(len(name) + i).integers(0, 256, shape, dtype=np.uint8))
              for i, (name, shape) in enumerate(sizes.items())]  # fmt: skip
    maps = [p.probability for p in detector.predict(images)]
    for image, probability in zip(images, maps, strict=True):
        assert probability.shape == image.pixels.shape[:2] and probability.dtype == np.float32
        assert probability.min() >= 0 and probability.max() <= 1 and probability.std() > 0
    copy = save_copy(to_official(detector.model.state_dict()), tmp_path / "copy.safetensors")
    again = [p.probability for p in build(copy).predict(images)]
    assert all(np.array_equal(a, b) for a, b in zip(maps, again, strict=True))
    assert detector.weights_digest != build(copy).weights_digest


@pytest.mark.parametrize(
    ("change", "error"),
    [("missing", r"missing predict_head\.linear_predict\.bias"), ("extra", r"unexpected encoder_net\.neck\.0\.weight")],
)
def test_a_missing_or_an_extra_key_is_refused_naming_it(change, error, tmp_path):
    state = torch.load(official_checkpoint(tmp_path / "full.pth"), weights_only=True)
    if change == "missing":
        del state["predict_head.linear_predict.bias"]
    else:  # SAM's neck, which IML-ViT's encoder does not have
        state["encoder_net.neck.0.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "changed.pth")
    with pytest.raises(WeightsError, match=error):
        build(tmp_path / "changed.pth")


def test_run_and_leaderboard_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    catalog = pairs_dataset(tmp_path / "tiny", n_tampered=3, n_authentic=1)
    checkpoint = official_checkpoint(tmp_path / "iml-vit_checkpoint.pth")
    results = tmp_path / "results"
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "imlvit", "--dataset", "tiny", "--catalog", str(catalog), "--results",
                              str(results), "--option", f"checkpoint={checkpoint}"])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert "tiny: 4 scored" in ran.output
    board = runner.invoke(
        app, ["leaderboard", "--dataset", "tiny", "--catalog", str(catalog), "--results", str(results)]
    )
    assert board.exit_code == 0 and "imlvit" in (results / "leaderboard.csv").read_text()
