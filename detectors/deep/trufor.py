"""TruFor (Guillaro et al., CVPR 2023): a Noiseprint++ extractor (a DnCNN) and a two-stream MiT-B2 encoder, RGB and
noise, whose streams are rectified against each other and fused at every stage (the CMX modules); an MLP decoder
for the forgery logits, a second one for the confidence, and a detection MLP on confidence-weighted statistics of
both. Re-implemented from the architecture.

Modules and parameters carry the official checkpoint's names (``dncnn.*``, ``backbone.{,extra_}patch_embed{1..4}``,
``backbone.{,extra_}block{1..4}``, ``backbone.{,extra_}norm{1..4}``, ``backbone.FRMs.*``, ``backbone.FFMs.*``,
``decode_head.*``, ``decode_head_conf.*``, ``detection.*``), so the released state dict loads as it is. Widths,
depths and reductions are parameters only so that tests can build small models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from forgebench.detectors.deep.imagenet import MEAN, STD

HEAD_WIDTH = 64
"""Channels per attention head in MiT (the state dict does not hold the head count)."""
STAGES = 4


@dataclass(frozen=True)
class TruForSize:
    """The architecture; the defaults are the released model's (MiT-B2 streams, 512-wide decoders)."""

    widths: tuple[int, ...] = (64, 128, 320, 512)
    depths: tuple[int, ...] = (3, 4, 6, 3)
    reductions: tuple[int, ...] = (8, 4, 2, 1)
    """Spatial reduction of the keys and values in each stage's attention (a strided convolution)."""
    heads: tuple[int, ...] = (1, 2, 5, 8)
    mlp_ratio: int = 4
    decoder_width: int = 512
    noise_depth: int = 17
    noise_width: int = 64
    detection_width: int = 128

    @classmethod
    def of(cls, tensors: Mapping[str, torch.Tensor]) -> TruForSize:
        """The architecture an official state dict was saved from, read off its keys and shapes."""
        stages = range(1, STAGES + 1)
        widths = tuple(tensors[f"backbone.patch_embed{i}.proj.weight"].shape[0] for i in stages)
        depths = tuple(
            1 + max(int(k.split(".")[2]) for k in tensors if k.startswith(f"backbone.block{i}.")) for i in stages
        )
        reduction = [tensors.get(f"backbone.block{i}.0.attn.sr.weight") for i in stages]
        return cls(
            widths=widths, depths=depths, reductions=tuple(1 if r is None else r.shape[-1] for r in reduction),
            heads=tuple(max(1, width // HEAD_WIDTH) for width in widths),
            mlp_ratio=tensors["backbone.block1.0.mlp.fc1.weight"].shape[0] // widths[0],
            decoder_width=tensors["decode_head.linear_fuse.0.weight"].shape[0],
            noise_depth=sum(1 for k, v in tensors.items() if k.startswith("dncnn.") and v.ndim == 4),
            noise_width=tensors["dncnn.0.weight"].shape[0], detection_width=tensors["detection.0.weight"].shape[0],
        )  # fmt: skip

    @property
    def smallest_side(self) -> int:
        """The smallest image side whose token grids all span their stage's reduction (29 for the released model)."""
        side = 1
        while any(grid < reduction for grid, reduction in zip(stage_grids(side), self.reductions, strict=True)):
            side += 1
        return side


def stage_grids(side: int) -> list[int]:
    """The token grid's side at each stage for an image side (a 7×7 stride-4 embedding, then 3×3 stride-2 ones)."""
    grids = [-(-side // 4)]
    for _ in range(STAGES - 1):
        grids.append(-(-grids[-1] // 2))
    return grids


def noiseprint_extractor(size: TruForSize) -> nn.Sequential:
    """Noiseprint++: 3×3 convolutions, BatchNorm and ReLU between the first and the last, one output channel."""
    width = size.noise_width
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(size.noise_depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(width, 1, 3, padding=1))
    return nn.Sequential(*layers)


def as_map(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, N, C) tokens → (B, C, H, W)."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, height, width)


class PatchEmbed(nn.Module):
    """An overlapping strided convolution, then LayerNorm over the tokens (eps 1e-5)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(channels_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        height, width = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), height, width


class ReducedAttention(nn.Module):
    """Multi-head attention whose keys and values come from a grid shrunk ``reduction`` times (strided convolution,
    LayerNorm eps 1e-5)."""

    def __init__(self, width: int, heads: int, reduction: int) -> None:
        super().__init__()
        self.heads, self.reduction = heads, reduction
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, width * 2)
        self.proj = nn.Linear(width, width)
        if reduction > 1:
            self.sr = nn.Conv2d(width, width, reduction, stride=reduction)
            self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        batch, tokens, channels = x.shape
        queries = self.q(x).reshape(batch, tokens, self.heads, -1).transpose(1, 2)
        if self.reduction > 1:
            x = self.norm(self.sr(as_map(x, height, width)).flatten(2).transpose(1, 2))
        keys, values = self.kv(x).reshape(batch, -1, 2, self.heads, channels // self.heads).permute(2, 0, 3, 1, 4)
        # the fused kernel never holds the (tokens × reduced tokens) attention matrix: stage 1 of a 4 MP image would
        # need 4 GB for it
        mixed = F.scaled_dot_product_attention(queries, keys, values)
        return self.proj(mixed.transpose(1, 2).reshape(batch, tokens, channels))


class DepthwiseConv(nn.Module):
    """A 3×3 depthwise convolution applied to tokens laid out on their grid."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(width, width, 3, padding=1, groups=width)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        return self.dwconv(as_map(x, height, width)).flatten(2).transpose(1, 2)


class MixFFN(nn.Module):
    """Linear, depthwise 3×3, exact GELU, linear."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.dwconv = DepthwiseConv(hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        return self.fc2(self.act(self.dwconv(self.fc1(x), height, width)))


class Block(nn.Module):
    """A pre-norm transformer block (LayerNorm eps 1e-6): reduced attention, then the Mix-FFN."""

    def __init__(self, width: int, heads: int, reduction: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = ReducedAttention(width, heads, reduction)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = MixFFN(width, width * mlp_ratio)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), height, width)
        return x + self.mlp(self.norm2(x), height, width)


class ChannelWeights(nn.Module):
    """Per-channel gates for both streams from their global average and maximum."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(width * 4, width * 4), nn.ReLU(inplace=True), nn.Linear(width * 4, width * 2), nn.Sigmoid()
        )

    def forward(self, joined: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([joined.mean((2, 3)), joined.amax((2, 3))], 1)
        return self.mlp(pooled)[:, :, None, None]


class SpatialWeights(nn.Module):
    """Per-pixel gates for both streams from a 1×1 convolution MLP."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(width * 2, width, 1), nn.ReLU(inplace=True), nn.Conv2d(width, 2, 1), nn.Sigmoid()
        )

    def forward(self, joined: torch.Tensor) -> torch.Tensor:
        return self.mlp(joined)


class RectifyModule(nn.Module):
    """CMX's feature rectification: each stream gains the other weighted by half its channel and spatial gates."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.channel_weights = ChannelWeights(width)
        self.spatial_weights = SpatialWeights(width)

    def forward(self, rgb: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joined = torch.cat([rgb, noise], 1)
        channel_rgb, channel_noise = self.channel_weights(joined).chunk(2, 1)
        spatial_rgb, spatial_noise = self.spatial_weights(joined).chunk(2, 1)
        # the gates computed for one stream weigh that stream's contribution to the other
        return (
            rgb + 0.5 * channel_noise * noise + 0.5 * spatial_noise * noise,
            noise + 0.5 * channel_rgb * rgb + 0.5 * spatial_rgb * rgb,
        )


class CrossAttention(nn.Module):
    """Efficient cross attention: each stream's queries read the other's (channel × channel) global context, the
    context softmax-normalised over its key channels."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.kv1 = nn.Linear(width, width * 2, bias=False)
        self.kv2 = nn.Linear(width, width * 2, bias=False)

    def context(self, kv: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        keys, values = kv(x).reshape(batch, tokens, 2, self.heads, channels // self.heads).permute(2, 0, 3, 1, 4)
        return ((keys.transpose(-2, -1) @ values) * (channels // self.heads) ** -0.5).softmax(-2)

    def read(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        queries = x.reshape(batch, tokens, self.heads, -1).transpose(1, 2)
        return (queries @ context).transpose(1, 2).reshape(batch, tokens, channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.read(x1, self.context(self.kv2, x2)), self.read(x2, self.context(self.kv1, x1))


class CrossPath(nn.Module):
    """Each stream split into a kept half and a half exchanged through cross attention, projected back, residual,
    LayerNorm (eps 1e-5)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.channel_proj1 = nn.Linear(width, width * 2)
        self.channel_proj2 = nn.Linear(width, width * 2)
        self.cross_attn = CrossAttention(width, heads)
        self.end_proj1 = nn.Linear(width * 2, width)
        self.end_proj2 = nn.Linear(width * 2, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kept1, exchanged1 = F.relu(self.channel_proj1(x1)).chunk(2, -1)
        kept2, exchanged2 = F.relu(self.channel_proj2(x2)).chunk(2, -1)
        read1, read2 = self.cross_attn(exchanged1, exchanged2)
        return (
            self.norm1(x1 + self.end_proj1(torch.cat([kept1, read1], -1))),
            self.norm2(x2 + self.end_proj2(torch.cat([kept2, read2], -1))),
        )


class ChannelEmbed(nn.Module):
    """Both streams' channels merged: a 1×1 residual plus 1×1, depthwise 3×3, ReLU, 1×1, BatchNorm; BatchNorm."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.residual = nn.Conv2d(channels_in, channels_out, 1, bias=False)
        self.channel_embed = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 1),
            nn.Conv2d(channels_out, channels_out, 3, padding=1, groups=channels_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels_out, channels_out, 1),
            nn.BatchNorm2d(channels_out),
        )
        self.norm = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.residual(x) + self.channel_embed(x))


class FusionModule(nn.Module):
    """CMX's feature fusion of the two streams into one map of the stage's width."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.cross = CrossPath(width, heads)
        self.channel_emb = ChannelEmbed(width * 2, width)

    def forward(self, rgb: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        height, width = rgb.shape[-2:]
        x1, x2 = self.cross(rgb.flatten(2).transpose(1, 2), noise.flatten(2).transpose(1, 2))
        return self.channel_emb(as_map(torch.cat([x1, x2], -1), height, width))


class DualMiT(nn.Module):
    """Two MiT encoders, RGB (``patch_embed*``, ``block*``, ``norm*``) and noise (``extra_*``), rectified against
    each other after every stage (``FRMs``), whose fusion (``FFMs``) gives the stage's features (strides 4 to 32)."""

    def __init__(self, size: TruForSize) -> None:
        super().__init__()
        channels = (3, *size.widths[:-1])
        for stage, (width_in, width, depth, heads, reduction) in enumerate(
            zip(channels, size.widths, size.depths, size.heads, size.reductions, strict=True), start=1
        ):
            kernel, stride = (7, 4) if stage == 1 else (3, 2)
            for prefix in ("", "extra_"):
                self.add_module(f"{prefix}patch_embed{stage}", PatchEmbed(width_in, width, kernel, stride))
                blocks = [Block(width, heads, reduction, size.mlp_ratio) for _ in range(depth)]
                self.add_module(f"{prefix}block{stage}", nn.ModuleList(blocks))
                self.add_module(f"{prefix}norm{stage}", nn.LayerNorm(width, eps=1e-6))
        self.FRMs = nn.ModuleList(RectifyModule(width) for width in size.widths)
        self.FFMs = nn.ModuleList(
            FusionModule(width, heads) for width, heads in zip(size.widths, size.heads, strict=True)
        )

    def stream(self, prefix: str, stage: int, x: torch.Tensor) -> torch.Tensor:
        tokens, height, width = getattr(self, f"{prefix}patch_embed{stage}")(x)
        for block in getattr(self, f"{prefix}block{stage}"):
            tokens = block(tokens, height, width)
        return as_map(getattr(self, f"{prefix}norm{stage}")(tokens), height, width)

    def forward(self, rgb: torch.Tensor, noise: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in range(1, STAGES + 1):
            rgb, noise = self.FRMs[stage - 1](self.stream("", stage, rgb), self.stream("extra_", stage, noise))
            features.append(self.FFMs[stage - 1](rgb, noise))
        return features


class TokenProjection(nn.Module):
    """A linear map of a feature map's channels (``proj``)."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(channels_in, channels_out)


class DecoderHead(nn.Module):
    """SegFormer's MLP decoder: every stage projected to ``width`` channels, brought to stride 4 (bilinear),
    concatenated (coarsest first), fused by a 1×1 convolution, BatchNorm and ReLU, then ``classes`` logits."""

    def __init__(self, widths: tuple[int, ...], width: int, classes: int, eps: float = 1e-5) -> None:
        super().__init__()
        for stage, channels in enumerate(widths, start=1):
            self.add_module(f"linear_c{stage}", TokenProjection(channels, width))
        self.linear_fuse = nn.Sequential(
            nn.Conv2d(width * len(widths), width, 1), nn.BatchNorm2d(width, eps=eps), nn.ReLU(inplace=True)
        )
        self.linear_pred = nn.Conv2d(width, classes, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        fuse = self.linear_fuse[0]
        size = features[0].shape[-2:]
        fused = None
        slices = fuse.weight[:, :, 0, 0].chunk(len(features), 1)
        # The fusing 1×1 convolution, split by input stage and applied before the upsampling (both are linear and
        # bilinear weights sum to 1), equals the official concatenation without holding 4 × width channels at
        # stride 4: the largest tensor of the whole model at full resolution.
        for stage, weight in zip(range(len(features), 0, -1), slices, strict=True):
            feature = features[stage - 1]
            tokens = getattr(self, f"linear_c{stage}").proj(feature.flatten(2).transpose(1, 2))
            part = as_map(F.linear(tokens, weight), *feature.shape[-2:])
            if part.shape[-2:] != size:
                part = F.interpolate(part, size=size, mode="bilinear", align_corners=False)
            fused = part if fused is None else fused.add_(part)
        fused = fused + fuse.bias[:, None, None]
        return self.linear_pred(self.linear_fuse[2](self.linear_fuse[1](fused)))


def weighted_statistics(values: torch.Tensor, log_weights: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 4) soft minimum, soft maximum, mean and mean square of a (B, 1, H, W) map over its pixels, weighted by
    ``softmax(log_weights)`` (uniform when None); the soft extremes are log-sum-exps under those weights."""
    values = values.flatten(1)
    log_weights = torch.zeros_like(values) if log_weights is None else log_weights.flatten(1)
    log_weights = F.log_softmax(log_weights, -1)
    weights = log_weights.exp()
    return torch.stack(
        [
            -torch.logsumexp(log_weights - values, -1),
            torch.logsumexp(log_weights + values, -1),
            (weights * values).sum(-1),
            (weights * values * values).sum(-1),
        ],
        1,
    )


class TruFor(nn.Module):
    """TruFor: for images (B, 3, H, W) = RGB/256, the forgery logits (B, 2, H, W), the confidence logit
    (B, 1, H, W) and the detection logit (B, 1).

    Parameters:
        size: The architecture (:class:`TruForSize`; the defaults are the released model's).
    """

    def __init__(self, size: TruForSize = TruForSize()) -> None:
        super().__init__()
        self.size = size
        self.dncnn = noiseprint_extractor(size)
        self.backbone = DualMiT(size)
        self.decode_head = DecoderHead(size.widths, size.decoder_width, 2, eps=1e-3)
        self.decode_head_conf = DecoderHead(size.widths, size.decoder_width, 1)
        width = size.detection_width
        self.detection = nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Dropout(0.5), nn.Linear(width, 1))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # Noiseprint++ sees the un-normalised image; only the RGB stream is ImageNet-normalised
        noise = self.dncnn(images).repeat(1, 3, 1, 1)
        mean, std = (torch.tensor(v, device=images.device)[:, None, None] for v in (MEAN, STD))
        features = self.backbone((images - mean) / std, noise)
        del noise
        size = images.shape[-2:]
        logits, confidence = (
            F.interpolate(head(features).float(), size=size, mode="bilinear", align_corners=False)
            for head in (self.decode_head, self.decode_head_conf)
        )
        pooled = torch.cat(
            [
                weighted_statistics(confidence),
                weighted_statistics(logits[:, 1:] - logits[:, :1], F.logsigmoid(confidence)),
            ],
            1,
        )
        return logits, confidence, self.detection(pooled)


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 network input for H×W×3 uint8 RGB: as the official loader, the pixels divided by 256 (not
    255), at the image's own size."""
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / np.float32(256.0)


def postprocess(logits: torch.Tensor, detection: torch.Tensor) -> tuple[np.ndarray, float]:
    """(map, score) from one image's logits (2, H, W) and detection logit (1,): the map is the softmax's forged
    class, the score the detection logit's sigmoid."""
    probability = torch.softmax(logits.float(), 0)[1]
    return probability.cpu().numpy(), float(torch.sigmoid(detection.float()).item())
