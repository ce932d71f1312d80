"""Every perturbation's parameters: bad values refused, ids of values set in code (details: the conformance test)."""

from __future__ import annotations

import math

import pytest

from forgebench.perturbations import blur, jpeg, noise, osn, resize
from forgebench.plugin import registry
from forgebench.plugin.contract import PerturbationStep

BAD = [
    (jpeg.JpegParams, {"q": 0}),
    (jpeg.JpegParams, {"q": 101}),
    (jpeg.JpegParams, {"q": 75.5}),
    (jpeg.JpegParams, {"q": True}),
    (jpeg.JpegParams, {"ss": 411}),
    (blur.BlurParams, {}),
    (blur.BlurParams, {"k": 0}),
    (blur.BlurParams, {"k": 6}),
    (blur.BlurParams, {"k": 7.0}),
    (blur.BlurParams, {"sigma": 0.0}),
    (blur.BlurParams, {"k": 5, "sigma": -1.0}),
    (blur.BlurParams, {"sigma": math.nan}),
    (noise.NoiseParams, {}),
    (noise.NoiseParams, {"sigma": 3.0, "var": 9.0}),
    (noise.NoiseParams, {"sigma": -1.0}),
    (noise.NoiseParams, {"var": -0.5}),
    (noise.NoiseParams, {"sigma": 0.0}),
    (noise.NoiseParams, {"sigma": math.inf}),
    (resize.ResizeParams, {}),
    (resize.ResizeParams, {"s": 0.0}),
    (resize.ResizeParams, {"s": -0.5}),
    (resize.ResizeParams, {"s": 0.5, "interp": "cubic"}),
    (osn.OsnParams, {}),
    (osn.OsnParams, {"platform": "twitter"}),
    (osn.OsnParams, {"platform": "wechat", "variant": "fixed"}),
]


@pytest.mark.parametrize(("params", "values"), BAD)
def test_bad_values_are_refused_with_the_plugin_named(params, values):
    name = next(plugin.name for _, plugin in registry.perturbations if plugin.params is params)
    with pytest.raises(ValueError, match=f"^{name}: "):
        params(**values)


def test_numbers_built_in_code_are_formatted_from_their_declared_type():
    assert PerturbationStep("resize", resize.ResizeParams(s=1)).canonical_id == "resize(s=1.0,interp=bilinear)"
    assert PerturbationStep("noise", noise.NoiseParams(var=9)).canonical_id == "noise(sigma=3.0)"
