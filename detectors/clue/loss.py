"""CLUE's training loss: λ1·BCE (per pixel, on logits) + λ2·soft Dice over all pixels of the batch."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from forgebench.detectors.clue.config import Loss


def clue_loss(
    logits: torch.Tensor, target: torch.Tensor, weights: Loss
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss and its parts (detached 0-d tensors, left on the device: reading them waits for it)."""
    logits, target = logits.float(), target.float()
    pos_weight = None if weights.pos_weight is None else logits.new_tensor(weights.pos_weight)
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + weights.smooth) / (p.sum() + target.sum() + weights.smooth)
    total = weights.bce * bce + weights.dice * dice
    return total, {"bce": bce.detach(), "dice": dice.detach()}
