"""What a CLUE model is made of: nested dataclasses, the presets ``paper``, ``paper-max`` and ``tiny``, YAML-ready.

``weights`` names where pretrained backbone weights come from: a Hugging Face hub id or a local diffusers folder
for SD3, an official checkpoint file for SAM, or ``"random"`` to initialise the architecture given in the config
at random (tests, the demo, speed and memory measurements).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from forgebench.plugin.options import from_mapping, merge

SD3_MEDIUM_TRANSFORMER: dict[str, Any] = {
    "sample_size": 128,
    "patch_size": 2,
    "in_channels": 16,
    "num_layers": 24,
    "attention_head_dim": 64,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "caption_projection_dim": 1536,
    "pooled_projection_dim": 2048,
    "out_channels": 16,
    "pos_embed_max_size": 192,
}
SD3_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 16,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 1.5305,
    "shift_factor": 0.0609,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
    "force_upcast": True,
}
SD3_ATTENTION_TARGETS = (
    "attn.to_q",
    "attn.to_k",
    "attn.to_v",
    "attn.add_q_proj",
    "attn.add_k_proj",
    "attn.add_v_proj",
    "attn.to_out.0",
    "attn.to_add_out",
    "attn2.to_q",
    "attn2.to_k",
    "attn2.to_v",
    "attn2.to_out.0",
)
"""Every attention projection of every block: the joint attention's eight (diffusers' SD3 LoRA training defaults)
and, in SD3.5's dual-attention blocks, the second (image-only) attention's four."""


@dataclass(frozen=True)
class LoRA:
    rank: int = 16
    alpha: float = 16.0
    targets: tuple[str, ...] = SD3_ATTENTION_TARGETS
    init: Literal["gaussian", "kaiming"] = "gaussian"


@dataclass(frozen=True)
class SD3Branch:
    enabled: bool = True
    tune: Literal["lora", "frozen", "full"] = "lora"
    """lora (the paper), frozen (no LoRA: Table 3's "–"), or full: every backbone weight trains (not in the paper;
    for random-initialised backbones, where LoRA would only adapt random weights)."""
    weights: str = "stabilityai/stable-diffusion-3-medium-diffusers"
    """Hub id or local diffusers folder (with ``transformer/`` and ``vae/``), or ``random``."""
    revision: str | None = None
    transformer: dict[str, Any] = field(default_factory=lambda: dict(SD3_MEDIUM_TRANSFORMER))
    """Architecture for ``weights: random`` (ignored when loading pretrained weights)."""
    vae: dict[str, Any] = field(default_factory=lambda: dict(SD3_VAE))
    init_seed: int = 0
    """Seed of ``weights: random``: a checkpoint trained on random backbones finds the same ones when loaded."""
    size: int = 512
    """Side of the square image the VAE encodes (multiple of 16)."""
    text_tokens: int = 154
    """Length of the all-zero text sequence standing in for the text encoders."""
    lora: LoRA = field(default_factory=LoRA)


SAM_VARIANTS: dict[str, dict[str, Any]] = {
    "vit_b": {"embed_dim": 768, "depth": 12, "num_heads": 12, "global_attn_indexes": [2, 5, 8, 11]},
    "vit_l": {"embed_dim": 1024, "depth": 24, "num_heads": 16, "global_attn_indexes": [5, 11, 17, 23]},
    "vit_h": {"embed_dim": 1280, "depth": 32, "num_heads": 16, "global_attn_indexes": [7, 15, 23, 31]},
}


@dataclass(frozen=True)
class SAMBranch:
    enabled: bool = True
    tune: Literal["lora", "frozen", "full"] = "lora"
    """lora (the paper), frozen (no LoRA: Table 3's "–"), or full: every backbone weight trains (not in the paper;
    for random-initialised backbones, where LoRA would only adapt random weights)."""
    variant: Literal["vit_b", "vit_l", "vit_h"] = "vit_b"
    weights: str | None = None
    """Official SAM checkpoint (``sam_vit_b_01ec64.pth`` …) or a bare image-encoder state dict, or ``random``."""
    encoder: dict[str, Any] = field(default_factory=dict)
    """Overrides of the variant's ``ImageEncoderViT`` arguments (a smaller architecture for ``random``)."""
    init_seed: int = 0
    """Seed of ``weights: random`` (see ``SD3Branch.init_seed``)."""
    size: int = 1024
    """Side of the square image SAM encodes (multiple of 16; 1024 is SAM's own)."""
    attention: Literal["sdpa", "eager"] = "sdpa"
    """sdpa: ``scaled_dot_product_attention`` with the relative positions as its additive mask (fused kernels, no
    fp32 softmax copy); eager: segment-anything's own matmul–softmax. Same outputs."""
    lora: LoRA = field(default_factory=lambda: LoRA(rank=8, alpha=8.0, targets=("qkv",), init="kaiming"))


