"""Perturbation chains: parsing, canonical ids and the per-image random generators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from forgebench.evaluation.perturb import parse_chain, step_rng
from forgebench.plugin import registry
from forgebench.plugin.contract import PerturbationPlugin
from forgebench.plugin.registry import Registry


@dataclass(frozen=True)
class NoiseParams:
    sigma: float = 1.0


def add_noise(pixels, params, rng):
    noisy = pixels + rng.normal(0.0, params.sigma, pixels.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@pytest.fixture
def noise_registry(monkeypatch):
    fresh = Registry(registry.PERTURBATION_GROUP, PerturbationPlugin)
    fresh.register("clean", "forgebench.perturbations.identity:PLUGIN")
    fresh.register("noise", PerturbationPlugin("noise", "test noise", NoiseParams, add_noise, stochastic=True))
    monkeypatch.setattr(registry, "perturbations", fresh)


def test_clean_is_the_empty_chain():
    chain = parse_chain("clean")
    assert chain.is_clean and chain.canonical_id == "clean"


def test_canonical_ids_and_chains(noise_registry):
    assert parse_chain("noise(sigma=3)").canonical_id == "noise(sigma=3.0)"
    assert parse_chain("clean+noise").canonical_id == "noise(sigma=1.0)"
    assert parse_chain("noise(sigma=2)+noise(sigma=1)").canonical_id == "noise(sigma=2.0)+noise(sigma=1.0)"


def test_same_image_same_output_other_image_other_noise(noise_registry):
    chain = parse_chain("noise(sigma=5)")
    grey = np.full((64, 64, 3), 128, np.uint8)
    first = chain.apply(grey, "ds/a.png", seed=0)
    np.testing.assert_array_equal(first, chain.apply(grey, "ds/a.png", seed=0))
    assert not np.array_equal(first, chain.apply(grey, "ds/b.png", seed=0))
    assert not np.array_equal(first, chain.apply(grey, "ds/a.png", seed=1))


def test_step_rng_follows_the_documented_derivation():
    import hashlib

    material = b"0:ds/a.png:noise(sigma=5.0)#0"
    value = int.from_bytes(hashlib.sha256(material).digest()[:8], "little")
    expected = np.random.Generator(np.random.PCG64(value)).random(3)
    np.testing.assert_array_equal(step_rng(0, "ds/a.png", "noise(sigma=5.0)", 0).random(3), expected)


def test_bad_parameters_are_reported(noise_registry):
    with pytest.raises(ValueError, match="sigma must be a number"):
        parse_chain("noise(sigma=loud)")
    with pytest.raises(ValueError, match="no option 'q'"):
        parse_chain("noise(q=3)")


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("jpeg:q=70", "jpeg(q=70,ss=420)"),
        ("jpeg:70", "jpeg(q=70,ss=420)"),
        ("jpeg(quality=70, subsampling=444)", "jpeg(q=70,ss=444)"),
        ("blur:sigma=1.5", "blur(sigma=1.5)"),
        ("blur:k=7", "blur(k=7)"),
        ("blur(ksize=7,sigma=2)", "blur(k=7,sigma=2.0)"),
        ("noise:3", "noise(sigma=3.0)"),
        ("noise:variance=9", "noise(sigma=3.0)"),
        ("noise:sigma=1e+1", "noise(sigma=10.0)"),
        ("noise:sigma=+3", "noise(sigma=3.0)"),
        ("resize:s=1e16", "resize(s=1e+16,interp=bilinear)"),
        ("resize:0.5", "resize(s=0.5,interp=bilinear)"),
        ("resize:scale=2,interp=lanczos", "resize(s=2.0,interp=lanczos)"),
        ("osn:wechat", "osn(platform=wechat)"),
        ("osn:platform=facebook,variant=random", "osn(platform=facebook,variant=random)"),
        ("resize:scale=0.5+jpeg:q=70", "resize(s=0.5,interp=bilinear)+jpeg(q=70,ss=420)"),
        ("clean+resize(s=0.5,interp=bilinear)+clean", "resize(s=0.5,interp=bilinear)"),
    ],
)
def test_spec_spellings_share_one_canonical_id(spec, canonical):
    assert parse_chain(spec).canonical_id == canonical
    assert parse_chain(canonical).canonical_id == canonical


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("jpeg:q=0", "q"),
        ("jpeg", "give the quality q"),
        ("noise:sigma=0", "> 0"),
        ("jpeg:quality=70,q=80", "twice"),
        ("blur:k=4", "odd"),
        ("blur", "give k"),
        ("noise:sigma=1,var=1", "one of"),
        ("osn:myspace", "must be one of"),
        ("osn", "platform must be one of"),
        ("resize", "resize"),
        ("resize:0", "resize"),
        ("resize:2,bilinear", "needs a key"),
        ("jpeg:q=70,q=80", "twice"),
        ("gamma:2", "Unknown perturbation 'gamma'"),
        ("jpeg[q=70]", "Cannot parse"),
    ],
)
def test_bad_specs_are_refused_with_the_reason(spec, message):
    with pytest.raises((ValueError, LookupError), match=message):
        parse_chain(spec)
