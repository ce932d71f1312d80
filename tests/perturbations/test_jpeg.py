"""JPEG perturbation: IJG tables at each quality, chroma subsampling, baseline coding, the decode round trip."""

from __future__ import annotations

import numpy as np
import pytest

from forgebench.evaluation.perturb import parse_chain
from forgebench.perturbations.codec import decode_jpeg, encode_jpeg
from forgebench.perturbations.jpeg import PLUGIN, JpegParams


@pytest.fixture
def noise_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("quality", [10, 50, 70, 90, 100])
def test_quantisation_tables_are_the_scaled_ijg_tables(quality, noise_image, ijg_tables, jpeg_facts):
    facts = jpeg_facts(encode_jpeg(noise_image, quality, 420))
    assert facts.tables == ijg_tables(quality)


def test_table_scaling_golden_values(ijg_tables):
    assert ijg_tables(50)[0][:3] == [16, 11, 10]
    assert ijg_tables(10)[0][:3] == [80, 55, 50] and max(ijg_tables(10)[1]) == 255
    assert set(ijg_tables(100)[0]) == {1}


@pytest.mark.parametrize(("subsampling", "pillow_code"), [(444, 0), (422, 1), (420, 2)])
def test_subsampling_and_baseline(subsampling, pillow_code, noise_image, jpeg_facts):
    facts = jpeg_facts(encode_jpeg(noise_image, 80, subsampling))
    assert facts.sampling == pillow_code
    assert not facts.progressive
    assert jpeg_facts(encode_jpeg(noise_image, 80, subsampling, progressive=True)).progressive


@pytest.mark.parametrize("params", [JpegParams(q=75), JpegParams(q=50, ss=444), JpegParams(q=100, ss=422)])
def test_plugin_is_encode_then_decode(params, noise_image):
    out = PLUGIN.apply(noise_image, params, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == noise_image.shape
    np.testing.assert_array_equal(out, decode_jpeg(encode_jpeg(noise_image, params.q, params.ss)))


def test_quality_is_required_and_subsampling_defaults_to_420(noise_image):
    with pytest.raises(ValueError, match="give the quality q"):
        JpegParams()
    through_spec = parse_chain("jpeg:q=70").apply(noise_image, "ds/x.png", seed=0)
    np.testing.assert_array_equal(through_spec, decode_jpeg(encode_jpeg(noise_image, 70, 420)))


def test_quality_100_is_still_lossy(noise_image):
    out = PLUGIN.apply(noise_image, JpegParams(q=100, ss=444), np.random.default_rng(0))
    error = np.abs(out.astype(int) - noise_image)
    assert 1 <= error.max() <= 4
    assert (error > 0).mean() > 0.1


def test_lower_quality_loses_more(noise_image):
    errors = [
        np.abs(PLUGIN.apply(noise_image, JpegParams(q=q), np.random.default_rng(0)).astype(int) - noise_image).mean()
        for q in (90, 50, 10)
    ]
    assert errors[0] < errors[1] < errors[2]
