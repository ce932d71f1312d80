"""MVSS-Net (Chen et al., ICCV 2021): two dilated ResNet-50 streams, one on the image and one on the residual of a
Bayar-constrained convolution of its grey levels, joined by a dual-attention head; an edge branch on Sobel-gated
features (trained with edge supervision) whose output the localization map does not use and which is not run here.

Modules and parameters carry the official checkpoint's names (``model.*``, ``noise_extractor.model.*``,
``constrain_conv.kernel``, ``sobel_{x,y}{1..4}``, ``erb_db_{1..4}``, ``erb_trans_{1..3}``, ``head.*``), so the
released state dict loads as it is. Widths and block counts are parameters only so that tests can build small ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from forgebench.detectors.deep.imagenet import MEAN, STD

INPUT_SIZE = 512
LAYER4_DILATIONS = (1, 2, 4)
"""The last stage keeps stride 8 and dilates its blocks' 3×3 convolutions by 1, 2 and 4."""


@dataclass(frozen=True)
class MVSSNetSize:
    """The architecture; the defaults are the released model's (ResNet-50 streams)."""

    width: int = 64
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)

    @classmethod
    def of(cls, tensors: Mapping[str, torch.Tensor]) -> MVSSNetSize:
        """The architecture an official state dict was saved from, read off its keys and shapes."""
        counts = [
            1 + max(int(key.split(".")[2]) for key in tensors if key.startswith(f"model.layer{stage}."))
            for stage in range(1, 5)
        ]
        return cls(width=tensors["model.conv1.weight"].shape[0], blocks=tuple(counts))


