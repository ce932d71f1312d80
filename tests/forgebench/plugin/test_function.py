"""A plain function as a detector: its digest follows its code and version, its answers become predictions."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest
import torch

from forgebench.plugin.contract import ImageInput, Prediction
from forgebench.plugin.function import as_prediction, code_digest, function_plugin


def half(pixels):
    return np.full(pixels.shape[:2], 0.5, np.float32)


def also_half(pixels):
    return np.full(pixels.shape[:2], 0.5, np.float32)


def quarter(pixels):
    return np.full(pixels.shape[:2], 0.25, np.float32)


def test_the_digest_follows_the_code_and_the_version():
    assert code_digest(half) == code_digest(also_half)  # the same code under another name
    assert code_digest(half) != code_digest(quarter)
    plugin = function_plugin(half, "mine")
    assert plugin.digest(plugin.options()) == f"code {code_digest(half)}"
    assert function_plugin(half, "mine", version="w2").digest(None) == f"code {code_digest(half)}, version w2"
    with pytest.raises(ValueError, match="cannot be read; give version="):
        function_plugin(functools.partial(half), "mine")
    assert function_plugin(functools.partial(half), "mine", version="1").digest(None) == "version 1"
    with pytest.raises(ValueError, match="name 'my model'"):
        function_plugin(half, "my model")


def test_the_digest_is_the_same_in_another_process():
    """Set constants are ordered by string hashing, which differs between processes; the digest must not be."""
    source = "lambda pixels: pixels[..., 0] if 'a' in {'a', 'b', 'c', 'd'} else None"
    script = f"from forgebench.plugin.function import code_digest\nprint(code_digest({source}))"
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
               for _ in range(3)}  # fmt: skip
    assert len(digests) == 1 and len(digests.pop().strip()) == 16


def test_a_callable_object_is_digested_by_its_forward():
    class Model(torch.nn.Module):
        def forward(self, pixels):
            return torch.from_numpy(pixels[..., 0] / 255.0)

    assert code_digest(Model()) == code_digest(Model.forward)


@pytest.mark.parametrize(
    ("output", "shape", "score"),
    [
        (np.zeros((4, 5), np.float64), (4, 5), None),
        (torch.zeros(1, 4, 5, dtype=torch.float16), (4, 5), None),
        ((np.zeros((4, 5, 1), np.float32), 0.25), (4, 5), 0.25),
        (Prediction(np.zeros((4, 5), np.float32), 0.5), (4, 5), 0.5),
    ],
)
def test_answers_become_predictions(output, shape, score):
    prediction = as_prediction(output)
    assert prediction.probability.shape == shape and prediction.score == score
    assert prediction.probability.dtype in (np.float32, np.float64)


def test_the_batch_form_takes_a_list_and_must_answer_every_image():
    images = [ImageInput(f"d/{i}.png", np.zeros((4, 5, 3), np.uint8)) for i in range(3)]
    seen = []

    def batched(pixels):
        seen.append(len(pixels))
        return [np.full(p.shape[:2], 0.5) for p in pixels]

    predictions = function_plugin(batched, "b", batch=True).build(None, "cpu").predict(images)
    assert seen == [3] and [p.probability.shape for p in predictions] == [(4, 5)] * 3
    short = function_plugin(lambda pixels: pixels[:1], "s", batch=True).build(None, "cpu")
    with pytest.raises(ValueError, match="returned 1 maps for a batch of 3 images"):
        short.predict(images)
