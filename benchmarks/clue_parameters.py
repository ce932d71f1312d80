"""Print the parameter counts of a CLUE preset as a Markdown table (built on the meta device: no weights, no RAM).

python benchmarks/clue_parameters.py [PRESET]   # default: paper
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from forgebench.detectors.clue.config import preset
from forgebench.detectors.clue.model import CLUE


def count(module: nn.Module | None, lora_only: bool = False) -> int:
    if module is None:
        return 0
    return sum(p.numel() for name, p in module.named_parameters() if "lora_" in name or not lora_only)


def table(name: str) -> str:
    with torch.device("meta"):
        model = CLUE(preset(name, {"sd3.weights": "random", "sam.weights": "random"}))
    sd3, sam = model.sd3, model.sam
    rows = [
        ("SD3 transformer", count(sd3 and sd3.transformer) - count(sd3 and sd3.transformer, True), 0),
        ("SD3 LoRA", 0, count(sd3 and sd3.transformer, True)),
        ("SD3 VAE encoder", count(sd3 and sd3.vae), 0),
        ("SAM image encoder", count(sam and sam.encoder) - count(sam and sam.encoder, True), 0),
        ("SAM LoRA (qkv)", 0, count(sam and sam.encoder, True)),
        ("fusion module", 0, count(model.fusion)),
        ("localization head", 0, count(model.head)),
    ]
    lines = [f"| `{name}` part | frozen | trained |", "|---|---:|---:|"]
    lines += [f"| {part} | {frozen:,} | {trained:,} |" for part, frozen, trained in rows]
    frozen, trained = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines.append(f"| **total** | **{frozen:,}** | **{trained:,}** ({100 * trained / (frozen + trained):.2f} %) |")
    lora_modules = len(model.lora_layers())
    lines.append(f"\n{lora_modules} LoRA-adapted linear layers; a checkpoint stores the {trained:,} trained values.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1] if len(sys.argv) > 1 else "paper"))
