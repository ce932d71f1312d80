"""Short, unique names for detector configurations in tables, plots and comparisons.

A configuration is named by the label its run was given (``--label``), else by its detector name plus the options
that differ from the defaults: a file path becomes ``@`` and the file's stem (its folder's name where the stem says
nothing, as ``best`` does), other options ``[key=value,…]``. Where two configurations would share a label, the
fingerprint's first characters tell them apart. The full configuration stays in the store, the long CSV and the
Markdown notes (``Cell.configuration``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from forgebench.evaluation.store import Evaluation

GENERIC_STEMS = frozenset(
    {"best", "last", "latest", "final", "model", "checkpoint", "ckpt", "weights", "pytorch_model", "model_best"}
)
"""File stems that do not tell checkpoints apart; their folder's name is shown instead."""

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin", ".tar", ".pkl", ".h5", ".onnx", ".npz")
MAX_LABEL = 60
FORBIDDEN = "|\n\r\t"
"""Characters a label may not hold: they would break a Markdown table row or a terminal line."""


class LabelError(ValueError):
    """A label that cannot name a configuration."""


def checked_label(label: str) -> str:
    """``label`` if it can name a configuration in every table; else :class:`LabelError` saying why."""
    if not label or label != label.strip():
        raise LabelError(f"label {label!r}: give a non-empty name without spaces around it")
    if len(label) > MAX_LABEL:
        raise LabelError(f"label {label!r}: at most {MAX_LABEL} characters (it heads a table row), got {len(label)}")
    if bad := sorted({c for c in label if c in FORBIDDEN}):
        raise LabelError(f"label {label!r}: may not contain {', '.join(map(repr, bad))}")
    return label


def default_label(detector: str, changed: Mapping[str, object]) -> str:
    """``detector@stem[key=value,…]`` from the options that differ from the defaults."""
    paths = [_stem(str(value), detector) for value in changed.values() if is_path(value)]
    others = [f"{key}={value}" for key, value in changed.items() if not is_path(value)]
    return detector + "".join(f"@{stem}" for stem in paths) + (f"[{','.join(others)}]" if others else "")


def is_path(value: object) -> bool:
    return isinstance(value, str) and ("/" in value or "\\" in value or value.lower().endswith(WEIGHT_SUFFIXES))


def _stem(value: str, detector: str) -> str:
    path = PurePosixPath(value.replace("\\", "/"))
    stem = path.name.split(".")[0] or path.name
    if stem.lower() in GENERIC_STEMS and path.parent.name:
        stem = path.parent.name
    for separator in "-_":
        if stem.startswith(detector + separator) and len(stem) > len(detector) + 1:
            return stem[len(detector) + 1 :]
    return stem


def configuration_labels(evaluations: Iterable[Evaluation], given: Mapping[str, str]) -> dict[str, str]:
    """Fingerprint → label, unique among ``evaluations``; ``given`` holds the labels runs were given by name.

    Of several configurations sharing a label, one the user named keeps it (if only one was); the others get
    ``#`` and their fingerprint's first 8 characters.
    """
    chosen: dict[str, str] = {}
    for e in evaluations:
        if e.fingerprint not in chosen:
            chosen[e.fingerprint] = given.get(e.fingerprint) or default_label(
                e.detector, e.manifest.get("changed_options", {})
            )
    groups: dict[str, list[str]] = {}
    for fingerprint, label in chosen.items():
        groups.setdefault(label, []).append(fingerprint)
    for label, fingerprints in groups.items():
        named = [fp for fp in fingerprints if given.get(fp) == label]
        keeps = named[0] if len(fingerprints) > 1 and len(named) == 1 else None
        for fingerprint in fingerprints if len(fingerprints) > 1 else ():
            if fingerprint != keeps:
                chosen[fingerprint] = f"{label}#{fingerprint[:8]}"
    return chosen
