"""The feature fusion module and the localization head.

Fusion: per branch a 1×1 projection to C channels with GroupNorm and SiLU, every branch brought to the finest
grid (bilinear), concatenation, then conv3×3 → GroupNorm → SiLU → conv3×3. Head: conv3×3 + ReLU, conv1×1 to one
channel of logits, bilinear upsampling by the fixed factor 16 (the patch stride of both backbones).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from forgebench.detectors.clue.config import Heads

UPSAMPLE = 16


class Fusion(nn.Module):
    def __init__(self, inputs: list[int], heads: Heads) -> None:
        super().__init__()
        c, g = heads.channels, heads.groups
        self.projections = nn.ModuleList(
            nn.Sequential(nn.Conv2d(n, c, 1), nn.GroupNorm(g, c), nn.SiLU()) for n in inputs
        )
        self.mix = nn.Sequential(
            nn.Conv2d(c * len(inputs), c, 3, padding=1),
            nn.GroupNorm(g, c),
            nn.SiLU(),
            nn.Conv2d(c, c, 3, padding=1),
        )

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        size = max((f.shape[-2:] for f in features), key=lambda s: s[0] * s[1])
        projected = []
        for projection, feature in zip(self.projections, features, strict=True):
            x = projection(feature)
            if x.shape[-2:] != size:
                x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
            projected.append(x)
        return self.mix(torch.cat(projected, dim=1))


class Head(nn.Module):
    def __init__(self, heads: Heads) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(heads.channels, heads.hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(heads.hidden, 1, 1)
        )

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """Logits (B, 1, 16·g, 16·g); the probability map is their sigmoid."""
        return F.interpolate(self.layers(fused), scale_factor=UPSAMPLE, mode="bilinear", align_corners=False)
