"""CAT-Net (Kwon et al., WACV 2021 and IJCV 2022): an HRNet-W48 on the RGB pixels and an HRNet-like stream on the
JPEG's quantised luma DCT coefficients, fused at three resolutions, a last HRNet stage and a 2-class head at ¼
resolution; re-implemented from the architecture, with the official inference's input processing.

Module names follow the official checkpoint (``conv1``, ``stage4``, ``dc_layer0_dil``, ``transition4``,
``last_layer``, …), so it loads as released. The DCT input is what the official dataset class builds: the JPEG's
own coefficients when the image is a JPEG file, else those of a quality-100, 4:4:4 Pillow re-compression.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from pathlib import Path

import jpeglib
import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from forgebench.detectors.deep.catnet_hrnet import (
    BasicBlock,
    Bottleneck,
    apply_transition,
    conv_bn,
    residual_layer,
    stage,
    transition,
)

BLOCK = 8
"""The JPEG block side: the input is padded to a multiple of it, and the DCT stream works per block."""
STRIP_ROWS = 128
"""Rows of the DCT stream's full-resolution first layers computed at a time."""
LUMA_SPACES = (jpeglib.JCS_YCbCr, jpeglib.JCS_GRAYSCALE)
"""JPEG colour spaces whose first component is luma (the only one CAT-Net reads)."""


@dataclass(frozen=True)
class StageSize:
    """One HRNet stage: ``modules`` multi-resolution modules, one branch per entry of ``channels``."""

    modules: int
    blocks: tuple[int, ...]
    channels: tuple[int, ...]


@dataclass(frozen=True)
class CATNetSize:
    """The architecture; the defaults are the released model's (``experiments/CAT_full.yaml``, v1 and v2 alike)."""

    stem: int = 64
    layer1: int = 64
    """Width of the bottleneck blocks after the stem (their output is 4× wider)."""
    layer1_blocks: int = 4
    stage2: StageSize = StageSize(1, (4, 4), (48, 96))
    stage3: StageSize = StageSize(4, (4, 4, 4), (48, 96, 192))
    stage4: StageSize = StageSize(3, (4, 4, 4, 4), (48, 96, 192, 384))
    dct_bins: int = 21
    """|coefficient| = 0, 1, …, 19 and ≥ 20: the one-hot volume's channels."""
    dct_stem: int = 64
    dct_tail: int = 4
    """Channels per DCT frequency after the stem (64 frequencies × this, twice: raw and × quantisation step)."""
    dct_layer2_blocks: int = 4
    dc_stage3: StageSize = StageSize(3, (4, 4), (96, 192))
    dc_stage4: StageSize = StageSize(2, (4, 4, 4), (96, 192, 384))
    stage5: StageSize = StageSize(1, (4, 4, 4, 4), (24, 48, 96, 192))
    classes: int = 2

    @classmethod
    def of(cls, tensors: Mapping[str, torch.Tensor]) -> CATNetSize:
        """The architecture an official state dict was saved from, read off its keys and tensor shapes."""
        dct_stem = tensors["dc_layer0_dil.0.weight"]
        return cls(
            stem=tensors["conv1.weight"].shape[0], layer1=tensors["layer1.0.conv1.weight"].shape[0],
            layer1_blocks=_count(tensors, "layer1"), stage2=_stage_of(tensors, "stage2"),
            stage3=_stage_of(tensors, "stage3"), stage4=_stage_of(tensors, "stage4"), dct_bins=dct_stem.shape[1],
            dct_stem=dct_stem.shape[0], dct_tail=tensors["dc_layer1_tail.0.weight"].shape[0],
            dct_layer2_blocks=_count(tensors, "dc_layer2"), dc_stage3=_stage_of(tensors, "dc_stage3"),
            dc_stage4=_stage_of(tensors, "dc_stage4"), stage5=_stage_of(tensors, "stage5"),
            classes=tensors["last_layer.3.weight"].shape[0],
        )  # fmt: skip


