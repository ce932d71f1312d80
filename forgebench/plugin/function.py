"""A plain Python function as a detector plugin: what ``forgebench.evaluate`` registers for one call.

The function maps H×W×3 uint8 RGB to an H×W map of P(forged) in [0, 1] (a NumPy array, a tensor, a
:class:`Prediction`, or a ``(map, score)`` pair); with ``batch=True`` it takes a list of images and returns a list.
A function has no weight file, so the configuration's digest is made of its code and the ``version`` its author
gives: editing the code makes a new configuration, and ``version`` names what the code does not show (the weights
a closure holds, a helper function it calls).
"""

from __future__ import annotations

import hashlib
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, ImageInput, Prediction

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")

Function = Callable[[Any], Any]
"""``(H×W×3 uint8) → H×W map`` or, in batch form, ``(list of images) → list of maps``."""


@dataclass(frozen=True)
class NoOptions:
    """A function takes no ``key=value`` options: its own arguments are fixed in Python."""


def function_plugin(function: Function, name: str, version: str | None = None, batch: bool = False) -> DetectorPlugin:
    """A detector plugin that calls ``function``.

    Parameters:
        function: The function, or any callable object (for an object, its class's ``forward`` or ``__call__``
            code is digested).
        name: The detector name the results are filed under: letters, digits and ``._+-``.
        version: Anything that changes the function's output without changing its code (a weights file's hash, a
            model revision). Required when the function's code cannot be read (a ``functools.partial``).
        batch: Whether ``function`` takes a list of images and returns a list of maps.
    """
    if not NAME.fullmatch(name):
        raise ValueError(f"name {name!r}: use letters, digits and . _ + - (it names the detector in the store)")
    code = code_digest(function)
    if code is None and version is None:
        raise ValueError(f"{name}: the code of {function!r} cannot be read; give version='…' to name what it computes")
    digest = ", ".join([f"code {code}"] * bool(code) + [f"version {version}"] * bool(version))
    where = getattr(function, "__qualname__", type(function).__qualname__)
    summary = f"Python function {getattr(function, '__module__', None) or '?'}.{where}"
    card = DetectorCard(name=name, summary=summary, weights="none (a Python function)")
    return DetectorPlugin(
        card=card,
        options=NoOptions,
        build=lambda options, device: FunctionDetector(function, batch, digest),
        digest=lambda options: digest,
    )


class FunctionDetector(Detector):
    """Calls the function on each image (or on the batch, in batch form) and checks what comes back."""

    def __init__(self, function: Function, batch: bool, digest: str) -> None:
        self.function = function
        self.batch = batch
        self.weights_digest = digest

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        images = [item.pixels for item in batch]
        outputs = list(self.function(images)) if self.batch else [self.function(image) for image in images]
        if len(outputs) != len(batch):
            raise ValueError(f"the function returned {len(outputs)} maps for a batch of {len(batch)} images")
        return [as_prediction(output) for output in outputs]


def as_prediction(output: Any) -> Prediction:
    """A function's answer as a :class:`Prediction`; the runner then checks the map's shape and range."""
    if isinstance(output, Prediction):
        return output
    if isinstance(output, tuple) and len(output) == 2:
        return Prediction(_array(output[0]), None if output[1] is None else float(output[1]))
    return Prediction(_array(output))


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, on any device
        value = value.detach().float().cpu().numpy()
    array = np.asarray(value)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    return array.astype(np.float32) if array.dtype.kind == "f" and array.dtype != np.float64 else array


def code_digest(function: Function) -> str | None:
    """SHA-256 (16 hex) of the function's compiled code, stable across processes; None where there is none."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is None:
        method = getattr(type(function), "forward", None) or type(function).__call__
        code = getattr(method, "__code__", None)
    return None if code is None else hashlib.sha256(_code_bytes(code)).hexdigest()[:16]


def _code_bytes(code: types.CodeType) -> bytes:
    """Instructions, names and constants (nested code included); not line numbers or the file's name."""
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    parts += [_constant_bytes(constant) for constant in code.co_consts]
    return b"\0".join(parts)


def _constant_bytes(constant: object) -> bytes:
    if isinstance(constant, types.CodeType):
        return _code_bytes(constant)
    if isinstance(constant, frozenset):  # its order follows string hashing, which differs between processes
        return b"{" + b",".join(sorted(_constant_bytes(c) for c in constant)) + b"}"
    if isinstance(constant, tuple):
        return b"(" + b",".join(_constant_bytes(c) for c in constant) + b")"
    return repr(constant).encode()
