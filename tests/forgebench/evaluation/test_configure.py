"""Device choice: auto prefers an available GPU and otherwise falls back to another supported device."""

from __future__ import annotations

import pytest

from forgebench.evaluation import configure
from forgebench.plugin.contract import DetectorCard, DetectorPlugin


def plugin(*devices: str) -> DetectorPlugin:
    return DetectorPlugin(card=DetectorCard(name="d", summary="", devices=devices), options=object, build=None)


@pytest.mark.parametrize("gpu, devices, expected", [
    (False, ("cuda", "cpu"), "cpu"),
    (True, ("cuda", "cpu"), "cuda"),
    (True, ("cpu",), "cpu"),
    (False, ("cpu", "cuda"), "cpu"),
])  # fmt: skip
def test_auto_device(monkeypatch, gpu, devices, expected):
    monkeypatch.setattr(configure, "_cuda_available", lambda: gpu)
    assert configure.resolve_device("auto", plugin(*devices)) == expected


def test_gpu_only_detector_without_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(configure, "_cuda_available", lambda: False)
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        configure.resolve_device("auto", plugin("cuda"))


def test_explicit_device_must_be_supported():
    with pytest.raises(ValueError, match="runs on cpu"):
        configure.resolve_device("cuda:1", plugin("cpu"))
    assert configure.resolve_device("cuda:1", plugin("cuda", "cpu")) == "cuda:1"
