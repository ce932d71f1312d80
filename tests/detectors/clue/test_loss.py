"""CLUE's loss: BCE on logits plus a soft Dice over all pixels of the batch, checked on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from forgebench.detectors.clue.config import Loss
from forgebench.detectors.clue.loss import clue_loss

# image 0 is all authentic, image 1 all forged: 8 pixels, half of them forged
TARGET = torch.cat([torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)])


def test_uninformed_logits_golden_value():
    logits = torch.zeros(2, 1, 2, 2, requires_grad=True)
    total, parts = clue_loss(logits, TARGET, Loss())
    dice = 1 - (2 * 0.5 * 4 + 1) / (0.5 * 8 + 4 + 1)  # = 4/9, over the batch (per image it would differ)
    assert {k: v.item() for k, v in parts.items()} == pytest.approx({"bce": math.log(2), "dice": dice})
    assert total.item() == pytest.approx(math.log(2) + 4 / 9)
    total.backward()
    assert (logits.grad[0] > 0).all() and (logits.grad[1] < 0).all()


def test_confident_correct_logits_cost_almost_nothing():
    total, parts = clue_loss(TARGET * 40 - 20, TARGET, Loss())
    assert total.item() < 1e-6 and parts["bce"] < 1e-8
    wrong, _ = clue_loss(20 - TARGET * 40, TARGET, Loss())
    assert wrong.item() > 10


def test_weights_and_pos_weight():
    logits = torch.zeros(2, 1, 2, 2)
    total, parts = clue_loss(logits, TARGET, Loss(bce=2.0, dice=0.0))
    assert total.item() == pytest.approx(2 * math.log(2))
    _, parts = clue_loss(logits, TARGET, Loss(pos_weight=3.0))
    assert parts["bce"] == pytest.approx((3 * math.log(2) + math.log(2)) / 2)  # forged pixels count thrice
    _, parts = clue_loss(logits, TARGET, Loss(smooth=0.0))
    assert parts["dice"] == pytest.approx(0.5)