@dataclass(frozen=True)
class Noise:
    mode: Literal["rf", "ddpm", "none"] = "rf"
    shift: float = 3.0
    levels: int = 3
    """K noisy copies of each latent (forced to 1 for mode none)."""
    seed: int = 0
    """Seed of the evaluation noise; each image's noise also depends on its id."""


@dataclass(frozen=True)
class Heads:
    channels: int = 256
    groups: int = 32
    hidden: int = 64
    """Intermediate channels of the localization head."""


@dataclass(frozen=True)
class Loss:
    bce: float = 1.0
    dice: float = 1.0
    pos_weight: float | None = None
    smooth: float = 1.0


@dataclass(frozen=True)
class CLUEConfig:
    preset: str = "paper"
    sd3: SD3Branch = field(default_factory=SD3Branch)
    sam: SAMBranch = field(default_factory=SAMBranch)
    noise: Noise = field(default_factory=Noise)
    heads: Heads = field(default_factory=Heads)
    loss: Loss = field(default_factory=Loss)

    def __post_init__(self) -> None:
        if not (self.sd3.enabled or self.sam.enabled):
            raise ValueError("CLUE needs at least one branch: sd3.enabled and sam.enabled are both false")
        for name, size in (("sd3.size", self.sd3.size), ("sam.size", self.sam.size)):
            if size % 16:
                raise ValueError(f"{name} must be a multiple of 16, got {size}")
        if self.noise.levels < 1:
            raise ValueError(f"noise.levels must be at least 1, got {self.noise.levels}")
        if self.heads.channels % self.heads.groups:
            raise ValueError(f"heads.groups ({self.heads.groups}) must divide heads.channels ({self.heads.channels})")

    @property
    def levels(self) -> int:
        """Noise levels actually used (1 without noise)."""
        return 1 if self.noise.mode == "none" else self.noise.levels

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CLUEConfig:
        return from_mapping(cls, data, "model")

    def override(self, changes: dict[str, Any]) -> CLUEConfig:
        """A copy with ``changes`` (nested dict or dotted keys) merged in; unknown keys raise ``ValueError``."""
        return CLUEConfig.from_dict(merge(self.to_dict(), changes))


TINY = {
    "preset": "tiny",
    "sd3": {
        "weights": "random",
        "size": 64,
        "text_tokens": 1,
        "transformer": {
            "sample_size": 8,
            "patch_size": 2,
            "in_channels": 16,
            "num_layers": 2,
            "attention_head_dim": 8,
            "num_attention_heads": 4,
            "joint_attention_dim": 32,
            "caption_projection_dim": 32,
            "pooled_projection_dim": 64,
            "out_channels": 16,
            "pos_embed_max_size": 32,
        },
        # scaling_factor: this random encoder's posterior means have std ≈ 0.36 on photographs; 2.8 makes the
        # latents unit-variance, as SD3's 1.5305 does for its trained VAE, so the noise levels mean the same.
        "vae": {
            **SD3_VAE,
            "block_out_channels": [8, 16, 16, 16],
            "layers_per_block": 1,
            "norm_num_groups": 4,
            "scaling_factor": 2.8,
            "shift_factor": 0.0,
        },
        "lora": {"rank": 4, "alpha": 4.0},
    },
    "sam": {
        "weights": "random",
        "size": 64,
        # window 3 on the 4×4 token grid: four windows, 20 of their 36 positions padding, as SAM's 14 on 64×64
        # makes 25 windows with padding; a window as large as the grid would test one padded window only.
        "encoder": {
            "embed_dim": 32,
            "depth": 2,
            "num_heads": 2,
            "global_attn_indexes": [1],
            "out_chans": 16,
            "window_size": 3,
        },
        "lora": {"rank": 4, "alpha": 4.0},
    },
    "heads": {"channels": 16, "groups": 4, "hidden": 16},
}

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"preset": "paper"},
    "paper-max": {"preset": "paper-max", "sd3": {"size": 1024}},
    "tiny": TINY,
}


def preset(name: str, changes: dict[str, Any] | None = None) -> CLUEConfig:
    """The named preset with ``changes`` merged in."""
    if name not in PRESETS:
        raise ValueError(f"unknown CLUE preset {name!r}; presets: {', '.join(PRESETS)}")
    return CLUEConfig.from_dict(merge(merge(CLUEConfig().to_dict(), PRESETS[name]), changes or {}))
