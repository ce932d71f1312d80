"""Resumable training state in one safetensors file: trained tensors, AdamW moments and progress counters.

Optimizer tensors are stored as ``optimizer.<group index>.<name>.<key>``; counters and hyper-parameters as JSON
metadata. Nothing is pickled, so a state file from elsewhere is as safe to read as a checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from forgebench.detectors.clue.checkpoint import CheckpointError, read_tagged, restore
from forgebench.detectors.clue.model import CLUE

FORMAT = "forgebench-clue-state/1"


@dataclass(frozen=True)
class Progress:
    """Where a training stands; saved with the tensors, so that a resumed run continues exactly."""

    epoch: int = 0
    """Epochs completed."""
    step: int = 0
    """Optimizer steps taken."""
    best_f1: float = -1.0
    """The best validation F1 so far (``best.safetensors`` holds that model)."""
    batch: int = 0
    """Micro-batches of the current epoch already trained (0 at an epoch's end)."""
    sums: dict[str, float] = field(default_factory=dict)
    """The current epoch's loss sums over those micro-batches (for its ``log.csv`` row)."""
    log: tuple[dict[str, Any], ...] = ()
    """Every ``log.csv`` row so far: the log is rewritten from the state, so the two never disagree."""


def save_state(model: CLUE, optimizer: torch.optim.Optimizer, progress: Progress, path: Path) -> None:
    names = {id(p): name for name, p in model.trainable().items()}
    tensors = {f"model.{name}": p.detach().cpu().contiguous() for name, p in model.trainable().items()}
    groups = []
    for index, group in enumerate(optimizer.param_groups):
        settings = {k: v for k, v in group.items() if k != "params"}
        groups.append(settings | {"params": [names[id(p)] for p in group["params"]]})
        for parameter in group["params"]:
            for key, value in optimizer.state.get(parameter, {}).items():
                tensors[f"optimizer.{index}.{names[id(parameter)]}.{key}"] = value.detach().cpu().contiguous()
    metadata = {"format": FORMAT, "progress": json.dumps(dataclasses.asdict(progress)), "groups": json.dumps(groups)}
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, partial, metadata=metadata)
    partial.replace(path)


def load_state(model: CLUE, optimizer: torch.optim.Optimizer, path: Path) -> Progress:
    """Restore tensors and AdamW moments saved by :func:`save_state`; returns the progress counters."""
    metadata, tensors = read_tagged(path, FORMAT, "CLUE training state")
    restore(model, {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    names = {id(p): name for name, p in model.trainable().items()}
    groups = json.loads(metadata["groups"])
    current = [[names[id(p)] for p in group["params"]] for group in optimizer.param_groups]
    if [g["params"] for g in groups] != current:
        raise CheckpointError(f"{path}: its optimizer groups do not match this run's trainable parameters")
    state, param_groups, position = {}, [], 0
    for index, saved in enumerate(groups):
        param_groups.append({k: tuple(v) if k == "betas" else v for k, v in saved.items() if k != "params"})
        param_groups[-1]["params"] = list(range(position, position + len(saved["params"])))
        for name in saved["params"]:
            prefix = f"optimizer.{index}.{name}."
            moments = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            if moments:
                state[position] = moments
            position += 1
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})
    saved = json.loads(metadata["progress"])
    return Progress(**(saved | {"log": tuple(saved.get("log", ()))}))
