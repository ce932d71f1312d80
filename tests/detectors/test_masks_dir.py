"""The masks-dir detector reads precomputed maps by image id, in the declared polarity and range."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from forgebench.detectors.masks_dir import PLUGIN, MasksDirOptions
from forgebench.plugin.contract import ImageInput

PIXELS = np.zeros((4, 6, 3), np.uint8)


def item(image_id: str) -> ImageInput:
    return ImageInput(image_id=image_id, pixels=PIXELS)


def test_png_maps_by_image_id(tmp_path):
    (tmp_path / "ds/sub").mkdir(parents=True)
    levels = np.array([[0, 128, 255]], np.uint8)
    Image.fromarray(levels).save(tmp_path / "ds/sub/a.png")
    detector = PLUGIN.build(MasksDirOptions(root=tmp_path), "cpu")
    (prediction,) = detector.predict([item("ds/sub/a.jpg")])
    np.testing.assert_allclose(prediction.probability, [[0.0, 128 / 255, 1.0]], rtol=1e-6)
    assert prediction.score is None


def test_sixteen_bit_black_is_forged(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "forgebench.json").write_text(json.dumps({"polarity": "black_is_forged"}))
    Image.fromarray(np.array([[0, 65535]], np.uint16)).save(tmp_path / "ds/a.png")
    (prediction,) = PLUGIN.build(MasksDirOptions(root=tmp_path), "cpu").predict([item("ds/a.tif")])
    np.testing.assert_allclose(prediction.probability, [[1.0, 0.0]])


def test_npz_logits_with_score(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "forgebench.json").write_text(json.dumps({"range": "logit"}))
    np.savez(tmp_path / "ds/a.npz", map=np.array([[0.0, 100.0]]), score=np.float64(0.8))
    (prediction,) = PLUGIN.build(MasksDirOptions(root=tmp_path), "cpu").predict([item("ds/a.png")])
    np.testing.assert_allclose(prediction.probability, [[0.5, 1.0]])
    assert prediction.score == pytest.approx(0.8)


def test_missing_map_is_an_error_never_a_zero_map(tmp_path):
    detector = PLUGIN.build(MasksDirOptions(root=tmp_path), "cpu")
    with pytest.raises(FileNotFoundError, match=r"no precomputed map for ds/absent\.jpg"):
        detector.predict([item("ds/absent.jpg")])


def test_fingerprint_changes_when_the_maps_change(tmp_path):
    (tmp_path / "ds").mkdir()
    np.save(tmp_path / "ds/a.npy", np.zeros((2, 2)))
    first = PLUGIN.build(MasksDirOptions(root=tmp_path), "cpu").weights_digest
    np.save(tmp_path / "ds/b.npy", np.zeros((2, 2)))
    assert PLUGIN.build(MasksDirOptions(root=tmp_path), "cpu").weights_digest != first


def test_root_is_required():
    with pytest.raises(ValueError, match="--option root=DIR"):
        PLUGIN.build(MasksDirOptions(), "cpu")
    assert PLUGIN.card.reads_pixels is False
