"""Every registered plugin keeps the contract: found by name, typed options that round-trip through text, a built
detector that returns valid maps (or a refusal that names the option to set), perturbations that return uint8 RGB
and draw only from the generator they are given.

The plugins are read from the registries, so a plugin added to ``pyproject.toml`` is checked without editing this
file; a perturbation whose parameters have no defaults needs one example spec in ``EXAMPLES``.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from forgebench.evaluation.metrics import check_map
from forgebench.evaluation.perturb import parse_chain
from forgebench.plugin import registry
from forgebench.plugin.contract import Detector, DetectorPlugin, ImageInput, PerturbationPlugin
from forgebench.plugin.options import from_pairs, options_dict

DETECTORS = registry.detectors.names()
PERTURBATIONS = registry.perturbations.names()
EXAMPLES = {
    "jpeg": "jpeg:q=70",
    "blur": "blur:k=5",
    "noise": "noise:sigma=3",
    "resize": "resize:s=0.5",
    "osn": "osn:wechat",
}
"""A valid spec for each perturbation whose parameters need a value."""
IMAGES = [
    ImageInput("d/a.png", np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)),
    ImageInput("d/b.png", np.random.default_rng(1).integers(0, 256, (40, 36, 3), dtype=np.uint8)),
]


def test_the_built_in_plugins_are_registered():
    assert {"ela", "noi1", "adq1", "all-forged", "all-pristine", "masks-dir", "clue"} <= set(DETECTORS)
    assert {"clean", "jpeg", "blur", "noise", "resize", "osn"} <= set(PERTURBATIONS)


@pytest.mark.parametrize("name", DETECTORS)
def test_detector_card_and_options(name):
    plugin = registry.detectors.get(name)
    assert isinstance(plugin, DetectorPlugin) and plugin.card.name == name and plugin.card.summary
    assert set(plugin.card.devices) <= {"cpu", "cuda"} and plugin.card.devices
    assert dataclasses.is_dataclass(plugin.options) and plugin.options.__dataclass_params__.frozen
    defaults = plugin.options()
    given = [f"{key}={value}" for key, value in options_dict(defaults).items() if value is not None]
    assert from_pairs(plugin.options, given, f"detector {name}") == defaults


@pytest.mark.parametrize("name", DETECTORS)
def test_built_detector_returns_valid_maps_or_names_the_missing_option(name):
    plugin = registry.detectors.get(name)
    try:
        detector = plugin.build(plugin.options(), "cpu")
    except ValueError as error:  # weights or precomputed maps that only the user can name
        fields = {f.name for f in dataclasses.fields(plugin.options)}
        assert any(re.search(rf"\b{field}\b", str(error)) for field in fields), str(error)
        return
    assert isinstance(detector, Detector)
    assert isinstance(detector.batches_in_flight, int) and detector.batches_in_flight >= 1
    assert detector.weights_digest is None or re.fullmatch(r"[0-9a-f]{64}", detector.weights_digest)
    predictions = detector.predict(IMAGES)
    assert len(predictions) == len(IMAGES)
    for image, prediction in zip(IMAGES, predictions, strict=True):
        assert check_map(prediction.probability).shape == image.pixels.shape[:2]
        assert prediction.score is None or 0.0 <= prediction.score <= 1.0


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_perturbation_metadata_covers_every_parameter(name):
    plugin = registry.perturbations.get(name)
    assert isinstance(plugin, PerturbationPlugin) and plugin.name == name and plugin.summary
    fields = {field.name for field in dataclasses.fields(plugin.params)}
    assert fields == set() or plugin.details.strip()
    for field in fields:
        assert re.search(rf"(^|\s){field}:", plugin.details), field
    assert set(plugin.aliases.values()) <= fields


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_perturbation_returns_uint8_rgb_and_draws_only_from_its_generator(name):
    chain = parse_chain(EXAMPLES.get(name, name))
    pixels = IMAGES[0].pixels
    first = chain.apply(pixels.copy(), "d/a.png", seed=0)
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert np.array_equal(first, chain.apply(pixels.copy(), "d/a.png", seed=0))
    assert chain.canonical_id == parse_chain(chain.canonical_id).canonical_id
    if not chain.stochastic:
        assert np.array_equal(first, chain.apply(pixels.copy(), "d/a.png", seed=1))
