"""CLUE configs: presets, dict and JSON round trips, dotted overrides and the checks on impossible settings."""

from __future__ import annotations

import json

import pytest

from forgebench.detectors.clue.config import TINY, CLUEConfig, preset


def test_tiny_round_trips_through_dict_and_json():
    config = preset("tiny")
    assert CLUEConfig.from_dict(config.to_dict()) == config
    assert CLUEConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config  # lists back to tuples
    assert config.sd3.transformer == TINY["sd3"]["transformer"]
    assert (config.sd3.lora.rank, config.sd3.lora.targets[0], config.sam.lora.targets) == (4, "attn.to_q", ("qkv",))


def test_dotted_and_nested_overrides():
    assert preset("tiny", {"sam.size": 128}).sam.size == 128
    changed = preset("tiny", {"sd3": {"lora": {"rank": 2}}, "noise.shift": 1.0})
    assert (changed.sd3.lora.rank, changed.sd3.lora.alpha, changed.noise.shift) == (2, 4.0, 1.0)
    assert changed.sd3.size == 64  # the rest of the preset stays
    assert preset("tiny").override({"sam.encoder.depth": 3}).sam.encoder["embed_dim"] == 32


def test_paper_presets():
    paper, large = preset("paper"), preset("paper-max")
    assert (paper.sd3.size, paper.sam.size, paper.noise.shift, paper.levels) == (512, 1024, 3.0, 3)
    assert paper.sd3.weights == "stabilityai/stable-diffusion-3-medium-diffusers"
    assert (large.sd3.size, large.preset) == (1024, "paper-max")
    vae = paper.sd3.vae
    assert (vae["scaling_factor"], vae["shift_factor"]) == (1.5305, 0.0609)
    assert vae["block_out_channels"] == [128, 256, 512, 512]


def test_numbers_written_as_strings_are_read():
    changed = preset("tiny", {"noise.shift": "5e-1", "sam.size": "128", "noise.levels": 2.0})
    assert (changed.noise.shift, changed.sam.size, changed.noise.levels) == (0.5, 128, 2)
    assert isinstance(changed.sam.size, int)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"sam.sise": 64}, "sise"),
        ({"noize": {}}, "noize"),
        ({"sd3.lora.ranks": 2}, "ranks"),
        ({"sam.size": 100}, "sam.size must be a multiple of 16"),
        ({"sd3.size": 72}, "sd3.size must be a multiple of 16"),
        ({"noise.levels": 0}, "noise.levels"),
        ({"heads.groups": 5}, "heads.groups"),
        ({"sd3.enabled": False, "sam.enabled": False}, "at least one branch"),
        ({"sam": 3}, "model.sam must be a mapping"),
        ({"sam.size": 64.5}, "whole number"),
        ({"noise.shift": "three"}, "noise.shift must be a number"),
    ],
)
def test_impossible_settings_raise(changes, message):
    with pytest.raises(ValueError, match=message):
        preset("tiny", changes)


def test_unknown_preset():
    with pytest.raises(ValueError, match=r"unknown CLUE preset 'huge'.*tiny"):
        preset("huge")


def test_levels_are_one_without_noise():
    assert preset("tiny", {"noise.levels": 4}).levels == 4
    assert preset("tiny", {"noise.mode": "none", "noise.levels": 4}).levels == 1


@pytest.mark.parametrize(
    "changes, named", [({"sd3.tune": "LoRA"}, "model.sd3.tune"), ({"noise.mode": "RF"}, "model.noise.mode")]
)
def test_choices_are_checked(changes, named):
    with pytest.raises(ValueError, match=rf"{named} must be one of"):
        preset("tiny", changes)
