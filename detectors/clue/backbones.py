"""Loading the pretrained backbones: the SD3 transformer and VAE, and the SAM image encoder.

SD3 comes from a hub id or a local diffusers folder holding ``transformer/`` and ``vae/`` (the text encoders are
never loaded); SAM from an official checkpoint (keys ``image_encoder.*``) or a bare encoder state dict, read with
``torch.load(weights_only=True)`` or safetensors. ``random`` initialises the configured architecture instead, from
the branch's ``init_seed`` and without touching torch's global random state.
A missing or unreadable source raises :class:`WeightsError` naming the setting that chooses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, SD3Transformer2DModel
from torch import nn

from forgebench.detectors.clue.config import SAM_VARIANTS, SAMBranch, SD3Branch

RANDOM = "random"
SAM_DEFAULTS: dict[str, Any] = {
    "img_size": 1024,
    "patch_size": 16,
    "mlp_ratio": 4.0,
    "out_chans": 256,
    "qkv_bias": True,
    "use_rel_pos": True,
    "rel_pos_zero_init": True,
    "window_size": 14,
}


class WeightsError(FileNotFoundError):
    """Backbone weights that cannot be found or read."""


def load_sd3(spec: SD3Branch) -> tuple[SD3Transformer2DModel, AutoencoderKL]:
    """The SD3 transformer and VAE (encoder only: the decoder is dropped) named by ``spec.weights``."""
    if spec.weights == RANDOM:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.init_seed)
            transformer = SD3Transformer2DModel.from_config(spec.transformer)
            vae = AutoencoderKL.from_config(spec.vae)
    else:
        source = _sd3_source(spec.weights)
        try:
            transformer = SD3Transformer2DModel.from_pretrained(source, subfolder="transformer", revision=spec.revision)
            vae = AutoencoderKL.from_pretrained(source, subfolder="vae", revision=spec.revision)
        except (OSError, ValueError) as error:
            raise WeightsError(
                f"cannot load SD3 from {spec.weights!r} (set sd3.weights, or --option sd3_weights=, to a hub id "
                f"or a local diffusers folder with transformer/ and vae/): {error}"
            ) from None
    vae.decoder = None
    return transformer, vae


def _sd3_source(weights: str) -> str:
    path = Path(weights).expanduser()
    if path.exists():
        missing = [part for part in ("transformer", "vae") if not (path / part / "config.json").is_file()]
        if missing:
            raise WeightsError(
                f"SD3 folder {path} lacks {' and '.join(f'{m}/config.json' for m in missing)} (set sd3.weights, or "
                "--option sd3_weights=, to a diffusers folder as written by save_pretrained)"
            )
        return str(path)
    if path.is_absolute() or weights.startswith((".", "~")) or weights.count("/") != 1:
        raise WeightsError(
            f"SD3 weights {weights!r} are neither a folder nor a hub id (set sd3.weights, or --option sd3_weights=, "
            "to a hub id such as stabilityai/stable-diffusion-3-medium-diffusers or a local diffusers folder)"
        )
    return weights


def sam_arguments(spec: SAMBranch) -> dict[str, Any]:
    """``ImageEncoderViT`` keyword arguments: SAM's shared settings, the variant's, the overrides, the size."""
    return {**SAM_DEFAULTS, **SAM_VARIANTS[spec.variant], **spec.encoder, "img_size": spec.size}


def build_sam(spec: SAMBranch) -> nn.Module:
    """The SAM image encoder at ``spec.size``, with pretrained weights unless ``spec.weights`` is ``random``."""
    from segment_anything.modeling import ImageEncoderViT

    arguments = {k: tuple(v) if isinstance(v, list) else v for k, v in sam_arguments(spec).items()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.init_seed)
        encoder = ImageEncoderViT(**arguments, norm_layer=lambda dim: nn.LayerNorm(dim, eps=1e-6))
    if spec.weights == RANDOM:
        return encoder
    if spec.weights is None:
        raise WeightsError(
            f"no SAM weights given: set sam.weights (or --option sam_weights=) to the official {spec.variant} "
            "checkpoint, e.g. sam_vit_b_01ec64.pth"
        )
    path = Path(spec.weights).expanduser()
    state = read_sam_state(path)
    try:
        encoder.load_state_dict(resize_sam_state(state, encoder.state_dict()))
    except RuntimeError as error:
        raise WeightsError(
            f"SAM checkpoint {path} does not fit sam.variant {spec.variant} (set sam.weights or sam.variant): {error}"
        ) from None
    return encoder


def read_sam_state(path: Path) -> dict[str, torch.Tensor]:
    """The image-encoder tensors of a SAM checkpoint, without the ``image_encoder.`` prefix; never unpickles code."""
    if not path.is_file():
        raise WeightsError(f"SAM checkpoint {path} not found (set sam.weights, or --option sam_weights=)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any reader failure means an unusable file
        raise WeightsError(f"cannot read SAM checkpoint {path}: {error}") from None
    if not isinstance(state, dict):
        raise WeightsError(f"SAM checkpoint {path} does not hold a state dict")
    prefix = "image_encoder."
    if any(key.startswith(prefix) for key in state):
        state = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    if "patch_embed.proj.weight" not in state:
        raise WeightsError(f"SAM checkpoint {path} holds no image encoder (no patch_embed.proj.weight)")
    return state


def resize_sam_state(state: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Adapt a 1024-px SAM state to another size: bicubic ``pos_embed``, linear relative-position tables."""
    resized = dict(state)
    for key, wanted in target.items():
        have = state.get(key)
        if have is None or have.shape == wanted.shape:
            continue
        if key == "pos_embed":
            grid = have.permute(0, 3, 1, 2).float()
            grid = nn.functional.interpolate(grid, size=wanted.shape[1:3], mode="bicubic", align_corners=False)
            resized[key] = grid.permute(0, 2, 3, 1).to(have.dtype)
        elif key.endswith(("rel_pos_h", "rel_pos_w")):
            table = have.t().unsqueeze(0).float()
            table = nn.functional.interpolate(table, size=wanted.shape[0], mode="linear")
            resized[key] = table.squeeze(0).t().to(have.dtype)
    return resized