def _count(tensors: Mapping[str, torch.Tensor], prefix: str) -> int:
    """How many numbered children ``prefix.<n>`` the state dict has."""
    return 1 + max(int(key[len(prefix) + 1 :].split(".")[0]) for key in tensors if key.startswith(prefix + "."))


def _stage_of(tensors: Mapping[str, torch.Tensor], prefix: str) -> StageSize:
    branches = _count(tensors, f"{prefix}.0.branches")
    return StageSize(
        modules=_count(tensors, prefix),
        blocks=tuple(_count(tensors, f"{prefix}.0.branches.{index}") for index in range(branches)),
        channels=tuple(tensors[f"{prefix}.0.branches.{index}.0.conv1.weight"].shape[0] for index in range(branches)),
    )


class CATNet(nn.Module):
    """CAT-Net: 2-class logits (B, classes, H/4, W/4) for RGB (B, 3, H, W) scaled to [−1, 1], the quantised luma
    DCT coefficients (B, H, W) (the official model takes their one-hot volume, built here strip by strip) and the
    luma quantisation tables (B, 8, 8); H and W multiples of 8.

    Parameters:
        size: The architecture (:class:`CATNetSize`; the defaults are the released model's).
    """

    def __init__(self, size: CATNetSize = CATNetSize()) -> None:
        super().__init__()
        self.size = size
        self.conv1, self.bn1 = conv_bn(3, size.stem, 3, 2)
        self.conv2, self.bn2 = conv_bn(size.stem, size.stem, 3, 2)
        self.layer1 = residual_layer(Bottleneck, size.stem, size.layer1, size.layer1_blocks)
        self.transition1 = transition((size.layer1 * Bottleneck.expansion,), size.stage2.channels)
        self.stage2 = stage(*astuple(size.stage2))
        self.transition2 = transition(size.stage2.channels, size.stage3.channels)
        self.stage3 = stage(*astuple(size.stage3))
        self.transition3 = transition(size.stage3.channels, size.stage4.channels)
        self.stage4 = stage(*astuple(size.stage4))

        self.dc_layer0_dil = nn.Sequential(
            nn.Conv2d(size.dct_bins, size.dct_stem, 3, padding=BLOCK, dilation=BLOCK),  # same frequency, next blocks
            nn.BatchNorm2d(size.dct_stem),
            nn.ReLU(inplace=True),
        )
        self.dc_layer1_tail = nn.Sequential(*conv_bn(size.dct_stem, size.dct_tail, 1), nn.ReLU(inplace=True))
        per_block = size.dct_tail * BLOCK * BLOCK * 2
        self.dc_layer2 = residual_layer(BasicBlock, per_block, size.dc_stage3.channels[0], size.dct_layer2_blocks)
        self.dc_transition2 = transition(size.dc_stage3.channels[:1], size.dc_stage3.channels)
        self.dc_stage3 = stage(*astuple(size.dc_stage3))
        self.dc_transition3 = transition(size.dc_stage3.channels, size.dc_stage4.channels)
        self.dc_stage4 = stage(*astuple(size.dc_stage4))

        joined = (
            size.stage4.channels[0],
            *(rgb + dct for rgb, dct in zip(size.stage4.channels[1:], size.dc_stage4.channels, strict=True)),
        )
        self.transition4 = transition(joined, size.stage5.channels)
        self.stage5 = stage(*astuple(size.stage5))
        width = sum(size.stage5.channels)
        self.last_layer = nn.Sequential(
            nn.Conv2d(width, width, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.Conv2d(width, size.classes, 1)
        )

    def rgb_stream(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(rgb)), inplace=True)
        x = self.layer1(F.relu(self.bn2(self.conv2(x)), inplace=True))
        x = self.stage2(apply_transition(self.transition1, [x]))
        x = self.stage3(apply_transition(self.transition2, x))
        return self.stage4(apply_transition(self.transition3, x))

    def dct_stem(self, coefficients: torch.Tensor, strip: int = STRIP_ROWS) -> torch.Tensor:
        """``dc_layer0_dil`` then ``dc_layer1_tail`` on the one-hot volume of (B, H, W) coefficients, computed in
        strips of ``strip`` rows (with the dilated kernel's 8-row margins) so that neither the volume nor the
        64-channel full-resolution features exist whole: they are most of the memory the network would need."""
        conv, norm, _ = self.dc_layer0_dil
        height = coefficients.shape[1]
        parts = []
        for top in range(0, height, strip):
            bottom = min(top + strip, height)
            above, below = min(top, BLOCK), min(height - bottom, BLOCK)
            volume = dct_volume(coefficients[:, top - above : bottom + below], self.size.dct_bins)
            volume = F.pad(volume, (0, 0, BLOCK - above, BLOCK - below))  # the convolution's zero padding
            x = F.conv2d(volume, conv.weight, conv.bias, padding=(0, BLOCK), dilation=BLOCK)
            parts.append(self.dc_layer1_tail(F.relu(norm(x), inplace=True)))
        return torch.cat(parts, 2)

    def dct_stream(self, coefficients: torch.Tensor, qtable: torch.Tensor) -> list[torch.Tensor]:
        x = self.dct_stem(coefficients)
        batch, channels, height, width = x.shape
        # each block's 8×8 positions become channels (frequency-major within a channel), once as they are and
        # once weighted by that frequency's quantisation step
        blocks = x.reshape(batch, channels, height // BLOCK, BLOCK, width // BLOCK, BLOCK).permute(0, 1, 3, 5, 2, 4)
        weighted = blocks * qtable[:, None, :, :, None, None]
        shape = (batch, channels * BLOCK * BLOCK, height // BLOCK, width // BLOCK)
        x = self.dc_layer2(torch.cat([blocks.reshape(shape), weighted.reshape(shape)], 1))
        x = self.dc_stage3(apply_transition(self.dc_transition2, [x]))
        return self.dc_stage4(apply_transition(self.dc_transition3, x))

    def forward(self, rgb: torch.Tensor, coefficients: torch.Tensor, qtable: torch.Tensor) -> torch.Tensor:
        rgb_levels = self.rgb_stream(rgb)
        dct_levels = self.dct_stream(coefficients, qtable)
        joined = [rgb_levels[0]] + [torch.cat(pair, 1) for pair in zip(rgb_levels[1:], dct_levels, strict=True)]
        del rgb_levels, dct_levels
        levels = self.stage5(apply_transition(self.transition4, joined))
        del joined
        size = levels[0].shape[-2:]
        upsampled = (F.interpolate(level, size=size, mode="bilinear") for level in levels[1:])
        features = torch.cat([levels[0], *upsampled], 1)
        del levels
        # the head is pointwise: row strips give the same logits without its wide intermediates existing whole
        rows = range(0, features.shape[2], STRIP_ROWS // 4)
        return torch.cat([self.last_layer(features[:, :, top : top + STRIP_ROWS // 4]) for top in rows], 2)


@dataclass(frozen=True)
class CATNetInput:
    """One image as the network reads it, padded to a multiple of 8 (Hp × Wp)."""

    rgb: np.ndarray
    """3 × Hp × Wp float32, (x − 127.5) / 127.5, padding 0 (the official pads with 127.5 before scaling)."""
    coefficients: np.ndarray
    """Hp × Wp int16: the quantised luma DCT coefficients, each 8×8 block in natural (row = vertical) order."""
    qtable: np.ndarray
    """8 × 8 float32 luma quantisation table, natural order."""


def read_luma(jpeg: bytes) -> tuple[jpeglib.DCTJPEG, np.ndarray, np.ndarray]:
    """(the parsed file, its luma coefficient plane (8·rows × 8·columns int16), its luma quantisation table)."""
    with tempfile.TemporaryDirectory(prefix="forgebench-catnet-") as folder:  # jpeglib reads only from a path
        path = Path(folder) / "image.jpg"
        path.write_bytes(jpeg)
        try:
            parsed = jpeglib.read_dct(str(path))
            parsed.load()
        except OSError as error:  # a JPEG Pillow decodes but libjpeg cannot read as coefficients (e.g. 12-bit)
            raise ValueError(f"cannot read this JPEG's DCT coefficients: {error}") from None
    rows, columns = parsed.Y.shape[:2]
    plane = parsed.Y.transpose(0, 2, 1, 3).reshape(rows * BLOCK, columns * BLOCK)
    return parsed, plane, parsed.qt[parsed.quant_tbl_no[0]].astype(np.float32)


def is_jpeg(source: bytes) -> bool:
    """Whether Pillow opens the file as a JPEG (the official test for using its coefficients; an MPO is not)."""
    try:
        with Image.open(io.BytesIO(source)) as image:
            return image.format == "JPEG"
    except OSError:
        return False


def recompress(pixels: np.ndarray) -> bytes:
    """The official treatment of a non-JPEG file: Pillow JPEG at quality 100 without chroma subsampling."""
    output = io.BytesIO()
    Image.fromarray(pixels).save(output, format="JPEG", quality=100, subsampling=0)
    return output.getvalue()


def preprocess(pixels: np.ndarray, source: bytes | None = None) -> CATNetInput:
    """The network input for H×W×3 uint8 RGB ``pixels`` and, where they are its unperturbed decoding, the file.

    A JPEG file's own luma coefficients and table are used when its colour space has luma first and its block
    grid covers exactly the pixels (an EXIF-rotated decoding does not); the pixels are then the file's Pillow
    decoding, as in the official code. Otherwise, as the official code does for a non-JPEG file, the pixels are
    re-compressed at quality 100, 4:4:4 (Pillow), and the network sees that JPEG: its coefficients and, for the
    RGB stream, its Pillow decoding.
    """
    height, width = pixels.shape[:2]
    padded = (-(-height // BLOCK) * BLOCK, -(-width // BLOCK) * BLOCK)
    if source is not None and is_jpeg(source):
        parsed, plane, qtable = read_luma(source)
        if parsed.jpeg_color_space in LUMA_SPACES and plane.shape == padded:
            return _assemble(pixels, plane, qtable)
    jpeg = recompress(pixels)
    _, plane, qtable = read_luma(jpeg)
    with Image.open(io.BytesIO(jpeg)) as image:
        return _assemble(np.asarray(image.convert("RGB")), plane, qtable)


def _assemble(pixels: np.ndarray, plane: np.ndarray, qtable: np.ndarray) -> CATNetInput:
    height, width = pixels.shape[:2]
    rgb = np.zeros((3, *plane.shape), np.float32)
    rgb[:, :height, :width] = (pixels.transpose(2, 0, 1).astype(np.float32) - np.float32(127.5)) / np.float32(127.5)
    return CATNetInput(rgb=rgb, coefficients=np.ascontiguousarray(plane), qtable=qtable)


def dct_volume(coefficients: torch.Tensor, bins: int = 21) -> torch.Tensor:
    """(B, bins, H, W) float32 one-hot of min(|coefficient|, bins − 1) for (B, H, W) integer coefficients (the
    official ``DCTvol``)."""
    levels = coefficients.long().abs().clamp_(max=bins - 1)[:, None]
    return torch.zeros((levels.shape[0], bins, *levels.shape[2:]), device=levels.device).scatter_(1, levels, 1.0)


def postprocess(logits: torch.Tensor, height: int, width: int) -> np.ndarray:
    """P(forged) for an H×W image: softmax over the classes (B=1 logits (classes, Hp/4, Wp/4)), class 1,
    bilinear to the padded size Hp × Wp, cropped to H × W."""
    probability = torch.softmax(logits.float(), 0)[1]
    padded = (probability.shape[0] * 4, probability.shape[1] * 4)
    full = F.interpolate(probability[None, None], size=padded, mode="bilinear", align_corners=False)
    return full[0, 0, :height, :width].cpu().numpy()
