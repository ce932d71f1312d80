"""Training images for plugins that train: live synthetic datasets drawn afresh at every draw."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.manifest import DatasetMissingError, build_manifest
from forgebench.data.synthetic import make_sample
from forgebench.data.training import DrawnImage, training_images


def test_a_live_dataset_has_slots_whose_draws_are_new_samples_saved_as_the_files_are():
    found = training_images(["syn-live-copymove"])
    slots = found["syn-live-copymove"]
    labels = [slot.sample.label for slot in slots]
    assert (labels.count("tampered"), labels.count("authentic")) == (160, 80)
    slot = slots[0]
    assert isinstance(slot, DrawnImage) and slot.sample.mask is not None
    first, again, other = slot.read(12345), slot.read(12345), slot.read(54321)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[0].shape != other[0].shape or not np.array_equal(first[0], other[0])
    made = make_sample(0, "train", "copymove", 12345, tampered=True)
    with Image.open(io.BytesIO(made.save.encode(made.image))) as saved:
        np.testing.assert_array_equal(first[0], np.asarray(saved.convert("RGB")))  # what a file would hold
    np.testing.assert_array_equal(first[1], made.mask)
    np.testing.assert_array_equal(slot.read()[0], slot.read(None)[0])  # without a draw: the slot's own sample
    authentic = slots[-1]
    assert authentic.sample.mask is None and not authentic.read(7)[1].any()


def test_a_live_dataset_is_refused_for_evaluation_and_checks_as_generated():
    spec = load_catalog().dataset("syn-live-splice")
    with pytest.raises(DatasetMissingError, match="drawn afresh at every training draw"):
        build_manifest(spec)
    checked = check_dataset(spec, None)
    assert checked.ok and (checked.tampered, checked.authentic) == (160, 80)
