"""Each shipped protocol on small maps and masks whose values are worked out by hand in the test."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from forgebench.evaluation.mapcache import quantise
from forgebench.evaluation.protocols import (
    ProtocolError,
    image_counts,
    load_protocols,
    resampled_values,
    score_dataset,
    used_images,
)

PROTOCOLS = load_protocols()


def grid(size: int, *boxes: tuple[int, int, int, int], value: float = 1.0, background: float = 0.0) -> np.ndarray:
    """A size×size map: ``value`` inside each (top, bottom, left, right) box, ``background`` elsewhere."""
    out = np.full((size, size), background)
    for top, bottom, left, right in boxes:
        out[top:bottom, left:right] = value
    return out


def score(name: str, *images: tuple[np.ndarray, np.ndarray]):
    """The protocol's result over (map, mask) pairs (an all-False mask is an authentic image)."""
    protocol = PROTOCOLS[name]
    return score_dataset(protocol, [image_counts(quantise(m), g.astype(bool), protocol) for m, g in images])


Q = grid(4, (0, 2, 0, 2))
"""The reference's 4×4 case Q: the top-left 2×2 forged."""
SQUARE = grid(40, (10, 30, 10, 30))
"""A 20×20 forged square in a 40×40 image. TruFor's band keeps the core eroded by 15×15 (rows and columns 17–22:
36 px) and the pristine pixels beyond the square dilated by 11×11 (outside rows/columns 5–34: 1600 − 900 = 700 px)."""
SHIFTED = grid(40, (12, 32, 12, 32))
"""The square moved 2 px down and right: 18×18 = 324 px overlap, 76 px missed, 76 px wrong."""


def test_clue_is_the_plain_map_at_p_above_one_half():
    result = score("clue", (SHIFTED, SQUARE))
    assert result.primary == 2 * 324 / (2 * 324 + 76 + 76)  # 0.81
    assert result.secondary == 324 / (324 + 76 + 76)
    assert score("clue", (grid(4, (0, 2, 0, 2), value=0.5), Q)).primary == 0  # 0.5 is not > 0.5
    assert score("clue", (Q, Q), (grid(4, (0, 1, 0, 4)), 0 * Q)).images == 1  # the authentic image is left out


def test_trufor_scores_outside_the_border_band_and_takes_the_better_polarity():
    assert score("trufor", (SHIFTED, SQUARE)).primary == 1.0  # every wrong pixel lies in the band
    assert score("trufor", (1 - SQUARE, SQUARE)).primary == 1.0  # the inverse is perfect
    assert score("clue", (1 - SQUARE, SQUARE)).primary == 0.0
    half = grid(40, (10, 30, 10, 20))  # the left half: in the core, columns 17–19 of 17–22 predicted
    assert score("trufor", (half, SQUARE)).primary == 2 * 18 / (2 * 18 + 0 + 18)  # TP 18, FN 18: 2/3
    wide = grid(40, (4, 36, 4, 36))  # 2 px beyond the square's 11×11 dilation all round: 32² − 30² = 124 scored FP
    assert score("trufor", (wide, SQUARE)).primary == 2 * 36 / (2 * 36 + 124 + 0)  # with erode and dilate swapped: 1


def test_imdlbenco_scores_authentic_images_as_zero_and_at_the_map_size():
    result = score("imdlbenco", (Q, Q), (grid(4), 0 * Q))  # a perfect map and a perfectly empty authentic one
    assert (result.primary, result.secondary, result.images) == (0.5, 0.5, 2)
    protocol = PROTOCOLS["imdlbenco"]
    assert protocol.resize == "mask-to-map" and protocol.datasets == "unweighted"


def test_pooled_sums_every_pixel_including_the_authentic_images():
    empty = grid(4)
    lower = grid(4, (1, 4, 0, 4))  # 12 forged pixels
    assert score("pooled", (Q, Q), (empty, lower)).primary == 2 * 4 / (2 * 4 + 0 + 12)  # 0.4, as F1-micro
    false_alarm = grid(4, (0, 1, 0, 4), value=0.9)  # 4 pixels wrongly forged on an authentic image
    result = score("pooled", (Q, Q), (empty, lower), (false_alarm, 0 * Q))
    assert (result.primary, result.secondary) == (8 / (8 + 4 + 12), 4 / (4 + 4 + 12))


def test_mediscore_is_the_mean_matthews_correlation_outside_the_band():
    assert score("mediscore", (SHIFTED, SQUARE)).primary == 1.0
    half = grid(40, (10, 30, 10, 20))  # scored: TP 18, FN 18, FP 0, TN 700
    expected = (18 * 700 - 0 * 18) / math.sqrt((18 + 0) * (18 + 18) * (700 + 0) * (700 + 18))
    result = score("mediscore", (half, SQUARE))
    assert result.primary == pytest.approx(expected, abs=1e-15) and result.secondary is None
    assert score("mediscore", (grid(40), SQUARE)).primary == 0.0  # nothing predicted: MCC defined as 0


