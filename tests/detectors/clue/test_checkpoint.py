"""CLUE checkpoints: only the trained tensors and the config are stored; save → load gives the same maps.

The tiny preset's backbones are ``weights: random`` and are *not* in the file: loading rebuilds them from the
branches' ``init_seed``, whatever torch's global random state is.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from forgebench.detectors.clue import checkpoint
from forgebench.detectors.clue.checkpoint import CheckpointError

CPU = torch.device("cpu")


def trained(build, activate, changes=None):
    """A seeded tiny model with active LoRA and moved fusion/head weights, as after some training."""
    model = build(changes).eval()
    activate(model)
    with torch.no_grad():
        for name, parameter in model.trainable().items():
            if not name.startswith("sd3.") and not name.startswith("sam."):
                parameter.add_(0.05)
    return model


def logits(model, images):
    pixels, ids = images
    with torch.no_grad():
        return model.eval()(pixels, *model.eval_noise(ids, CPU))


def test_save_then_load_gives_identical_logits(build, activate, images, tmp_path):
    model = trained(build, activate)
    path = checkpoint.save(model, tmp_path / "run/best.safetensors", {"step": 7, "f1": 0.5})
    torch.manual_seed(123)  # the global random state does not matter: random backbones come from init_seed
    loaded, info = checkpoint.load(path)
    assert info == {"step": 7, "f1": 0.5}
    assert loaded.config == model.config
    assert torch.equal(logits(loaded, images), logits(model, images))
    assert not torch.allclose(logits(build(), images), logits(model, images), atol=1e-4)  # the tensors matter


def test_restore_into_a_model_built_from_the_same_seed(build, activate, images, tmp_path):
    model = trained(build, activate)
    path = checkpoint.save(model, tmp_path / "a.safetensors")
    _, tensors, _ = checkpoint.read(path)
    fresh = build()
    checkpoint.restore(fresh, tensors, path)
    assert torch.equal(logits(fresh, images), logits(model, images))


def test_random_backbones_are_not_stored_but_rebuilt_from_their_seed(build, activate, images, tmp_path):
    model = trained(build, activate)
    path = checkpoint.save(model, tmp_path / "a.safetensors")
    assert not any(k.endswith("base_layer.weight") or ".vae." in k for k in checkpoint.read(path)[1])
    other, _ = checkpoint.load(path, {"sd3.init_seed": 1, "sam.init_seed": 1})  # other backbones, other maps
    assert not torch.allclose(logits(other, images), logits(model, images), atol=1e-4)


def test_file_holds_only_trainable_tensors_and_the_config(build, activate, tmp_path):
    model = trained(build, activate, {"sam.tune": "frozen"})
    path = checkpoint.save(model, tmp_path / "a.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        keys, metadata = set(handle.keys()), handle.metadata()
        head = handle.get_tensor("head.layers.2.bias")
    assert keys == set(model.trainable())
    assert not any(k.startswith("sam.") for k in keys) and not any("base_layer" in k for k in keys)
    assert metadata["format"] == "forgebench-clue/1"
    assert json.loads(metadata["config"]) == json.loads(json.dumps(model.config.to_dict()))
    assert torch.equal(head, model.head.layers[2].bias.detach())
    assert not (tmp_path / "a.safetensors.partial").exists()


def test_saving_a_merged_model_keeps_the_outputs(build, activate, images, tmp_path):
    model = trained(build, activate)
    expected = logits(model, images)
    model.merge_lora()
    path = checkpoint.save(model, tmp_path / "a.safetensors")
    torch.manual_seed(0)
    loaded, _ = checkpoint.load(path)
    torch.testing.assert_close(logits(loaded, images), expected, atol=1e-5, rtol=0)


def test_overrides_change_the_rebuilt_config(build, tmp_path):
    path = checkpoint.save(build(), tmp_path / "a.safetensors")
    loaded, _ = checkpoint.load(path, {"noise.seed": 3})
    assert loaded.config.noise.seed == 3 and loaded.config.sd3.size == 64


def test_unusable_files_raise_naming_the_path(build, tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(2)}, foreign)
    broken = tmp_path / "broken.safetensors"
    save_file({"x": torch.zeros(2)}, broken, metadata={"format": "forgebench-clue/1", "config": '{"sam": {"x": 1}}'})
    cases = [
        (tmp_path / "absent.safetensors", "not found"),
        (garbage, "not a safetensors file"),
        (foreign, "not a CLUE checkpoint"),
        (broken, "unusable CLUE config"),
    ]
    for path, message in cases:
        with pytest.raises(CheckpointError, match=message) as raised:
            checkpoint.load(path)
        assert str(path) in str(raised.value)


def test_tensors_of_another_model_are_refused(build, tmp_path):
    path = checkpoint.save(build({"sam.tune": "frozen"}), tmp_path / "frozen.safetensors")
    _, tensors, _ = checkpoint.read(path)
    with pytest.raises(CheckpointError, match=r"frozen\.safetensors does not match the model: 4 missing"):
        checkpoint.restore(build(), tensors, path)
    full = dict(checkpoint.read(checkpoint.save(build(), tmp_path / "full.safetensors"))[1])
    full["head.layers.2.bias"] = torch.zeros(2)
    with pytest.raises(CheckpointError, match=r"head\.layers\.2\.bias has shape \(2,\), want \(1,\)"):
        checkpoint.restore(build(), full, "full")
    integers = dict(full, **{"head.layers.2.bias": torch.zeros(1, dtype=torch.int64)})
    with pytest.raises(CheckpointError, match=r"full: head\.layers\.2\.bias holds torch\.int64 values, want floating"):
        checkpoint.restore(build(), integers, "full")


def test_a_missing_checkpoint_is_named_with_the_option_to_set(tmp_path):
    absent = tmp_path / "absent.safetensors"
    with pytest.raises(CheckpointError, match=r"absent\.safetensors not found \(set --option checkpoint=FILE\)"):
        checkpoint.digest(absent)
