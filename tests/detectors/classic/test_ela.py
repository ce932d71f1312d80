"""ELA finds a region whose compression history differs from the rest, and abstains on flat images."""

from __future__ import annotations

import io

import numpy as np
from builders import paste_uncompressed
from PIL import Image
from skimage import data

from forgebench.detectors.classic.ela import PLUGIN, ElaOptions, ela_probability, error_level
from forgebench.plugin.contract import ImageInput


def test_never_compressed_paste_in_jpeg_stands_out():
    tampered, inside = paste_uncompressed(data.astronaut(), 90)
    probability = ela_probability(tampered, ElaOptions())
    assert probability[inside].mean() > 0.8
    assert probability[~inside].mean() < 0.25


def test_error_level_is_channel_mean_in_grey_levels():
    pixels = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, format="JPEG", quality=90, subsampling="4:2:0")
    expected = np.abs(pixels.astype(float) - np.asarray(Image.open(encoded).convert("RGB"))).mean(axis=2)
    np.testing.assert_allclose(error_level(pixels, 90), expected, atol=1e-4)


def test_uniform_image_abstains():
    uniform = np.full((40, 56, 3), (200, 30, 90), np.uint8)
    probability = ela_probability(uniform, ElaOptions())
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(3.0)), rtol=1e-6)


def test_plugin_predicts_float32_map_at_input_size():
    pixels = data.astronaut()[:203, :317]
    detector = PLUGIN.build(PLUGIN.options(), "cpu")
    (prediction,) = detector.predict([ImageInput("d/x.png", pixels)])
    assert prediction.probability.shape == (203, 317) and prediction.probability.dtype == np.float32
    assert prediction.probability.min() >= 0 and prediction.probability.max() <= 1
    assert PLUGIN.card.name == "ela" and PLUGIN.options() == ElaOptions(quality=90, box=7, z0=3.0)
