"""Property-based tests (hypothesis): the metrics, the perturbation spec parser and image decoding.

Budgets are fixed (``max_examples``) and derandomised, so CI runs the same cases every time.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from forgebench.data.decode import DecodeError, read_rgb
from forgebench.evaluation.metrics import best_threshold_f1_iou, confusion, pixel_auc, score_image
from forgebench.evaluation.perturb import parse_chain
from forgebench.plugin.options import OptionError
from forgebench.plugin.registry import UnknownPluginError

PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None)
shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))


@st.composite
def map_and_mask(draw):
    shape = draw(shapes)
    probability = draw(arrays(np.float32, shape, elements=st.floats(0, 1, width=32)))
    forged = draw(arrays(bool, shape))
    return probability, forged


@PROPERTIES
@given(map_and_mask())
def test_counts_and_scores_are_consistent(case):
    probability, forged = case
    counts = confusion(probability, forged)
    assert counts.tp + counts.fp + counts.fn + counts.tn == forged.size
    assert counts.tp + counts.fn == forged.sum() and counts.tp + counts.fp == (probability > 0.5).sum()
    if forged.any():
        result = score_image(probability, forged, "tampered", extras=["auc", "best", "inv"])
        assert 0 <= result.iou <= result.f1 <= 1
        assert result.f1 == pytest.approx(2 * result.iou / (1 + result.iou))
        assert result.f1 <= result.f1_best + 1e-12 and result.f1 <= result.f1_inv
        assert result.auc is None or 0 <= result.auc <= 1


@PROPERTIES
@given(st.data())
def test_a_perfect_map_scores_one_and_its_inverse_zero(data):
    forged = data.draw(arrays(bool, data.draw(shapes)))
    if forged.any() and not forged.all():
        perfect = forged.astype(np.float32)
        assert confusion(perfect, forged).f1 == 1 and confusion(1 - perfect, forged).f1 == 0
        assert best_threshold_f1_iou(perfect, forged) == (1.0, 1.0) and pixel_auc(perfect, forged) == 1.0


qualities = st.integers(1, 100)
positive = st.floats(0.01, 50, allow_nan=False).map(lambda v: round(v, 3))
steps = st.one_of(
    st.builds(lambda q, ss: f"jpeg:q={q},ss={ss}", qualities, st.sampled_from([444, 422, 420])),
    st.builds(lambda q: f"jpeg({q})", qualities),
    st.builds(lambda k: f"blur:k={2 * k + 1}", st.integers(0, 20)),
    st.builds(lambda s: f"blur:sigma={s}", positive),
    st.builds(lambda s: f"noise:sigma={s:g}", positive),
    st.builds(lambda v: f"noise(variance={v})", positive),
    st.builds(lambda s, i: f"resize:scale={s},interp={i}", positive, st.sampled_from(["area", "bilinear", "nearest"])),
    st.builds(lambda p: f"osn:{p}", st.sampled_from(["facebook", "whatsapp", "weibo", "wechat"])),
    st.just("clean"),
)


@PROPERTIES
@given(st.lists(steps, min_size=1, max_size=3))
def test_every_valid_spec_has_a_canonical_id_that_parses_to_itself(parts):
    chain = parse_chain("+".join(parts))
    again = parse_chain(chain.canonical_id)
    assert again.canonical_id == chain.canonical_id and again.steps == chain.steps


@PROPERTIES
@given(st.text(max_size=40))
def test_any_text_parses_or_is_refused_as_a_bad_option_or_an_unknown_plugin(text):
    with contextlib.suppress(OptionError, UnknownPluginError):  # anything else fails the test
        parse_chain(text)


def encoded_images():
    pixels = arrays(np.uint8, st.tuples(st.integers(1, 16), st.integers(1, 16), st.just(3)))
    return st.builds(_encode, pixels, st.sampled_from(["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP"]))


def _encode(pixels: np.ndarray, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on the damaged TIFF headers it reads
@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded_images(), st.data())
def test_decoding_damaged_files_gives_pixels_or_a_decode_error(tmp_path_factory, data, damage):
    original = data
    mode = damage.draw(st.sampled_from(["intact", "cut", "flip", "junk"]))
    if mode == "cut":
        original = original[: damage.draw(st.integers(0, len(original)))]
    elif mode == "flip":
        at = damage.draw(st.integers(0, len(original) - 1))
        original = original[:at] + bytes([original[at] ^ 0xFF]) + original[at + 1 :]
    elif mode == "junk":
        original = damage.draw(st.binary(max_size=200))
    path = tmp_path_factory.mktemp("fuzz") / "image"
    path.write_bytes(original)
    try:
        pixels = read_rgb(path)
    except DecodeError as error:
        assert str(path) in str(error)
    else:
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
