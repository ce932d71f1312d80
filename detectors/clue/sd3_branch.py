"""The SD3 branch: frozen VAE latents, K noisy copies, one LoRA-tuned transformer pass, tokens averaged over K.

The forensic feature is the transformer's final image-token state (the input of ``norm_out``), reshaped to its
token grid (image size / 16); the text stream is all zeros (no text encoders).
"""

from __future__ import annotations

import torch
from peft import LoraConfig
from torch import nn
from torch.utils.checkpoint import checkpoint

from forgebench.detectors.clue.backbones import load_sd3
from forgebench.detectors.clue.config import Noise, SD3Branch
from forgebench.detectors.clue.noise import noisy


class SD3Features(nn.Module):
    def __init__(self, spec: SD3Branch, noise: Noise, levels: int) -> None:
        super().__init__()
        self.spec, self.noise, self.levels = spec, noise, levels
        transformer, vae = load_sd3(spec)
        vae.requires_grad_(False)
        transformer.requires_grad_(False)
        if spec.tune == "lora":
            transformer.add_adapter(
                LoraConfig(
                    r=spec.lora.rank,
                    lora_alpha=spec.lora.alpha,
                    target_modules=list(spec.lora.targets),
                    init_lora_weights="gaussian" if spec.lora.init == "gaussian" else True,
                )
            )
        if spec.tune == "full":
            transformer.requires_grad_(True)
            vae.requires_grad_(True)
        self.transformer, self.vae = transformer, vae
        self.channels = transformer.config.num_attention_heads * transformer.config.attention_head_dim
        self.checkpointing = False

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        side = self.spec.size // 2 ** (len(self.vae.config.block_out_channels) - 1)
        return self.vae.config.latent_channels, side, side

    def latents(self, images: torch.Tensor) -> torch.Tensor:
        """z0 = (posterior mean − shift) × scale for images in [0, 1] at ``spec.size`` (gradient only if tune: full)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.spec.tune == "full"):
            mean = self.vae.encode(images * 2 - 1).latent_dist.mean
        config = self.vae.config
        return (mean - (config.shift_factor or 0.0)) * config.scaling_factor

    def forward(
        self, images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor, one_level_per_call: bool = False
    ) -> torch.Tensor:
        """(B, D, g, g) features from images (B, 3, S, S) in [0, 1], levels u (B, K) and noise (B, K, C, h, w).

        The VAE runs once per image and the B·K noisy latents go through one transformer call;
        ``one_level_per_call`` is the straightforward reference (a call per level), same result.
        """
        k = levels.shape[1]
        z0 = self.latents(images)
        if one_level_per_call:
            return sum(self._grid(z0, levels[:, i : i + 1], noise[:, i : i + 1]) for i in range(k)) / k
        return self._grid(z0, levels, noise)

    def _grid(self, z0: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Token grids (B, D, g, g) averaged over the K levels given, all in one transformer call."""
        batch, k = levels.shape
        z0 = z0.repeat_interleave(k, dim=0)
        epsilon = noise.reshape(z0.shape).to(z0.dtype)
        zt, timestep = noisy(z0, levels.reshape(-1), epsilon, self.noise.mode, self.noise.shift)
        tokens = self.tokens(zt, timestep)
        patch = self.transformer.config.patch_size
        grid = tokens.transpose(1, 2).reshape(batch, k, self.channels, zt.shape[-2] // patch, zt.shape[-1] // patch)
        return grid.mean(dim=1)

    def tokens(self, latents: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        """Final image tokens (N, h·w, D), the state ``norm_out`` would receive."""
        model = self.transformer
        rows = latents.shape[0]
        hidden = model.pos_embed(latents).contiguous()
        pooled = latents.new_zeros(rows, model.config.pooled_projection_dim)
        text = latents.new_zeros(rows, self.spec.text_tokens, model.config.joint_attention_dim)
        temb = model.time_text_embed(timestep.to(latents.dtype), pooled)
        context = model.context_embedder(text)
        for block in model.transformer_blocks:
            if self.checkpointing and torch.is_grad_enabled():
                context, hidden = checkpoint(block, hidden, context, temb, use_reentrant=False)
            else:
                context, hidden = block(hidden_states=hidden, encoder_hidden_states=context, temb=temb)
        return hidden
