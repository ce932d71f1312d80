"""Official checkpoints in their published layouts are read without running pickled code, and fit strictly."""

from __future__ import annotations

import argparse
import os

import pytest
import torch
from torch import nn

from forgebench.detectors.deep.weights import WeightsError, load_strict, read_official, save_copy

PUBLISHED = "the authors' release page"


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 1))


def read(path):
    return read_official(path, "net", PUBLISHED)


@pytest.mark.parametrize(
    "layout",
    [
        lambda sd: sd,
        lambda sd: {"state_dict": sd, "epoch": 7},
        lambda sd: {"model": {f"module.{k}": v for k, v in sd.items()}, "args": argparse.Namespace(lr=1e-4)},
    ],
    ids=["raw", "state_dict-and-epoch", "dataparallel-model-and-args"],
)
def test_official_layouts_are_read_and_load_strictly(layout, tmp_path):
    reference = model()
    path = tmp_path / "official.pth"
    torch.save(layout(reference.state_dict()), path)
    tensors = read(path)
    assert tensors.keys() == reference.state_dict().keys()
    loaded = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 1))
    load_strict(loaded, tensors, path)
    image = torch.rand(1, 3, 8, 8)
    assert torch.equal(loaded.eval()(image), reference.eval()(image))
    copy = save_copy(tensors, tmp_path / "copy.safetensors")
    assert all(torch.equal(read(copy)[key], value) for key, value in tensors.items())


class Payload:
    """Pickles to a call of ``os.system``: what a malicious checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickled_object_payload_is_refused_without_running(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "hook": Payload(marker)}, path)
    with pytest.raises(WeightsError, match=r"evil\.pth is not a checkpoint forgebench reads without running code"):
        read(path)
    assert not marker.exists()


def test_missing_extra_and_misshapen_keys_are_named(tmp_path):
    tensors = dict(model().state_dict())
    tensors["head.weight"] = tensors.pop("2.weight")
    with pytest.raises(WeightsError, match=r"missing 2\.weight, unexpected head\.weight"):
        load_strict(model(), tensors, "ckpt")
    tensors = dict(model().state_dict(), **{"2.bias": torch.zeros(3)})
    with pytest.raises(WeightsError, match=r"2\.bias has shape \(3,\), the model's is \(1,\)"):
        load_strict(model(), tensors, "ckpt")


def test_an_absent_checkpoint_names_the_option_and_where_it_is_published(tmp_path):
    with pytest.raises(WeightsError, match=r"net needs its official checkpoint: --option checkpoint=FILE \(published"):
        read(None)
    with pytest.raises(WeightsError, match=r"nope\.pth not found \(--option checkpoint=FILE; published at the authors"):
        read(tmp_path / "nope.pth")
    torch.save({"epoch": 3}, tmp_path / "no-weights.pth")
    with pytest.raises(WeightsError, match="holds no state dict of tensors"):
        read(tmp_path / "no-weights.pth")
