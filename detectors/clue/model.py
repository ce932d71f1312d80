"""The CLUE network: SD3 and SAM branches → fusion → head, and what it trains, merges and saves."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn
from torch.nn import functional as F

from forgebench.detectors.clue.config import CLUEConfig
from forgebench.detectors.clue.fusion import Fusion, Head
from forgebench.detectors.clue.noise import eval_levels, image_noise, to_device, train_levels
from forgebench.detectors.clue.sam_branch import SAMFeatures
from forgebench.detectors.clue.sd3_branch import SD3Features


class CLUE(nn.Module):
    """CLUE: forensic features from a LoRA-tuned SD3 transformer on Rectified-Flow-noised VAE latents, fused with
    a LoRA-tuned SAM image encoder's features, and a light head that outputs per-pixel forgery logits.

    The input is a square image in [0, 1] of side :attr:`input_size`; each branch resizes it to its own size
    (``config.sd3.size``, ``config.sam.size``). The SD3 branch encodes it with the frozen VAE, adds noise at
    ``config.levels`` levels (one transformer pass over B·K rows) and averages the final image tokens over the
    levels; the SAM branch runs the image encoder. :class:`Fusion` projects each branch, brings it to SAM's grid
    and mixes them; :class:`Head` predicts one logit per pixel at ``input_size``.

    Parameters:
        config: The whole model (see :mod:`forgebench.detectors.clue.config` and its presets ``paper``,
            ``paper-max`` and ``tiny``). ``config.sd3.weights`` / ``config.sam.weights`` say where pretrained
            backbones come from: a hub id or local diffusers folder for SD3, an official checkpoint for SAM, or
            ``random`` (architecture from the config, seeded by ``init_seed``). Loading never happens at import.

    Only LoRA, fusion and head train (:meth:`trainable`); ``tune: full`` makes a backbone trainable instead, and
    ``tune: frozen`` removes its LoRA. Call :meth:`train_noise` or :meth:`eval_noise` for the noise inputs.
    """

    def __init__(self, config: CLUEConfig) -> None:
        super().__init__()
        self.config = config
        self.sd3 = SD3Features(config.sd3, config.noise, config.levels) if config.sd3.enabled else None
        self.sam = SAMFeatures(config.sam) if config.sam.enabled else None
        branches = [b.channels for b in (self.sd3, self.sam) if b is not None]
        self.fusion = Fusion(branches, config.heads)
        self.head = Head(config.heads)

    @property
    def input_size(self) -> int:
        """Side of the square input: the largest branch size (each branch resizes from it)."""
        return max(b.spec.size for b in (self.sd3, self.sam) if b is not None)

    def forward(
        self,
        images: torch.Tensor,
        levels: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
        one_level_per_call: bool = False,
    ) -> torch.Tensor:
        """Logits (B, 1, S, S), S = ``input_size`` (16 × the finest branch grid).

        Parameters:
            images: (B, 3, H, W) in [0, 1]; resized to each branch's square size.
            levels: (B, K) noise levels u in (0, 1) for the SD3 branch (None only without SD3 or noise).
            noise: (B, K, C, h, w) Gaussian noise on the latent grid, matching ``levels``.
            one_level_per_call: Run the transformer once per noise level (the slow reference path) instead of
                one batched pass over B·K rows; the outputs are the same.
        """
        features = []
        if self.sd3 is not None:
            if levels is None or noise is None:
                raise ValueError("the SD3 branch needs noise levels and noise (train_noise / eval_noise)")
            features.append(self.sd3(_resized(images, self.sd3.spec.size), levels, noise, one_level_per_call))
        if self.sam is not None:
            features.append(self.sam(_resized(images, self.sam.spec.size)))
        return self.head(self.fusion(features))

    def train_noise(self, batch: int, device: torch.device, generator: torch.Generator | None = None):
        """Stratified random levels and fresh noise for a training batch (None, None without SD3)."""
        if self.sd3 is None:
            return None, None
        levels = train_levels(batch, self.config.levels, generator)
        where = device if generator is None else generator.device  # no host round trip for unseeded noise
        noise = torch.randn((batch, self.config.levels, *self.sd3.latent_shape), generator=generator, device=where)
        return to_device(levels, device), to_device(noise, device)

    def eval_noise(self, image_ids: Sequence[str], device: torch.device):
        """The fixed levels and each image's own seeded noise: the same image always gets the same map."""
        if self.sd3 is None:
            return None, None
        levels = eval_levels(self.config.levels).repeat(len(image_ids), 1)
        noise = image_noise((self.config.levels, *self.sd3.latent_shape), self.config.noise.seed, image_ids, device)
        return to_device(levels, device), noise

    def set_checkpointing(self, enabled: bool) -> None:
        """Gradient checkpointing of the transformer and SAM blocks (recompute in backward, save memory)."""
        for branch in (self.sd3, self.sam):
            if branch is not None:
                branch.checkpointing = enabled

    def trainable(self) -> dict[str, nn.Parameter]:
        """The trained parameters: LoRA, fusion and head (everything else is frozen)."""
        return {name: p for name, p in self.named_parameters() if p.requires_grad}

    def lora_layers(self) -> list[BaseTunerLayer]:
        return [m for m in self.modules() if isinstance(m, BaseTunerLayer)]

    def merge_lora(self, fuse_qkv: bool = True) -> None:
        """Fold every LoRA update into its base weight (same outputs, faster inference).

        With ``fuse_qkv``, SD3's query, key and value projections then run as one matmul per stream (diffusers'
        ``fuse_qkv_projections``, built from the merged weights), where that is exact: not with SD3.5's q/k norms
        or dual attention, which diffusers' fused processor leaves out. Merging again changes nothing.
        """
        for layer in self.lora_layers():
            if not layer.merged:
                layer.merge()
        if fuse_qkv and self.sd3 is not None and _fusable(self.sd3.transformer) and not self.fused:
            self.sd3.transformer.fuse_qkv_projections()
            for name, module in self.sd3.transformer.named_modules():
                if name.endswith(("to_qkv", "to_added_qkv")):
                    module.requires_grad_(False)  # inference only: never trained, never saved

    @property
    def fused(self) -> bool:
        """Whether SD3's q/k/v projections currently run fused."""
        return self.sd3 is not None and getattr(self.sd3.transformer, "original_attn_processors", None) is not None

    def unmerge_lora(self) -> None:
        """Undo :meth:`merge_lora`: q/k/v separate again (the fused copies deleted), LoRA apart, e.g. to train on."""
        if self.fused:
            transformer = self.sd3.transformer
            transformer.unfuse_qkv_projections()
            transformer.original_attn_processors = None  # diffusers empties it while restoring: never reuse it
            for module in transformer.modules():
                for name in ("to_qkv", "to_added_qkv"):
                    if name in module._modules:
                        del module._modules[name]
                if hasattr(module, "fused_projections"):
                    module.fused_projections = False
        for layer in self.lora_layers():
            if layer.merged:
                layer.unmerge()


def _fusable(transformer: nn.Module) -> bool:
    config = transformer.config
    return config.qk_norm is None and not config.dual_attention_layers


def _resized(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-2:] == (size, size):
        return images
    shrinking = images.shape[-2] > size or images.shape[-1] > size
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking)
