"""The SAM branch: segment-anything's ``ImageEncoderViT`` with LoRA on the fused attention ``qkv`` projections."""

from __future__ import annotations

from types import MethodType

import torch
from peft import LoraConfig, inject_adapter_in_model
from segment_anything.modeling.image_encoder import get_rel_pos
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from forgebench.detectors.clue.backbones import build_sam, sam_arguments
from forgebench.detectors.clue.config import SAMBranch

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class SAMFeatures(nn.Module):
    def __init__(self, spec: SAMBranch) -> None:
        super().__init__()
        self.spec = spec
        encoder = build_sam(spec)
        encoder.requires_grad_(False)
        if spec.tune == "lora":
            config = LoraConfig(
                r=spec.lora.rank,
                lora_alpha=spec.lora.alpha,
                target_modules=list(spec.lora.targets),
                init_lora_weights="gaussian" if spec.lora.init == "gaussian" else True,
            )
            encoder = inject_adapter_in_model(config, encoder)
        elif spec.tune == "full":
            encoder.requires_grad_(True)
        self.encoder = encoder
        self.use_attention(spec.attention)
        self.channels = sam_arguments(spec)["out_chans"]
        self.register_buffer("mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1) / 255, persistent=False)
        self.register_buffer("std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1) / 255, persistent=False)
        self.checkpointing = False

    def use_attention(self, kind: str) -> None:
        """``sdpa`` (:func:`sdpa_attention`) or ``eager`` (segment-anything's own) in every block; same outputs."""
        if kind not in ("sdpa", "eager"):
            raise ValueError(f"sam.attention must be sdpa or eager, got {kind!r}")
        for block in self.encoder.blocks:
            if kind == "sdpa":
                block.attn.forward = MethodType(sdpa_attention, block.attn)
            else:
                vars(block.attn).pop("forward", None)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, out_chans, S/16, S/16) features from images (B, 3, S, S) in [0, 1]."""
        encoder = self.encoder
        x = encoder.patch_embed((images - self.mean) / self.std)
        if encoder.pos_embed is not None:
            x = x + encoder.pos_embed
        for block in encoder.blocks:
            x = (
                checkpoint(block, x, use_reentrant=False)
                if self.checkpointing and torch.is_grad_enabled()
                else block(x)
            )
        return encoder.neck(x.permute(0, 3, 1, 2))


def sdpa_attention(attention: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """segment-anything's ``Attention.forward`` through ``scaled_dot_product_attention``.

    The decomposed relative-position terms become the additive mask; the default scale 1/√head_dim is SAM's.
    """
    batch, height, width, _ = x.shape
    heads = attention.num_heads
    q, k, v = attention.qkv(x).reshape(batch, height * width, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    bias = None
    if attention.use_rel_pos:
        grid = q.reshape(batch, heads, height, width, -1)
        rel_h = torch.einsum("bnhwc,hkc->bnhwk", grid, get_rel_pos(height, height, attention.rel_pos_h))
        rel_w = torch.einsum("bnhwc,wkc->bnhwk", grid, get_rel_pos(width, width, attention.rel_pos_w))
        bias = (rel_h[..., :, None] + rel_w[..., None, :]).reshape(batch, heads, height * width, height * width)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=None if bias is None else bias.to(q.dtype))
    return attention.proj(out.permute(0, 2, 1, 3).reshape(batch, height, width, -1))
