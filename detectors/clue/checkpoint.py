"""CLUE checkpoints: one safetensors file with the trained tensors (LoRA, fusion, head) and the model config.

The frozen backbones are not stored; loading rebuilds them from the config's ``weights`` (which the caller may
override, e.g. when SD3 lives in another folder on this machine). Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from forgebench.detectors.clue.config import CLUEConfig
from forgebench.detectors.clue.model import CLUE

FORMAT = "forgebench-clue/1"


class CheckpointError(ValueError):
    """A file that is not a usable CLUE checkpoint."""


def save(model: CLUE, path: Path, info: dict[str, Any] | None = None) -> Path:
    """Write the trainable tensors, the config and ``info`` (JSON-ready: step, metrics …) to ``path``."""
    tensors = {name: p.detach().to("cpu", torch.float32).contiguous() for name, p in model.trainable().items()}
    metadata = {"format": FORMAT, "config": json.dumps(model.config.to_dict()), "info": json.dumps(info or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, partial, metadata=metadata)
    partial.replace(path)
    return path


def read(path: Path) -> tuple[CLUEConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """Config, tensors and info of a checkpoint; :class:`CheckpointError` names the file when it is unusable."""
    if not path.is_file():
        raise CheckpointError(f"CLUE checkpoint {path} not found (set --option checkpoint=FILE)")
    metadata, tensors = read_tagged(path, FORMAT, "CLUE checkpoint")
    try:
        config = CLUEConfig.from_dict(json.loads(metadata["config"]))
        info = json.loads(metadata.get("info", "{}"))
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path} holds an unusable CLUE config or info: {error}") from None
    return config, tensors, info


def load(path: Path, overrides: dict[str, Any] | None = None) -> tuple[CLUE, dict[str, Any]]:
    """Rebuild the model a checkpoint was trained as (``overrides`` change e.g. where weights are found)."""
    config, tensors, info = read(path)
    return assemble(config.override(overrides or {}), tensors, path), info


def assemble(config: CLUEConfig, tensors: dict[str, torch.Tensor], origin: Path | str) -> CLUE:
    """Build ``config``'s model (backbones from their weights) and copy the trained tensors in."""
    model = CLUE(config)
    restore(model, tensors, origin)
    return model


def read_tagged(path: Path, expected: str, what: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """Metadata and tensors of a safetensors file whose ``format`` metadata is ``expected``."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as error:  # noqa: BLE001 - any reader failure means an unusable file
        raise CheckpointError(f"{path} is not a safetensors file: {error}") from None
    if metadata.get("format") != expected:
        raise CheckpointError(f"{path} is not a {what} (format {metadata.get('format')!r}, want {expected})")
    return metadata, tensors


def restore(model: CLUE, tensors: dict[str, torch.Tensor], origin: Path | str) -> None:
    """Copy trained tensors into ``model``; every trainable tensor must be present and no other."""
    trainable = model.trainable()
    missing = sorted(set(trainable) - set(tensors))
    unexpected = sorted(set(tensors) - set(trainable))
    if missing or unexpected:
        raise CheckpointError(
            f"{origin} does not match the model: {len(missing)} missing (e.g. {missing[:2]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})"
        )
    with torch.no_grad():
        for name, parameter in trainable.items():
            if not tensors[name].is_floating_point():
                raise CheckpointError(f"{origin}: {name} holds {tensors[name].dtype} values, want floating point")
            if tensors[name].shape != parameter.shape:
                raise CheckpointError(
                    f"{origin}: {name} has shape {tuple(tensors[name].shape)}, want {tuple(parameter.shape)}"
                )
            parameter.copy_(tensors[name])


def digest(path: Path) -> str:
    """SHA-256 of the checkpoint file (part of the detector's fingerprint)."""
    if not path.is_file():
        raise CheckpointError(f"CLUE checkpoint {path} not found (set --option checkpoint=FILE)")
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()