def test_oracle_thresholds_per_image_and_per_dataset():
    a = grid(4, (0, 2, 0, 2), value=0.4, background=0.1)
    b = grid(4, (0, 2, 0, 2), value=0.9, background=0.6)
    # t in [0.1, 0.4): a perfect, b all 16 predicted (F1 8/20): mean 0.7; t in [0.4, 0.6): 0 and 0.4;
    # t in [0.6, 0.9): 0 and 1, mean 0.5; below 0.1 both all predicted: 0.4
    dataset = score("best-dataset", (a, Q), (b, Q))
    assert dataset.primary == pytest.approx(0.7, abs=1e-15)
    assert 0.1 <= dataset.threshold < 0.4
    assert score("best-image", (a, Q), (b, Q)).primary == 1.0
    assert score("clue", (a, Q), (b, Q)).primary == pytest.approx(0.2, abs=1e-15)


def test_a_user_protocol_file_adds_and_checks_protocols(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("protocols:\n  strict:\n    title: at 0.8\n    defined_in: here\n    value: 0.8\n")
    mine = load_protocols((path,))["strict"]
    assert mine.level == 205 and score_dataset(mine, [image_counts(quantise(Q * 0.7), Q > 0, mine)]).primary == 0
    path.write_text("protocols:\n  bad:\n    title: x\n    defined_in: y\n    polarity: upside-down\n")
    with pytest.raises(ProtocolError, match="polarity must be one of map, best-of-inverse"):
        load_protocols((path,))


def test_the_readme_protocol_example_loads(tmp_path):
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\nprotocols:\n", 1)[1].split("```", 1)[0]
    (tmp_path / "mine.yaml").write_text("protocols:\n" + example, encoding="utf-8")
    strict = load_protocols((tmp_path / "mine.yaml",))["strict"]
    assert (strict.value, strict.level, strict.defined_in) == (0.8, 205, "our lab's protocol")
    assert set(load_protocols((tmp_path / "mine.yaml",))) == {*PROTOCOLS, "strict"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("value: 1.5", "value must lie strictly between 0 and 1"),
        ("band: {erode: 14, dilate: 11}", "band sizes must be odd whole numbers"),
        ("band: {erode: 15}", "band needs erode and dilate"),
        ("authentic: pixels", "authentic: pixels needs aggregate: pooled"),
        ("aggregate: pooled\n    authentic: zero", "aggregate: pooled takes authentic: excluded or pixels"),
        ("name: other", "a protocol is a mapping under a lower-case name"),
    ],
)
def test_a_protocol_file_that_does_not_make_sense_is_refused_with_the_reason(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"protocols:\n  mine:\n    title: t\n    defined_in: d\n    {body}\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match=message):
        load_protocols((path,))
    path.write_text("protocols: [a, b]\n")
    with pytest.raises(ProtocolError, match="expected a mapping 'protocols:'"):
        load_protocols((path,))


@pytest.mark.parametrize("name", ["long", "reported", "detection-max", "by-kind"])
def test_a_protocol_may_not_take_the_name_of_another_tables_files(tmp_path, name):
    path = tmp_path / "mine.yaml"
    path.write_text(f"protocols:\n  {name}:\n    title: t\n    defined_in: d\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match=rf"the name is taken by another table's files \(leaderboard-{name}\.\*\)"):
        load_protocols((path,))


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_a_resample_drawing_every_image_once_gives_the_datasets_value_and_one_image_twice_its_own(name):
    """Bootstrap resamples re-score drawn images: drawing each once is the dataset's value (to 1e-12); drawing
    only image 0, twice, is image 0 alone (its F1, or pooled: its own pixels twice, the same ratios)."""
    protocol = PROTOCOLS[name]
    generator = np.random.default_rng(7)
    maps = [generator.random((16, 16)) for _ in range(4)]
    masks = [grid(16, (2, 9, 3, 12)), grid(16, (0, 16, 0, 5)), grid(16, (6, 10, 6, 10)), grid(16)]  # one authentic
    images = [image_counts(quantise(m), g.astype(bool), protocol) for m, g in zip(maps, masks, strict=True)]
    used = used_images(protocol, images)
    once = resampled_values(protocol, used, np.ones((1, len(used)), dtype=np.int64))
    assert once[0] == pytest.approx(score_dataset(protocol, images).primary, abs=1e-12)
    twice = np.zeros((1, len(used)), dtype=np.int64)
    twice[0, 0] = len(used)
    alone = score_dataset(protocol, [images[0]]).primary
    assert resampled_values(protocol, used, twice)[0] == pytest.approx(alone, abs=1e-12)
