"""The plugin contract: what a detector or perturbation receives and must return.

A detector plugin is a :class:`DetectorPlugin` object exposed through the entry-point group
``forgebench.detectors``; a perturbation plugin is a :class:`PerturbationPlugin` exposed through
``forgebench.perturbations``. The core only ever talks to these types.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ImageInput:
    """One image handed to a detector.

    ``pixels`` is H×W×3 uint8 RGB (after any perturbation). ``image_id`` is
    ``<dataset>/<path relative to the dataset root>``; detectors may use it only to look up
    their own precomputed outputs, never to find the ground truth.
    """

    image_id: str
    pixels: np.ndarray
    source: bytes | None = None
    """The image file's bytes as stored, when ``pixels`` are its unperturbed decoding (None after a perturbation):
    for methods that read the encoding itself, such as a JPEG's quantised DCT coefficients."""


@dataclass(frozen=True)
class Prediction:
    """A detector's answer for one image.

    ``probability`` is a float32 (or float64) H×W map of P(forged) in [0, 1], at the input's size
    (maps of another size are accepted and resized to the ground truth by the scorer). ``score`` is
    an optional image-level P(forged) in [0, 1]. Anything else is recorded as an error for the image.
    """

    probability: np.ndarray
    score: float | None = None


@dataclass(frozen=True)
class DetectorCard:
    """Facts about a detector, printed by ``forgebench list detectors``."""

    name: str
    summary: str
    paper: str = ""
    licence: str = ""
    weights: str = "none (weight-free)"
    weights_hash: str = ""
    """The published weight file's hash where its authors give one (``md5:…``, ``sha256:…``), to compare with the
    SHA-256 that forgebench records as the configuration's weights digest."""
    reported: str = ""
    """The authors' own numbers, with the protocol they used (fixed threshold or best, which datasets)."""
    memory: str = ""
    """Peak memory per image, as measured, where it grows with the image size."""
    to_probability: str = ""
    devices: tuple[str, ...] = ("cpu",)
    version: str = "1"
    reads_pixels: bool = True
    """False for detectors that look up precomputed outputs by image id; they cannot be perturbed."""


class Detector(abc.ABC):
    """A built detector, ready to run on batches: what ``DetectorPlugin.build`` returns.

    Subclasses implement :meth:`predict` and may override the optional capabilities below, whose defaults suit a
    weight-free method that runs one batch at a time; the runner reads them as plain attributes.

    Attributes:
        weights_digest: SHA-256 of the weights in use (None for weight-free methods); part of the fingerprint that
            names a configuration in the store. A class attribute, a property or a cached property.
        batches_in_flight: How many ``predict`` calls the runner may make at once from different threads (1 to 4).
            A thread-safe detector that waits on a device sets 2, so that one batch's host work (resizing, copies,
            reading the maps back) overlaps the device's work on the other.
    """

    weights_digest: str | None = None
    batches_in_flight: int = 1

    @abc.abstractmethod
    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        """Return one :class:`Prediction` per input, in order. Never sees ground truth."""


@dataclass(frozen=True)
class DetectorPlugin:
    """What the ``forgebench.detectors`` entry point names.

    Parameters:
        card: The facts ``forgebench list detectors`` prints; ``card.name`` names the detector in tables.
        options: A frozen dataclass whose fields, all with defaults, are the detector's options
            (``--option key=value`` on the command line, converted by :mod:`forgebench.plugin.options`).
        build: ``build(options, device)`` returns a :class:`Detector`; ``device`` is ``"cpu"``, ``"cuda"`` or
            ``"cuda:N"``, chosen among ``card.devices``. A missing weight file or bad option raises ``ValueError``
            (or ``FileNotFoundError``) naming the option to set.
        digest: Optional: the built detector's ``weights_digest`` computed from the options alone. Detectors whose
            build is costly give it, so that a run (or sweep) whose images are all recorded builds nothing.
    """

    card: DetectorCard
    options: type
    build: Callable[[Any, str], Detector]
    digest: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class TrainerPlugin:
    """What the ``forgebench.trainers`` entry point names: ``forgebench train NAME`` calls it.

    Parameters:
        name: The detector the trained checkpoints are for (``--option checkpoint=FILE`` of that detector).
        summary: One line for ``forgebench list``.
        train: ``train(config_file, overrides)`` reads a YAML config (None: the defaults) plus ``key=value``
            overrides and returns the checkpoint it wrote. Bad settings raise ``ValueError`` naming the key.
        demo: Optional: ``demo(cache)`` trains a small model on the synthetic suite once under ``cache`` and returns
            its checkpoint; ``forgebench demo`` then ranks that detector with the baselines.
    """

    name: str
    summary: str
    train: Callable[[Path | None, Sequence[str]], Path]
    demo: Callable[[Path], Path] | None = None


@dataclass(frozen=True)
class PerturbationPlugin:
    """What the ``forgebench.perturbations`` entry point names.

    Parameters:
        name: The name specs use (``jpeg`` in ``jpeg:q=70``).
        summary: One line for ``forgebench list perturbations``.
        params: A frozen dataclass whose ``__post_init__`` refuses bad values with ``ValueError``. Fields left at
            ``None`` mean "not given" and are left out of the canonical id; a spec may give the first field's value
            without its name (``osn:wechat``).
        apply: ``apply(pixels, params, rng)`` maps H×W×3 uint8 RGB to uint8 RGB of any size. Deterministic
            perturbations ignore ``rng``; random ones draw only from it (seeded per image, see the README).
        stochastic: Whether ``apply`` draws from ``rng``: a constant, or a function of the params.
        aliases: Other spellings of a parameter (``quality``) mapped to its field (``q``).
        details: What each setting does and where its values come from, printed by ``forgebench list``.
    """

    name: str
    summary: str
    params: type
    apply: Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]
    stochastic: bool | Callable[[Any], bool] = False
    """Whether ``apply`` draws from ``rng``: a constant, or a function of the params for plugins where it depends."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    details: str = ""


@dataclass(frozen=True)
class PerturbationStep:
    """One configured perturbation: a plugin name and its parameter values."""

    name: str
    params: Any = field(default=None)

    @property
    def canonical_id(self) -> str:
        """``name(k=v,...)`` with the given parameters in declared order, or ``name`` when none is given."""
        given = [(f.name, getattr(self.params, f.name)) for f in dataclasses.fields(self.params or _Empty())]
        values = ",".join(f"{key}={value}" for key, value in given if value is not None)
        return f"{self.name}({values})" if values else self.name


@dataclass(frozen=True)
class _Empty:
    """Parameters of a step that has none."""
