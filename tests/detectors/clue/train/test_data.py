"""Training data: fixed subsets and hold-outs, balanced draws, augmentation that keeps masks aligned."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from forgebench.data.decode import MaskRule
from forgebench.data.manifest import Sample
from forgebench.data.training import TrainingImage, training_images
from forgebench.detectors.clue.train.data import (
    EpochDraws,
    TrainingImages,
    augment,
    split,
    target,
    unit_hash,
)
from forgebench.detectors.clue.train.settings import Augment


def item(dataset: str, index: int) -> TrainingImage:
    sample = Sample(dataset, f"{dataset}/{index}.png", Path(f"{index}.png"), None, "authentic")
    return TrainingImage(sample, MaskRule())


def test_hold_out_is_fixed_disjoint_and_about_the_asked_share():
    items = [item("a", i) for i in range(2000)]
    train, val = split(items, None, 0.1)
    assert len(train) + len(val) == 2000 and not {i.sample.image_id for i in train} & {i.sample.image_id for i in val}
    assert 150 < len(val) < 250
    assert split(items, None, 0.1)[1] == val
    given = [item("b", 0)]
    assert split(items, given, 0.1) == (items, given)


def test_unit_hash_is_stable_and_salted():
    assert unit_hash("x/1.png", "val") == unit_hash("x/1.png", "val")
    assert unit_hash("x/1.png", "val") != unit_hash("x/1.png", "subset")


def test_balanced_draws_take_each_dataset_equally_often():
    items = [item("big", i) for i in range(900)] + [item("small", i) for i in range(100)]
    counts = Counter(items[index].sample.dataset for index, _ in EpochDraws(items, 20000, seed=0, balanced=True))
    assert abs(counts["big"] - counts["small"]) < 0.05 * 20000


def test_draws_are_a_function_of_seed_epoch_and_position_alone():
    items = [item("a", i) for i in range(10)]
    draws = EpochDraws(items, 25, seed=3, balanced=False)
    first = list(draws)
    assert sorted(index for index, _ in first[:10]) == list(range(10))  # unbalanced: shuffled passes over all
    assert list(EpochDraws(items, 25, seed=3, balanced=False)) == first  # a fresh sampler draws the same
    assert len({seed for _, seed in first}) == 25  # every draw augments with its own seed
    draws.set_epoch(1)
    second = list(draws)
    assert second != first and len(second) == 25
    draws.set_epoch(0)
    assert list(draws) == first


def test_flip_moves_pixels_and_mask_together():
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, :5] = 255
    forged = np.zeros((20, 30), bool)
    forged[:, :5] = True
    flipped, mask = augment(pixels, forged, Augment(flip=1.0, rescale=0.0, jpeg=0.0), np.random.default_rng(0))
    assert mask[:, -5:].all() and not mask[:, :-5].any()
    assert (flipped[..., 0][mask] == 255).all()


def test_rescale_and_jpeg_keep_the_mask_on_the_region():
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[16:48, 16:48] = 200
    forged = pixels[..., 0] > 0
    settings = Augment(flip=0.0, rescale=1.0, scale=(0.5, 0.5), jpeg=1.0, quality=(80, 80))
    out, mask = augment(pixels, forged, settings, np.random.default_rng(0))
    assert out.shape == (32, 32, 3) and mask.shape == (32, 32)
    assert mask[8:24, 8:24].all() and mask.sum() == 16 * 16
    assert np.abs(out[mask].astype(int) - 200).mean() < 10


def test_target_is_binary_at_the_output_size():
    forged = np.zeros((30, 60), bool)
    forged[:, :30] = True
    resized = target(forged, 16)
    assert resized.shape == (16, 16) and set(np.unique(resized)) == {0.0, 1.0}
    assert resized[:, :8].all() and not resized[:, 8:].any()


def test_unreadable_image_fails_with_its_path(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    sample = Sample("d", "d/broken.png", broken, None, "authentic")
    with pytest.raises(ValueError, match=r"broken\.png"):
        TrainingImages([TrainingImage(sample, MaskRule())], 32, 32, None)[0, 0]


def test_a_live_synthetic_image_is_generated_from_each_draws_seed():
    slot = training_images(["syn-live-splice"])["syn-live-splice"][0]
    images = TrainingImages([slot], 32, 32, Augment(flip=0, rescale=0, jpeg=0))
    one, same, other = images[0, 11], images[0, 11], images[0, 12]
    assert torch.equal(one[0], same[0]) and not torch.equal(one[0], other[0])
