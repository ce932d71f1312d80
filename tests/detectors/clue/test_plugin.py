"""The ``clue`` detector built through forgebench's registry from a tiny checkpoint."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
import torch

from forgebench.detectors.clue import checkpoint
from forgebench.detectors.clue.backbones import WeightsError
from forgebench.detectors.clue.plugin import PLUGIN, CLUEOptions, square_input, square_pixels
from forgebench.evaluation.configure import configure
from forgebench.plugin.contract import ImageInput

RNG = np.random.default_rng(0)
BATCH = [
    ImageInput(image_id="ds/a.png", pixels=RNG.integers(0, 256, (30, 50, 3), dtype=np.uint8)),
    ImageInput(image_id="ds/b.png", pixels=RNG.integers(0, 256, (70, 40, 3), dtype=np.uint8)),
]


@pytest.fixture
def trained(build, activate, tmp_path):
    """A checkpoint of a seed-0 tiny model with active LoRA, and that model."""
    model = build().eval()
    activate(model)
    return checkpoint.save(model, tmp_path / "clue.safetensors"), model


def detector(path, *options):
    torch.manual_seed(0)  # the backbones are random and rebuilt on load: the seed the checkpointed model had
    return configure("clue", [f"checkpoint={path}", *options], "cpu").build()


def test_maps_at_each_image_size(trained):
    path, model = trained
    predictions = detector(path).predict(BATCH)
    pixels = torch.from_numpy(np.stack([square_input(item.pixels, 64) for item in BATCH])).permute(0, 3, 1, 2)
    with torch.no_grad():
        direct = torch.sigmoid(model(pixels, *model.eval_noise(["ds/a.png", "ds/b.png"], torch.device("cpu"))))
    for prediction, item, expected in zip(predictions, BATCH, direct[:, 0].numpy(), strict=True):
        probability = prediction.probability
        assert probability.shape == item.pixels.shape[:2] and probability.dtype == np.float32
        assert probability.min() >= 0 and probability.max() <= 1 and probability.std() > 0
        resized = cv2.resize(expected, item.pixels.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(probability, resized, atol=1e-5)  # merged LoRA: equal up to rounding


def test_predictions_are_deterministic_per_image(trained):
    built = detector(trained[0])
    first, second = built.predict(BATCH), built.predict(BATCH[::-1])
    for a, b in zip(first, second[::-1], strict=True):
        assert np.array_equal(a.probability, b.probability)
    assert built.weights_digest == hashlib.sha256(trained[0].read_bytes()).hexdigest()
    assert PLUGIN.digest(CLUEOptions(checkpoint=trained[0])) == built.weights_digest  # known without building


def test_seed_option_changes_the_noise(trained):
    default, reseeded = detector(trained[0]).predict(BATCH[:1]), detector(trained[0], "seed=1").predict(BATCH[:1])
    assert not np.allclose(default[0].probability, reseeded[0].probability)


def test_options_are_checked(trained):
    with pytest.raises(ValueError, match="checkpoint"):
        configure("clue", [], "cpu").build()
    with pytest.raises(ValueError, match="trained from preset 'tiny', not 'paper'"):
        detector(trained[0], "preset=paper")
    assert detector(trained[0], "preset=tiny").model.config.preset == "tiny"
    with pytest.raises(WeightsError, match=r"sd3\.weights"):
        detector(trained[0], "sd3_weights=/nonexistent/sd3")


def test_compile_option_gives_the_same_maps(trained):
    compiled = detector(trained[0], "compile=eager")  # dynamo's tracing without code generation: quick on CPU
    assert compiled.model._compiled_call_impl is not None
    with pytest.raises(ValueError, match=r"compile='inductr' is not a torch\.compile backend"):
        detector(trained[0], "compile=inductr")
    for a, b in zip(compiled.predict(BATCH), detector(trained[0]).predict(BATCH), strict=True):
        np.testing.assert_allclose(a.probability, b.probability, atol=1e-6)


def test_uint8_batch_made_floats_on_the_device_equals_the_model_input():
    pixels = np.random.default_rng(3).integers(0, 256, (37, 81, 3), dtype=np.uint8)
    on_device = torch.from_numpy(square_pixels(pixels, 64)).float() / 255
    assert torch.equal(on_device, torch.from_numpy(square_input(pixels, 64)))


def test_on_cpu_one_batch_is_in_flight(trained):
    assert detector(trained[0]).batches_in_flight == 1
