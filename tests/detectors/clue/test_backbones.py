"""Backbone weights in their official on-disk formats: a diffusers folder for SD3, a SAM checkpoint file."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest
import torch
from diffusers import AutoencoderKL, SD3Transformer2DModel
from torch.nn import functional as F

from forgebench.detectors.clue import backbones
from forgebench.detectors.clue.backbones import WeightsError
from forgebench.detectors.clue.config import TINY, preset
from forgebench.detectors.clue.model import CLUE


@pytest.fixture
def sd3_folder(tmp_path):
    """A tiny SD3 as diffusers writes it: transformer/ and vae/ with config.json and safetensors."""
    torch.manual_seed(5)
    transformer = SD3Transformer2DModel.from_config(TINY["sd3"]["transformer"])
    vae = AutoencoderKL.from_config(TINY["sd3"]["vae"])
    transformer.save_pretrained(tmp_path / "sd3/transformer")
    vae.save_pretrained(tmp_path / "sd3/vae")
    return tmp_path / "sd3", transformer, vae


@pytest.fixture
def sam_file(tmp_path):
    """A tiny SAM image encoder saved like the official checkpoints (image_encoder.* plus other parts)."""
    torch.manual_seed(6)
    encoder = backbones.build_sam(preset("tiny").sam)
    with torch.no_grad():  # SAM initialises these to zero: random values make resizing them observable
        encoder.pos_embed.normal_()
        for name, parameter in encoder.named_parameters():
            if "rel_pos" in name:
                parameter.normal_()
    state = {f"image_encoder.{k}": v for k, v in encoder.state_dict().items()}
    state["mask_decoder.x"] = torch.ones(3)
    torch.save(state, tmp_path / "sam_tiny.pth")
    return tmp_path / "sam_tiny.pth", encoder.state_dict()


def test_sd3_loads_from_a_diffusers_folder(sd3_folder):
    folder, transformer, vae = sd3_folder
    model = CLUE(preset("tiny", {"sd3.weights": str(folder)}))
    loaded = model.sd3.transformer
    assert torch.equal(loaded.pos_embed.proj.weight, transformer.pos_embed.proj.weight)
    assert torch.equal(
        loaded.transformer_blocks[0].attn.to_q.base_layer.weight, transformer.transformer_blocks[0].attn.to_q.weight
    )
    assert torch.equal(model.sd3.vae.encoder.conv_in.weight, vae.encoder.conv_in.weight)
    assert model.sd3.vae.decoder is None
    assert len(model.lora_layers()) == 17


def test_sd3_folder_without_vae(sd3_folder):
    folder, _, _ = sd3_folder
    shutil.rmtree(folder / "vae")
    with pytest.raises(WeightsError, match=r"lacks vae/config\.json.*sd3\.weights"):
        CLUE(preset("tiny", {"sd3.weights": str(folder)}))


@pytest.mark.parametrize("weights", ["/nonexistent/sd3", "./models/sd3", "not-a-hub-id"])
def test_sd3_weights_that_are_neither_folder_nor_hub_id(weights):
    with pytest.raises(WeightsError, match=r"neither a folder nor a hub id.*sd3\.weights"):
        backbones.load_sd3(preset("tiny", {"sd3.weights": weights}).sd3)


def test_sam_loads_an_official_checkpoint(sam_file):
    path, state = sam_file
    model = CLUE(preset("tiny", {"sam.weights": str(path)}))
    loaded = model.sam.encoder
    assert torch.equal(loaded.pos_embed, state["pos_embed"])
    assert torch.equal(loaded.blocks[1].attn.qkv.base_layer.weight, state["blocks.1.attn.qkv.weight"])
    assert torch.equal(loaded.neck[2].weight, state["neck.2.weight"])


def test_sam_bare_encoder_state_dict_loads(sam_file, tmp_path):
    _, state = sam_file
    torch.save(state, tmp_path / "bare.pth")
    encoder = backbones.build_sam(dataclasses.replace(preset("tiny").sam, weights=str(tmp_path / "bare.pth")))
    assert all(torch.equal(encoder.state_dict()[k], v) for k, v in state.items())


def test_sam_checkpoint_at_another_size(sam_file):
    path, state = sam_file
    spec = preset("tiny", {"sam.weights": str(path), "sam.size": 128}).sam
    encoder = backbones.build_sam(spec)
    assert encoder.pos_embed.shape == (1, 8, 8, 32)
    grid = F.interpolate(state["pos_embed"].permute(0, 3, 1, 2), size=(8, 8), mode="bicubic", align_corners=False)
    torch.testing.assert_close(encoder.pos_embed.detach(), grid.permute(0, 2, 3, 1))
    table = F.interpolate(state["blocks.1.attn.rel_pos_h"].t()[None], size=15, mode="linear")[0].t()
    torch.testing.assert_close(encoder.blocks[1].attn.rel_pos_h.detach(), table)  # global block: 2·8 − 1 rows
    assert torch.equal(encoder.blocks[0].attn.rel_pos_h, state["blocks.0.attn.rel_pos_h"])  # windowed: unchanged
    assert torch.equal(encoder.blocks[0].mlp.lin1.weight, state["blocks.0.mlp.lin1.weight"])
    with torch.no_grad():
        assert encoder(torch.zeros(1, 3, 128, 128)).shape == (1, 16, 8, 8)


def test_sam_missing_or_unset_weights(tmp_path):
    spec = preset("tiny").sam
    with pytest.raises(WeightsError, match=r"not found \(set sam\.weights"):
        backbones.build_sam(dataclasses.replace(spec, weights=str(tmp_path / "absent.pth")))
    with pytest.raises(WeightsError, match=r"no SAM weights given: set sam\.weights"):
        CLUE(preset("tiny", {"sam.weights": None}))
    assert preset("paper").sam.weights is None  # the paper preset needs them named


class Payload:
    """Unpickling this would run code: ``os.makedirs(marker)``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (str(self.marker),)


def test_sam_checkpoint_with_pickled_code_is_refused(tmp_path):
    path, marker = tmp_path / "evil.pth", tmp_path / "ran"
    torch.save({"a": Payload(marker)}, path)
    with pytest.raises(WeightsError, match=r"cannot read SAM checkpoint .*evil\.pth"):
        backbones.build_sam(dataclasses.replace(preset("tiny").sam, weights=str(path)))
    assert not marker.exists()


def test_sam_file_without_an_image_encoder(tmp_path):
    torch.save({"mask_decoder.x": torch.zeros(1)}, tmp_path / "decoder.pth")
    with pytest.raises(WeightsError, match="holds no image encoder"):
        backbones.build_sam(dataclasses.replace(preset("tiny").sam, weights=str(tmp_path / "decoder.pth")))
