"""The HRNet parts CAT-Net is built of (Wang et al., TPAMI 2020): residual blocks, multi-resolution modules whose
fuse layers resize bilinearly to the exact size of the branch they feed, transitions and stages.

A library HRNet upsamples by nearest ×2ᵏ and so needs sizes divisible by 32; CAT-Net resizes to the target's own
size, which lets it run on any multiple of 8. Module names follow the official checkpoint (``branches``,
``fuse_layers``, ``downsample``), with ``None`` kept in place of identity entries so that indices match it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn(channels_in: int, channels_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """A bias-free convolution (padding ``kernel // 2``) and its BatchNorm."""
    return [nn.Conv2d(channels_in, channels_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(channels_out)]


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (1×1 projection when the width changes)."""

    expansion = 1

    def __init__(self, channels_in: int, channels: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(channels_in, channels, 3)
        self.conv2, self.bn2 = conv_bn(channels, channels, 3)
        self.downsample = nn.Sequential(*conv_bn(channels_in, channels, 1)) if channels_in != channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)), inplace=True)))
        out += x if self.downsample is None else self.downsample(x)
        return F.relu(out, inplace=True)


class Bottleneck(nn.Module):
    """1×1 → 3×3 → 1×1 (×4 wider) with a residual connection."""

    expansion = 4

    def __init__(self, channels_in: int, channels: int) -> None:
        super().__init__()
        width = channels * self.expansion
        self.conv1, self.bn1 = conv_bn(channels_in, channels, 1)
        self.conv2, self.bn2 = conv_bn(channels, channels, 3)
        self.conv3, self.bn3 = conv_bn(channels, width, 1)
        self.downsample = nn.Sequential(*conv_bn(channels_in, width, 1)) if channels_in != width else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(out)), inplace=True)))
        out += x if self.downsample is None else self.downsample(x)
        return F.relu(out, inplace=True)


def residual_layer(block: type[BasicBlock | Bottleneck], channels_in: int, channels: int, count: int) -> nn.Sequential:
    """``count`` blocks at stride 1, the first adapting ``channels_in``."""
    widths = [channels_in] + [channels * block.expansion] * (count - 1)
    return nn.Sequential(*(block(width, channels) for width in widths))


def downsampler(channels_in: int, channels_out: int, steps: int) -> nn.Sequential:
    """``steps`` stride-2 3×3 convolutions with BatchNorm; ReLU after all but the last (a fuse layer's low path)."""
    layers = []
    for step in range(steps):
        last = step == steps - 1
        layers.append(nn.Sequential(*conv_bn(channels_in, channels_out if last else channels_in, 3, 2),
                                    *([] if last else [nn.ReLU(inplace=True)])))  # fmt: skip
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Parallel branches of basic blocks, then each output the sum of every branch brought to its resolution:
    higher ones by stride-2 convolutions, lower ones by a 1×1 convolution and bilinear resizing to its exact size."""

    def __init__(self, blocks: tuple[int, ...], channels: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            residual_layer(BasicBlock, width, width, count) for width, count in zip(channels, blocks, strict=True)
        )
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(self._fuse_layer(source, target, channels) for source in range(len(channels)))
            for target in range(len(channels))
        ) if len(channels) > 1 else None  # fmt: skip

    @staticmethod
    def _fuse_layer(source: int, target: int, channels: tuple[int, ...]) -> nn.Module | None:
        if source > target:
            return nn.Sequential(*conv_bn(channels[source], channels[target], 1))
        if source < target:
            return downsampler(channels[source], channels[target], target - source)
        return None

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        x = [branch(features) for branch, features in zip(self.branches, x, strict=True)]
        if self.fuse_layers is None:
            return x
        fused = []
        for target, layers in enumerate(self.fuse_layers):
            total = None
            for source, layer in enumerate(layers):
                if source == target:
                    part = x[source]
                elif source > target:
                    part = F.interpolate(layer(x[source]), size=x[target].shape[-2:], mode="bilinear")
                else:
                    part = layer(x[source])
                total = part if total is None else total + part
            fused.append(F.relu(total, inplace=True))
        return fused


def transition(channels_in: tuple[int, ...], channels_out: tuple[int, ...]) -> nn.ModuleList:
    """From one stage's branches to the next's: a 3×3 convolution where a width changes (``None`` where it does
    not), and each new, lower branch made from the lowest existing one by stride-2 convolutions."""
    layers: list[nn.Module | None] = []
    for index, width in enumerate(channels_out):
        if index < len(channels_in):
            same = width == channels_in[index]
            layers.append(None if same else nn.Sequential(*conv_bn(channels_in[index], width, 3), nn.ReLU(True)))
            continue
        steps = index + 1 - len(channels_in)
        lowest = channels_in[-1]
        layers.append(nn.Sequential(*(
            nn.Sequential(*conv_bn(lowest, width if step == steps - 1 else lowest, 3, 2), nn.ReLU(inplace=True))
            for step in range(steps)
        )))  # fmt: skip
    return nn.ModuleList(layers)


def apply_transition(layers: nn.ModuleList, x: list[torch.Tensor]) -> list[torch.Tensor]:
    """New branches grow from the lowest-resolution existing branch; existing ones pass (through their conv)."""
    return [
        (x[index] if layer is None else layer(x[index])) if index < len(x) else layer(x[-1])
        for index, layer in enumerate(layers)
    ]


def stage(modules: int, blocks: tuple[int, ...], channels: tuple[int, ...]) -> nn.Sequential:
    """``modules`` high-resolution modules in a row, each with ``blocks[i]`` basic blocks of ``channels[i]`` in
    branch ``i``."""
    return nn.Sequential(*(HighResolutionModule(blocks, channels) for _ in range(modules)))
