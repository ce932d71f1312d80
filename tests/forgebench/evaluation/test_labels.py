"""Configuration labels: short, unique, the user's own where given, the full configuration kept beside them."""

from __future__ import annotations

import pytest

from forgebench.evaluation.labels import LabelError, checked_label, configuration_labels, default_label
from forgebench.evaluation.store import Evaluation


@pytest.mark.parametrize(
    ("detector", "changed", "label"),
    [
        ("ela", {}, "ela"),
        ("clue", {"checkpoint": "/home/me/models/clue-demo-080f738dafe1/best.safetensors"}, "clue@demo-080f738dafe1"),
        ("clue", {"checkpoint": "runs/clue-run-7/best.safetensors"}, "clue@run-7"),
        ("ela", {"quality": 80}, "ela[quality=80]"),
        ("mvssnet", {"checkpoint": "weights/mvssnet_casia.pt"}, "mvssnet@casia"),
        ("catnet", {"checkpoint": "CAT_full_v2.pth.tar"}, "catnet@CAT_full_v2"),
        ("trufor", {"checkpoint": "C:\\w\\trufor.pth.tar", "max_megapixels": 4.0}, "trufor@trufor[max_megapixels=4.0]"),
        ("flat", {"level": 0.25, "mode": "x"}, "flat[level=0.25,mode=x]"),
    ],
)
def test_default_labels_name_the_changed_options_with_paths_shortened(detector, changed, label):
    assert default_label(detector, changed) == label


def _evaluation(fingerprint: str, detector: str = "clue", **changed: object) -> Evaluation:
    return Evaluation(0, detector, fingerprint, "d", "clean", 0, "d", {"changed_options": changed})


def test_labels_are_unique_and_a_given_label_keeps_its_name():
    a = _evaluation("aaaaaaaaaaaa", checkpoint="runs/a/best.safetensors")
    b = _evaluation("bbbbbbbbbbbb", checkpoint="other/a/best.safetensors")
    c = _evaluation("cccccccccccc", checkpoint="runs/c/best.safetensors")
    assert configuration_labels([a, b, c, a], {}) == {
        "aaaaaaaaaaaa": "clue@a#aaaaaaaa",
        "bbbbbbbbbbbb": "clue@a#bbbbbbbb",
        "cccccccccccc": "clue@c",
    }
    # the user named c "clue@a": theirs keeps the name, the defaults step aside
    assert configuration_labels([a, b, c], {"cccccccccccc": "clue@a"}) == {
        "aaaaaaaaaaaa": "clue@a#aaaaaaaa",
        "bbbbbbbbbbbb": "clue@a#bbbbbbbb",
        "cccccccccccc": "clue@a",
    }
    # two configurations given the same name: neither is preferred
    named = configuration_labels([a, c], {"aaaaaaaaaaaa": "mine", "cccccccccccc": "mine"})
    assert named == {"aaaaaaaaaaaa": "mine#aaaaaaaa", "cccccccccccc": "mine#cccccccc"}


@pytest.mark.parametrize(("label", "why"), [("", "non-empty"), (" x", "spaces"), ("a|b", "'|'"), ("x" * 61, "60")])
def test_a_label_that_would_break_a_table_is_refused(label, why):
    with pytest.raises(LabelError, match=why):
        checked_label(label)
    assert checked_label("clue@demo") == "clue@demo"
