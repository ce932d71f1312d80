"""Decoding rules for images and the mask normalisation of each polarity convention."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forgebench.data.decode import DecodeError, MaskRule, read_mask, read_rgb


def save(path, array, mode=None):
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_sixteen_bit_grey_is_reduced_by_floor_division(tmp_path):
    values = np.array([[0, 255, 256, 65535]], dtype=np.uint16)
    path = save(tmp_path / "a.png", values)
    np.testing.assert_array_equal(read_rgb(path)[0, :, 0], [0, 0, 1, 255])
    assert read_rgb(path).shape == (1, 4, 3)


def test_grey_expanded_and_alpha_dropped(tmp_path):
    grey = save(tmp_path / "g.png", np.full((2, 3), 77, np.uint8))
    np.testing.assert_array_equal(read_rgb(grey), np.full((2, 3, 3), 77))
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    assert read_rgb(save(tmp_path / "c.png", rgba)).tolist() == [[[200, 0, 0]] * 2] * 2


def test_exif_orientation_is_not_applied(tmp_path):
    pixels = np.zeros((2, 4, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(tmp_path / "r.jpg", exif=exif)
    assert read_rgb(tmp_path / "r.jpg").shape == (2, 4, 3)


def test_unreadable_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    with pytest.raises(DecodeError, match=r"broken\.jpg"):
        read_rgb(bad)
    with pytest.raises(DecodeError, match="not found"):
        read_rgb(tmp_path / "absent.png")


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        ("> 127", [0, 127, 128, 255], [0, 0, 1, 1]),
        ("> 0", [0, 1, 2, 255], [0, 1, 1, 1]),
        ("< 255", [0, 254, 255, 255], [1, 1, 0, 0]),
        ("<= 127", [0, 127, 128, 255], [1, 1, 0, 0]),
    ],
)
def test_threshold_rules(tmp_path, rule, values, expected):
    path = save(tmp_path / "m.png", np.array([values], np.uint8))
    np.testing.assert_array_equal(read_mask(path, MaskRule(rule)).forged[0], np.array(expected, bool))


def test_zero_one_masks_are_read_as_one_forged_and_flagged(tmp_path):
    path = save(tmp_path / "m.png", np.array([[0, 1, 1, 0]], np.uint8))
    mask = read_mask(path, MaskRule("> 127"))
    assert mask.forged.tolist() == [[False, True, True, False]]
    assert mask.notes == ("{0,1} mask: read as 1 = forged",)


def test_rgb_masks_use_the_channel_mean(tmp_path):
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 0] = (255, 255, 0)
    rgb[0, 1] = (255, 0, 0)
    assert read_mask(save(tmp_path / "m.png", rgb), MaskRule("> 127")).forged.tolist() == [[True, False]]


PALETTE_IMAGE = np.array(
    [
        [[255, 0, 0], [200, 0, 0], [0, 255, 0], [0, 200, 0]],  # the four colours exactly
        [[250, 8, 5], [190, 12, 0], [10, 245, 3], [5, 190, 12]],  # each with JPEG-like noise
        [[228, 3, 0], [120, 90, 0], [60, 0, 0], [0, 0, 0]],  # bright/dark red border, red-green blend, dark, black
    ],
    np.uint8,
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("columbia-palette", [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]]),
        ("columbia-green-channel", [[0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]]),
        ("columbia-red", [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]]),
        ("columbia-bright-red", [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]),
    ],
)
def test_each_columbia_convention_on_a_palette_image(tmp_path, rule, expected):
    """Hand-worked: (228,3,0) is nearer bright red (distance² 738) than red (793); (120,90,0) is nearest red (200,0,0)
    (14,500, against 26,325 to bright red and 26,500 to (0,200,0)); (60,0,0) and black are nearest red (200,0,0); the
    green-channel rule reads any green above 0, noise included."""
    mask = read_mask(save(tmp_path / "e.png", PALETTE_IMAGE), MaskRule(rule))
    assert mask.forged.astype(int).tolist() == expected


def test_npz_masks(tmp_path):
    np.savez(tmp_path / "m.npz", np.array([[0, 3], [0, 0]], np.uint8))
    assert read_mask(tmp_path / "m.npz", MaskRule("> 0")).forged.tolist() == [[False, True], [False, False]]


def test_bad_rule_is_refused():
    with pytest.raises(ValueError, match="neither a comparison"):
        MaskRule("white")


def reference_mask(raw: np.ndarray, rule: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The definition: the channel mean as floats, its distinct values by sorting, a float comparison."""
    grey = raw.mean(axis=2) if raw.ndim == 3 else raw.astype(np.float64)
    values = np.unique(grey)
    op, threshold = rule.split()
    compare = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}[op]
    if rule.startswith(">") and values.max() == 1 and not compare(1.0, float(threshold)):
        return grey == 1, ("{0,1} mask: read as 1 = forged",)
    binary = values.size <= 2 and set(values.tolist()) <= {0.0, values.max()}
    notes = () if binary else (f"non-binary mask ({values.size} grey levels)",)
    return compare(grey, float(threshold)), notes


@pytest.mark.parametrize("rule", ["> 127", ">= 127.5", "< 0.5", "<= 200.25", "> 0", ">= 300", "< 255"])
@pytest.mark.parametrize("kind", ["grey levels", "binary", "zero-one", "bool", "rgb equal", "rgb unequal", "16-bit"])
def test_fast_mask_reading_equals_the_float_definition(tmp_path, rule, kind):
    rng = np.random.default_rng(len(rule) * 31 + len(kind))
    grey = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    raw = {
        "grey levels": grey,
        "binary": np.where(grey > 100, 255, 0).astype(np.uint8),
        "zero-one": (grey > 100).astype(np.uint8),
        "bool": grey > 100,
        "rgb equal": np.dstack([grey] * 3),
        "rgb unequal": np.dstack([grey, grey[::-1], np.where(grey > 100, 255, 0).astype(np.uint8)]),
        "16-bit": grey.astype(np.uint16) * 257,
    }[kind]
    np.save(tmp_path / "m.npy", raw)
    mask = read_mask(tmp_path / "m.npy", MaskRule(rule))
    forged, notes = reference_mask(raw, rule)
    np.testing.assert_array_equal(mask.forged, forged)
    assert mask.notes == notes
