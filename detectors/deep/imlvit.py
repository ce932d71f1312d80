"""IML-ViT (Ma et al., arXiv 2307.14863): a windowed ViT-B/16 encoder at 1024², a simple feature pyramid and an MLP
decoder, re-implemented from the architecture; the encoder is segment-anything's ``ImageEncoderViT`` without its neck.

Parameter names follow the official checkpoint (``encoder_net.*``, ``featurePyramid_net.simfp_{2..5}.*``,
``predict_head.*``) except the encoder's MLP, which segment-anything names ``lin1``/``lin2`` and the official
model ``fc1``/``fc2``: :func:`from_official` and :func:`to_official` translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
import torch
from segment_anything.modeling.image_encoder import ImageEncoderViT
from torch import nn
from torch.nn import functional as F

from forgebench.detectors.deep.imagenet import MEAN, STD


@dataclass(frozen=True)
class IMLViTSize:
    """The architecture; the defaults are the released model's."""

    input_size: int = 1024
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    global_blocks: tuple[int, ...] = (2, 5, 8, 11)
    window: int = 14
    pretrain_grid: int = 14
    """The official ``pos_embed`` is that of a 224² pre-training (14×14 positions plus a class token)."""
    fpn_channels: int = 256
    head_channels: int = 256

    @classmethod
    def of(cls, tensors: Mapping[str, torch.Tensor]) -> IMLViTSize:
        """The architecture an official state dict was saved from, read off its tensor shapes."""
        embed_dim = tensors["encoder_net.patch_embed.proj.weight"].shape[0]
        head_dim = tensors["encoder_net.blocks.0.attn.rel_pos_h"].shape[1]
        depth = 1 + max(int(key.split(".")[2]) for key in tensors if key.startswith("encoder_net.blocks."))
        spans = [tensors[f"encoder_net.blocks.{index}.attn.rel_pos_h"].shape[0] for index in range(depth)]
        grid = (max(spans) + 1) // 2
        return cls(
            input_size=grid * 16, embed_dim=embed_dim, depth=depth, num_heads=embed_dim // head_dim,
            global_blocks=tuple(i for i, span in enumerate(spans) if span == max(spans)),
            window=(min(spans) + 1) // 2, pretrain_grid=round((tensors["encoder_net.pos_embed"].shape[1] - 1) ** 0.5),
            fpn_channels=tensors["featurePyramid_net.simfp_4.0.weight"].shape[0],
            head_channels=tensors["predict_head.linear_fuse.weight"].shape[0],
        )  # fmt: skip


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of (N, C, H, W) features (the pyramid's "LN"), eps 1e-6."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        variance = (x - mean).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - mean) / torch.sqrt(variance + self.eps)) + self.bias[:, None, None]


class NormedConv(nn.Conv2d):
    """A bias-free convolution followed by its ``norm`` (the checkpoint stores it as ``<i>.weight``, ``<i>.norm.*``)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int) -> None:
        super().__init__(channels_in, channels_out, kernel, padding=kernel // 2, bias=False)
        self.norm = ChannelNorm(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(super().forward(x))


def pyramid_level(dim: int, channels: int, scale: float) -> nn.Sequential:
    """One level of the simple feature pyramid: resample the ViT grid by ``scale``, then 1×1 and 3×3 convolutions."""
    if scale == 4.0:
        resample = [
            nn.ConvTranspose2d(dim, dim // 2, 2, stride=2),
            ChannelNorm(dim // 2),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 2, dim // 4, 2, stride=2),
        ]
        dim //= 4
    elif scale == 2.0:
        resample = [nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)]
        dim //= 2
    elif scale == 1.0:
        resample = []
    else:
        resample = [nn.MaxPool2d(2, stride=2)]
    return nn.Sequential(*resample, NormedConv(dim, channels, 1), NormedConv(channels, channels, 3))


class PredictHead(nn.Module):
    """Five pyramid levels brought to the finest one (bilinear), concatenated, fused, BatchNorm, one logit."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.linear_fuse = nn.Conv2d(channels * 5, hidden, 1)
        self.norm = nn.BatchNorm2d(hidden)
        self.dropout = nn.Dropout()
        self.linear_predict = nn.Conv2d(hidden, 1, 1)

    def forward(self, levels: list[torch.Tensor]) -> torch.Tensor:
        size = levels[0].shape[-2:]
        joined = torch.cat(
            [F.interpolate(level, size=size, mode="bilinear", align_corners=False) for level in levels], 1
        )
        return self.linear_predict(self.dropout(self.norm(self.linear_fuse(joined))))


class Encoder(nn.Module):
    """segment-anything's windowed ViT (no neck) with the official absolute positions, class token included."""

    def __init__(self, size: IMLViTSize) -> None:
        super().__init__()
        vit = ImageEncoderViT(
            img_size=size.input_size, embed_dim=size.embed_dim, depth=size.depth, num_heads=size.num_heads,
            norm_layer=partial(nn.LayerNorm, eps=1e-6), use_abs_pos=False, use_rel_pos=True,
            window_size=size.window, global_attn_indexes=size.global_blocks,
        )  # fmt: skip
        self.patch_embed, self.blocks = vit.patch_embed, vit.blocks
        self.pos_embed = nn.Parameter(torch.zeros(1, size.pretrain_grid**2 + 1, size.embed_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images)
        grid = int((self.pos_embed.shape[1] - 1) ** 0.5)
        positions = self.pos_embed[:, 1:].reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
        if positions.shape[-2:] != x.shape[1:3]:
            positions = F.interpolate(positions, size=x.shape[1:3], mode="bicubic", align_corners=False)
        x = x + positions.permute(0, 2, 3, 1)
        for block in self.blocks:
            x = block(x)
        return x.permute(0, 3, 1, 2)


class IMLViT(nn.Module):
    """IML-ViT: logits (B, 1, S/4, S/4) for normalised, padded images (B, 3, S, S), S = ``size.input_size``.

    Parameters:
        size: The architecture (:class:`IMLViTSize`; the defaults are the released model's).
    """

    def __init__(self, size: IMLViTSize = IMLViTSize()) -> None:
        super().__init__()
        self.size = size
        self.encoder_net = Encoder(size)
        self.featurePyramid_net = nn.Module()
        for stage, scale in zip((2, 3, 4, 5), (4.0, 2.0, 1.0, 0.5), strict=True):
            self.featurePyramid_net.add_module(
                f"simfp_{stage}", pyramid_level(size.embed_dim, size.fpn_channels, scale)
            )
        self.predict_head = PredictHead(size.fpn_channels, size.head_channels)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.encoder_net(images)
        levels = [getattr(self.featurePyramid_net, f"simfp_{stage}")(features) for stage in (2, 3, 4, 5)]
        levels.append(F.max_pool2d(levels[-1], kernel_size=1, stride=2))  # the sixth level: every other pixel
        return self.predict_head(levels)


def from_official(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official key names → this module's (the encoder MLP's ``fc1``/``fc2`` → ``lin1``/``lin2``)."""
    return {key.replace(".mlp.fc1.", ".mlp.lin1.").replace(".mlp.fc2.", ".mlp.lin2."): v for key, v in tensors.items()}


def to_official(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This module's key names → the official checkpoint's."""
    return {key.replace(".mlp.lin1.", ".mlp.fc1.").replace(".mlp.lin2.", ".mlp.fc2."): v for key, v in tensors.items()}


def preprocess(pixels: np.ndarray, input_size: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(S×S×3 float32 network input, (h, w) of the image inside it) for H×W×3 uint8 RGB.

    As the official test transform: the image at the top-left, zero pixels padding it to S×S, then ImageNet
    normalisation (so the padding is −mean/std). An image larger than S (which the official code crops) is first
    resized so that its long side is S (OpenCV area interpolation), a deliberate deviation: it keeps the whole image.
    """
    height, width = pixels.shape[:2]
    if max(height, width) > input_size:
        scale = input_size / max(height, width)
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
        pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
    padded = np.zeros((input_size, input_size, 3), np.uint8)
    padded[:height, :width] = pixels
    return (padded.astype(np.float32) / 255.0 - MEAN) / STD, (height, width)


def postprocess(logits: torch.Tensor, inside: tuple[int, int], input_size: int) -> torch.Tensor:
    """P(forged) of the image's own region: logits (1, s, s) → bilinear to S×S → sigmoid → crop to ``inside``."""
    full = F.interpolate(logits[None].float(), size=(input_size, input_size), mode="bilinear", align_corners=False)
    return torch.sigmoid(full[0, 0, : inside[0], : inside[1]])
