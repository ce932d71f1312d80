"""Training settings: defaults, YAML, dotted overrides, clear errors."""

from __future__ import annotations

import pytest

from forgebench.detectors.clue.train.loop import model_config
from forgebench.detectors.clue.train.settings import TrainConfig, load_settings


def test_defaults_follow_the_paper_recipe():
    settings = load_settings(None)
    assert settings == TrainConfig()
    assert settings.data.train == ("casia2", "imd2020", "fantastic-reality", "tampcoco")
    assert settings.data.fractions == {"tampcoco": 0.01} and settings.data.balanced
    assert (settings.optim.lr_lora, settings.optim.lr_heads, settings.optim.batch_size) == (1e-4, 5e-4, 16)
    assert model_config(settings).preset == "paper"


def test_yaml_then_overrides(tmp_path):
    file = tmp_path / "run.yaml"
    file.write_text("model: {preset: tiny, noise: {shift: 1}}\noptim: {epochs: 3, lr_heads: 5e-3}\n", encoding="utf-8")
    settings = load_settings(file, ["optim.epochs=7", "model.sam.size=128", "data.train=[synthetic-train]"])
    assert settings.optim.epochs == 7 and settings.optim.lr_heads == 0.005
    assert settings.data.train == ("synthetic-train",)
    config = model_config(settings)
    assert (config.preset, config.sam.size, config.noise.shift, config.sd3.size) == ("tiny", 128, 1.0, 64)


def test_unknown_setting_is_named_with_the_file(tmp_path):
    file = tmp_path / "run.yaml"
    file.write_text("optim: {epoch: 3}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"run.yaml.optim has no setting epoch"):
        load_settings(file)


def test_bad_values_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"optim\.epochs must be a whole number"):
        load_settings(None, ["optim.epochs=2.5"])
    with pytest.raises(ValueError, match="not of the form key=value"):
        load_settings(None, ["optim.epochs"])
    with pytest.raises(ValueError, match="cannot read training config"):
        load_settings(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("written", "read"), [("on", "on"), ("off", "off"), ("auto", "auto"), ("yes", "on")])
def test_on_and_off_are_read_as_written_though_yaml_reads_them_as_booleans(tmp_path, written, read):
    assert load_settings(None, [f"checkpointing={written}"]).checkpointing == read
    file = tmp_path / "run.yaml"
    file.write_text(f"checkpointing: {written}\n", encoding="utf-8")
    assert load_settings(file).checkpointing == read
    with pytest.raises(ValueError, match="must be one of auto, on, off, got 'maybe'"):
        load_settings(None, ["checkpointing=maybe"])