class Bottleneck(nn.Module):
    """ResNet bottleneck (stride on the 3×3 convolution), optionally dilated."""

    def __init__(self, channels_in: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or channels_in != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(channels_in, planes * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(planes * 4)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class DilatedResNet(nn.Module):
    """ResNet with a stride-1, dilated last stage; ``forward`` returns the four stages' features (strides 4, 8, 16, 8).

    It keeps the ImageNet classifier (``fc``) of the official stream so that the released keys load; it is unused.
    """

    def __init__(self, size: MVSSNetSize) -> None:
        super().__init__()
        width = size.width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = width
        for index, (count, stride) in enumerate(zip(size.blocks, (1, 2, 2, 1), strict=True)):
            planes = width * 2**index
            dilations = LAYER4_DILATIONS if index == 3 else (1,) * count
            layer = [Bottleneck(channels, planes, stride, dilations[0])]
            layer += [Bottleneck(planes * 4, planes, 1, dilations[min(i, len(dilations) - 1)]) for i in range(1, count)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*layer))
            channels = planes * 4
        self.fc = nn.Linear(channels, 1000)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        features = []
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(self, name)(x)
            features.append(x)
        return features


class Stream(nn.Module):
    """Holds a ResNet as ``model`` (the official nesting: ``noise_extractor.model.*``)."""

    def __init__(self, size: MVSSNetSize) -> None:
        super().__init__()
        self.model = DilatedResNet(size)


class BayarConv(nn.Module):
    """A 5×5 convolution whose taps, but for the centre fixed at −1, are normalised to sum to 1 (a residual filter).

    ``kernel`` holds the 24 free taps per (input, output) channel, as in the official checkpoint.
    """

    def __init__(self, channels_in: int = 1, channels_out: int = 3, size: int = 5) -> None:
        super().__init__()
        self.size = size
        self.kernel = nn.Parameter(torch.rand(channels_in, channels_out, size * size - 1))

    def weight(self) -> torch.Tensor:
        taps = self.kernel / self.kernel.sum(-1, keepdim=True)
        centre = self.size * self.size // 2
        minus_one = -torch.ones(*taps.shape[:2], 1, dtype=taps.dtype, device=taps.device)
        full = torch.cat([taps[..., :centre], minus_one, taps[..., centre:]], -1)
        return full.reshape(taps.shape[1], taps.shape[0], self.size, self.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight(), padding=self.size // 2)


class EdgeResidual(nn.Module):
    """The edge branch's residual block (``ERB``); kept for its weights."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 1)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels_out)
        self.conv3 = nn.Conv2d(channels_out, channels_out, 3, padding=1)


def conv_bn_relu(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True))  # fmt: skip


class PositionAttention(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_b = nn.Conv2d(channels, channels // 8, 1)
        self.conv_c = nn.Conv2d(channels, channels // 8, 1)
        self.conv_d = nn.Conv2d(channels, channels, 1)
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        queries = self.conv_b(x).flatten(2).transpose(1, 2)
        attention = torch.softmax(queries @ self.conv_c(x).flatten(2), dim=-1)
        mixed = (self.conv_d(x).flatten(2) @ attention.transpose(1, 2)).view(batch, -1, height, width)
        return self.alpha * mixed + x


class ChannelAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        flat = x.flatten(2)
        energy = flat @ flat.transpose(1, 2)
        attention = torch.softmax(energy.max(-1, keepdim=True)[0].expand_as(energy) - energy, dim=-1)
        return self.beta * (attention @ flat).view(batch, -1, height, width) + x


class DualAttentionHead(nn.Module):
    """Position and channel attention branches, summed, then a 1×1 convolution to one logit (``head.*``)."""

    def __init__(self, channels_in: int) -> None:
        super().__init__()
        inner = channels_in // 4
        self.conv_p1, self.conv_c1 = conv_bn_relu(channels_in, inner), conv_bn_relu(channels_in, inner)
        self.pam, self.cam = PositionAttention(inner), ChannelAttention()
        self.conv_p2, self.conv_c2 = conv_bn_relu(inner, inner), conv_bn_relu(inner, inner)
        self.out = nn.Sequential(nn.Dropout(0.1), nn.Conv2d(inner, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv_p2(self.pam(self.conv_p1(x))) + self.conv_c2(self.cam(self.conv_c1(x))))


class MVSSNet(nn.Module):
    """MVSS-Net's localization: logits (B, 1, H, W) for normalised BGR images (B, 3, H, W).

    Parameters:
        size: The architecture (:class:`MVSSNetSize`; the defaults are the released model's).
    """

    def __init__(self, size: MVSSNetSize = MVSSNetSize()) -> None:
        super().__init__()
        self.model = DilatedResNet(size)
        self.noise_extractor = Stream(size)
        self.constrain_conv = BayarConv()
        channels = [size.width * 4 * 2**index for index in range(4)]
        for index, channels_in in enumerate(channels, start=1):
            self.add_module(f"erb_db_{index}", EdgeResidual(channels_in, 1))
            for axis in ("x", "y"):
                self.add_module(
                    f"sobel_{axis}{index}",
                    nn.Sequential(nn.Conv2d(channels_in, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1)),
                )
        for index in range(1, 4):
            self.add_module(f"erb_trans_{index}", EdgeResidual(1, 1))
        self.head = DualAttentionHead(2 * channels[-1])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        blue, green, red = images[:, 0:1], images[:, 1:2], images[:, 2:3]
        grey = 0.2989 * red + 0.5870 * green + 0.1140 * blue
        joined = torch.cat([self.model(images)[-1], self.noise_extractor.model(self.constrain_conv(grey))[-1]], 1)
        return F.interpolate(self.head(joined), images.shape[-2:], mode="bilinear", align_corners=True)


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """512×512×3 float32 network input for H×W×3 uint8 RGB, as the official inference prepares it: BGR channel
    order (OpenCV's), bilinear resize to 512², /255, then the ImageNet RGB mean and std applied to the BGR channels
    (the released model was trained so)."""
    bgr = np.ascontiguousarray(pixels[..., ::-1])
    resized = cv2.resize(bgr, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    return (resized.astype(np.float32) / 255.0 - MEAN) / STD


def postprocess(probability: np.ndarray, height: int, width: int) -> np.ndarray:
    """As the official inference: P(forged) at 512² truncated to 8 bits (``ToPILImage``), resized with OpenCV's
    bilinear to the image's size as 8-bit, then read as /255."""
    levels = (probability * 255.0).astype(np.uint8)
    return cv2.resize(levels, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
