"""Reading a deep baseline's official checkpoint as its authors publish it, without ever running pickled code.

Official files are torch pickles in several layouts: a raw state dict, or one nested under ``state_dict`` or
``model``, with ``module.`` prefixes left by DataParallel, and sometimes extra entries (an ``argparse.Namespace``
of training arguments, an epoch count). They are read with ``torch.load(weights_only=True)``, which builds only
tensors and plain containers, plus the explicit allow-list below; anything else is refused unexecuted. A
safetensors copy of the same tensors is read as well.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

ALLOWED_GLOBALS: tuple[type, ...] = (argparse.Namespace,)
"""Classes an official checkpoint may hold besides tensors (IML-ViT's training script pickles its arguments)."""
NESTED_KEYS = ("state_dict", "model")


class WeightsError(ValueError):
    """A checkpoint that is absent, unsafe, or does not fit the model."""


def read_official(
    path: Path | None, detector: str, published: str, option: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """The tensors of an official checkpoint (or of its safetensors copy), keys without ``module.`` prefixes.

    Parameters:
        path: The file, ``None`` when the user gave none.
        detector: Names the detector in errors.
        published: Where the authors publish the file, for the error when it is missing.
        option: The detector option that names the file.
    """
    if path is None:
        raise WeightsError(
            f"{detector} needs its official checkpoint: --option {option}=FILE (published at {published})"
        )
    if not path.is_file():
        raise WeightsError(f"{detector} checkpoint {path} not found (--option {option}=FILE; published at {published})")
    if path.suffix == ".safetensors":
        return load_file(path)
    try:
        with torch.serialization.safe_globals(list(ALLOWED_GLOBALS)):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise WeightsError(f"{path} is not a checkpoint forgebench reads without running code: {error}") from None
    state = _state_dict(loaded, path)
    return {key.removeprefix("module."): value for key, value in state.items()}


def load_strict(module: nn.Module, tensors: Mapping[str, torch.Tensor], origin: Path | str) -> None:
    """Copy ``tensors`` into ``module``: every key present, none extra, every shape equal, or an error naming them."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise WeightsError(f"{origin} does not fit the model: missing {_some(missing)}, unexpected {_some(unexpected)}")
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise WeightsError(
                f"{origin}: {key} has shape {tuple(value.shape)}, the model's is {tuple(expected[key].shape)}"
            )
    module.load_state_dict(dict(tensors), strict=True)


def file_digest(path: Path) -> str:
    """SHA-256 of a checkpoint file (part of the detector's fingerprint)."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def checkpoint_digest(options: Any) -> str | None:
    """A deep detector's ``DetectorPlugin.digest``: its ``checkpoint`` option's file digest, None without one."""
    return file_digest(options.checkpoint) if options.checkpoint else None


def save_copy(tensors: Mapping[str, torch.Tensor], path: Path) -> Path:
    """A safetensors copy of an official checkpoint's tensors (``read_official`` reads it back unchanged)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: value.contiguous() for key, value in tensors.items()}, path)
    return path


def _state_dict(loaded: object, path: Path) -> Mapping[str, torch.Tensor]:
    state = loaded
    for key in NESTED_KEYS:
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(
            f"{path} holds no state dict of tensors (looked at the top and under {', '.join(NESTED_KEYS)})"
        )
    return state


def _some(keys: Sequence[str]) -> str:
    return "none" if not keys else ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
