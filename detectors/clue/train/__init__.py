"""Training CLUE: settings, data, the loop, resumable state; exposed as the ``clue`` trainer plugin."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from forgebench.plugin.contract import TrainerPlugin


def train_from(config_file: Path | None, overrides: Sequence[str] = ()) -> Path:
    from forgebench.detectors.clue.train.loop import train
    from forgebench.detectors.clue.train.settings import load_settings

    return train(load_settings(config_file, overrides))


DEMO_VERSION = "3"
"""Bumped when a code change alters what the demo trains, so that a cached demo model is not reused."""


def demo_model(cache: Path) -> Path:
    """Train the demo model (``demo.yaml``) once per distinct config under ``cache``; returns its checkpoint."""
    from forgebench.detectors.clue.train.loop import train
    from forgebench.detectors.clue.train.settings import load_settings

    text = resources.files("forgebench.detectors.clue").joinpath("demo.yaml").read_text(encoding="utf-8")
    key = hashlib.sha256(f"{DEMO_VERSION}\n{text}".encode()).hexdigest()[:12]
    folder = cache / f"clue-demo-{key}"
    best = folder / "best.safetensors"
    if (folder / "done.json").is_file() and best.is_file():
        return best
    demo_file = folder / "demo.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    demo_file.write_text(text, encoding="utf-8")
    trained = train(load_settings(demo_file, [f"output={folder}", "resume=auto"]))
    (folder / "done.json").write_text(json.dumps({"checkpoint": trained.name}), encoding="utf-8")
    return trained


TRAINER = TrainerPlugin(
    name="clue",
    summary="CLUE: LoRA on SD3 and SAM + fusion and head, BCE + Dice (YAML config; accelerate for multi-GPU)",
    train=train_from,
    demo=demo_model,
)
