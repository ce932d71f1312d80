"""``forgebench predict`` on image files: refusals, per-image failures and output names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from builders import write_image
from PIL import Image

from forgebench.cli import predict as predict_module
from forgebench.plugin import registry
from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, Prediction
from forgebench.plugin.registry import Registry


@dataclass(frozen=True)
class NoOptions:
    """The scripted detector takes no options."""


class Scripted(Detector):
    """Left half p = 0.9; raises for an image named ``raise*`` and returns p = 1.5 for one named ``over*``."""

    def __init__(self) -> None:
        self.sources: list[bytes | None] = []

    def predict(self, batch):
        (item,) = batch
        self.sources.append(item.source)
        name = Path(item.image_id).name
        if name.startswith("raise"):
            raise RuntimeError("scripted failure")
        probability = np.zeros(item.pixels.shape[:2], np.float32)
        probability[:, : probability.shape[1] // 2] = 1.5 if name.startswith("over") else 0.9
        return [Prediction(probability)]


@pytest.fixture
def scripted(monkeypatch):
    fresh = Registry(registry.DETECTOR_GROUP, DetectorPlugin)
    monkeypatch.setattr(registry, "detectors", fresh)
    built = Scripted()
    fresh.register("scripted", DetectorPlugin(DetectorCard("scripted", "test"), NoOptions, lambda o, d: built))
    return built


@pytest.mark.parametrize("options", [(), ("--option", "root=.")])
def test_a_detector_that_does_not_read_pixels_is_refused(cli, tmp_path, options):
    write_image(tmp_path / "in/photo.png")
    result = cli("predict", "masks-dir", tmp_path / "in/photo.png", "--out", tmp_path / "out", *options)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "masks-dir does not read pixels" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_each_failing_image_is_reported_and_the_others_are_written(cli, tmp_path, scripted):
    folder = tmp_path / "in"
    for name in ("first.png", "raise.png", "over.png", "last.png"):
        write_image(folder / name)
    (folder / "broken.png").write_bytes(b"not an image")
    names = ("first.png", "raise.png", "broken.png", "over.png", "last.png")
    result = cli("predict", "scripted", *(folder / name for name in names), "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any("raise.png: RuntimeError: scripted failure" in line for line in lines)
    assert any("broken.png: DecodeError:" in line for line in lines)
    assert any("over.png: InvalidMapError:" in line and "[0, 1.5]" in line for line in lines)
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == [f"{stem}_{kind}.png" for stem in ("first", "last") for kind in ("mask", "overlay", "prob")]
    mask = np.asarray(Image.open(tmp_path / "out/last_mask.png"))
    assert (mask[:, :16] == 255).all() and (mask[:, 16:] == 0).all()


def test_the_map_is_checked_once_per_image(cli, tmp_path, scripted, monkeypatch):
    calls = []
    check_map = predict_module.check_map
    monkeypatch.setattr(predict_module, "check_map", lambda probability: calls.append(1) or check_map(probability))
    write_image(tmp_path / "in/a.png")
    write_image(tmp_path / "in/b.png")
    result = cli("predict", "scripted", tmp_path / "in/a.png", tmp_path / "in/b.png", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert len(calls) == 2


def test_the_detector_gets_each_file_as_stored(cli, tmp_path, scripted):
    write_image(tmp_path / "in/a.png")
    write_image(tmp_path / "in/b.jpg")
    result = cli("predict", "scripted", tmp_path / "in/a.png", tmp_path / "in/b.jpg", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert scripted.sources == [(tmp_path / "in" / name).read_bytes() for name in ("a.png", "b.jpg")]


def test_inputs_with_one_file_name_get_distinct_outputs_in_order(cli, tmp_path):
    sizes = {"a": (20, 30), "b": (24, 32), "c": (16, 16)}
    for folder, (height, width) in sizes.items():
        write_image(tmp_path / folder / "x.png", height, width)
    inputs = [tmp_path / folder / "x.png" for folder in sizes]
    result = cli("predict", "all-forged", *inputs, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for stem, size in zip(("x", "x-2", "x-3"), sizes.values(), strict=True):
        assert np.asarray(Image.open(tmp_path / f"out/{stem}_mask.png")).shape == size
        assert f"{stem}_mask.png, {stem}_overlay.png, {stem}_prob.png" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 9


def test_unique_stems_skip_names_already_taken():
    paths = [Path("a/x.jpg"), Path("b/x.png"), Path("x-2.jpg"), Path("c/x.jpg"), Path("y.png")]
    assert predict_module.unique_stems(paths) == ["x", "x-2", "x-2-2", "x-3", "y"]
