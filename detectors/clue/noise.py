"""Noise levels and noisy latents for the SD3 branch (Rectified Flow with shift s, DDPM, or none).

A level is drawn as u ∈ (0, 1) and mapped to the noise scale σ and the timestep the transformer is told:

* ``rf``:   σ = s·u / (1 + (s − 1)·u), z_t = (1 − σ)·z0 + σ·ε, timestep = 1000·σ (SD3's training schedule);
* ``ddpm``: ᾱ from a linear β schedule 1e-4 → 0.02 over T = 1000 steps at t = ⌊u·999⌋,
  z_t = √ᾱ·z0 + √(1 − ᾱ)·ε, timestep = t;
* ``none``: z_t = z0, timestep = 0, one level.

Evaluation uses the fixed levels u_k = (k + 1)/(K + 1) (K = 3: u = ¼, ½, ¾ → σ = 0.5, 0.75, 0.9 at s = 3) and
noise from a generator seeded by the evaluation seed and the image id; training draws one stratified
u_k ∈ [k/K, (k + 1)/K) per image and level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

DDPM_STEPS = 1000
DDPM_BETAS = (1e-4, 0.02)


def rf_sigma(u: torch.Tensor, shift: float) -> torch.Tensor:
    return shift * u / (1 + (shift - 1) * u)


def eval_levels(levels: int) -> torch.Tensor:
    return torch.arange(1, levels + 1, dtype=torch.float32) / (levels + 1)


def train_levels(batch: int, levels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch, levels) stratified draws: column k is uniform in [k/K, (k + 1)/K)."""
    where = None if generator is None else generator.device  # a CUDA generator draws on its GPU
    offsets = torch.rand(batch, levels, generator=generator, device=where)
    return (torch.arange(levels, dtype=torch.float32, device=offsets.device) + offsets) / levels


def noisy(
    z0: torch.Tensor, u: torch.Tensor, noise: torch.Tensor, mode: str, shift: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy latents and timesteps for ``z0`` (N, C, h, w), levels ``u`` (N,) and noise ``ε`` like ``z0``."""
    u = u.to(z0.device, torch.float32)
    if mode == "none":
        return z0, torch.zeros_like(u)
    if mode == "rf":
        sigma = rf_sigma(u, shift)
        scale = sigma.view(-1, 1, 1, 1).to(z0.dtype)
        return (1 - scale) * z0 + scale * noise, sigma * 1000
    if mode == "ddpm":
        step = (u * (DDPM_STEPS - 1)).floor().long()
        betas = torch.linspace(*DDPM_BETAS, DDPM_STEPS, dtype=torch.float64, device=z0.device)
        alpha_bar = torch.cumprod(1 - betas, 0)[step].float().view(-1, 1, 1, 1).to(z0.dtype)
        return alpha_bar.sqrt() * z0 + (1 - alpha_bar).sqrt() * noise, step.float()
    raise ValueError(f"unknown noise mode {mode!r} (rf, ddpm or none)")


def image_noise(shape: Sequence[int], seed: int, image_ids: Sequence[str], device: torch.device) -> torch.Tensor:
    """Noise of shape (len(image_ids), *shape), each image's from its own generator: reproducible per image."""
    draws = []
    for image_id in image_ids:
        key = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(key[:4], "little"))  # torch keeps 32 seed bits
        draws.append(torch.randn(tuple(shape), generator=generator))
    return to_device(torch.stack(draws), device)


def to_device(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``tensor`` on ``device``; to a GPU through pinned memory, so the host does not wait for the copy."""
    if torch.device(device).type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
