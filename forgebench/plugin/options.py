"""The one converter from text and YAML to typed dataclasses: detector options, perturbation parameters, and the
settings of plugins that read YAML (CLUE's model and training configuration).

``key=value`` text from the command line and values read from YAML go through the same :func:`convert`, so a
setting means the same whichever way it was written: ``"none"`` or ``null`` for an optional value, ``yes``/``true``
for a flag, ``5e-3`` (which YAML reads as text) for a number, one of the listed choices for a ``Literal``.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class OptionError(ValueError):
    """An option or setting name or value that the dataclass does not accept."""


def from_pairs(kind: type, pairs: Iterable[str], owner: str) -> Any:
    """Build dataclass ``kind`` from ``["k=v", ...]`` (dashes in keys read as underscores).

    Parameters:
        kind: A dataclass whose fields all have defaults.
        pairs: ``key=value`` texts; a key given twice keeps its last value.
        owner: Names the plugin in errors (``detector ela``, ``perturbation jpeg``).

    Unknown keys, text without ``=`` and values that do not convert raise :class:`OptionError`.
    """
    names = {f.name for f in dataclasses.fields(kind)}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise OptionError(f"Option {pair!r} for {owner} is not of the form key=value")
        if key not in names:
            raise OptionError(f"{owner} has no option {key!r}; options: {', '.join(sorted(names)) or 'none'}")
        values[key] = raw.strip()
    return _build(kind, values, f"{owner} option ")


def from_mapping(kind: type, data: Any, where: str) -> Any:
    """Build dataclass ``kind`` from a nested mapping (YAML); nested dataclass fields take nested mappings.

    Parameters:
        kind: The dataclass to build; fields missing from ``data`` keep their defaults.
        data: The mapping, as ``yaml.safe_load`` returns it.
        where: Names the mapping in errors (a file, or ``model``); nested keys are reported as ``where.key``.

    Unknown keys and values that do not convert raise :class:`OptionError`.
    """
    if not isinstance(data, Mapping):
        raise OptionError(f"{where} must be a mapping, got {data!r}")
    names = [f.name for f in dataclasses.fields(kind)]
    unknown = set(data) - set(names)
    if unknown:
        raise OptionError(f"{where} has no setting {', '.join(sorted(unknown))}; settings: {', '.join(names)}")
    return _build(kind, dict(data), f"{where}.")


def settings_from(kind: type, file: Path | None, overrides: Iterable[str], what: str = "training config") -> Any:
    """``kind``'s defaults ← the YAML ``file`` ← ``key=value`` overrides (values parsed as YAML, keys dotted).

    Parameters:
        kind: The settings dataclass (nested dataclasses take nested mappings).
        file: A YAML mapping, or None for the defaults.
        overrides: ``key=value`` texts, as ``--set`` gives them; ``a.b=1`` sets ``b`` inside ``a``.
        what: Names the settings in errors when there is no file.

    A file that cannot be read or is not a mapping, a malformed override and a bad value raise ``ValueError``.
    """
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"cannot read {what} {file}: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{what} {file} must be a mapping")
    changes: dict[str, Any] = {}
    for pair in overrides:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ValueError(f"override {pair!r} is not of the form key=value")
        try:
            changes[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise ValueError(f"override {pair!r}: the value is not valid YAML ({error})") from None
    return from_mapping(kind, merge(data, changes), str(file) if file else what)


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in recursively; a key ``a.b`` means ``{"a": {"b": …}}``."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        head, _, rest = key.partition(".")
        if rest:
            value = {rest: value}
        if isinstance(value, Mapping) and isinstance(merged.get(head), Mapping):
            merged[head] = merge(merged[head], value)
        else:
            merged[head] = value
    return merged


def options_dict(options: Any) -> dict[str, Any]:
    """Options as JSON-ready plain values (paths as strings)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(options).items()}


def convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` (text, or a value YAML produced) as type ``hint``; raises :class:`OptionError` naming ``where``."""
    origin, args = typing.get_origin(hint), [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null", ""}):
            return None
        return convert(args[0], value, where)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if isinstance(value, bool) and value not in choices:  # YAML reads on/off and yes/no as booleans
            spellings = _TRUE if value else _FALSE
            value = next((c for c in choices if isinstance(c, str) and c.lower() in spellings), value)
        found = [c for c in choices if c == value or (isinstance(value, str) and str(c) == value)]
        if not found:
            raise OptionError(f"{where} must be one of {', '.join(map(str, choices))}, got {value!r}")
        return found[0]
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where)
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(value)
    if hint is Any or (origin is dict and isinstance(value, Mapping)):
        return value
    if hint is bool:
        return _flag(value, where)
    if hint in (int, float):
        return _number(hint, value, where)
    if hint in (str, Path) and isinstance(value, str | int | float) and not isinstance(value, bool):
        return hint(str(value))
    raise OptionError(f"{where} cannot be {value!r} (expects {getattr(hint, '__name__', hint)})")


def _build(kind: type, values: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(kind)
    return kind(**{name: convert(hints[name], value, f"{prefix}{name}") for name, value in values.items()})


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise OptionError(f"{where} must be true or false (yes/no, on/off, 1/0), got {value!r}")


def _number(kind: type, value: Any, where: str) -> Any:
    """Text (``"5e-3"``, which YAML leaves as text) or a number; an int setting takes only whole numbers."""
    what = "a whole number" if kind is int else "a number"
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value)
        if kind is int and not number.is_integer():
            raise ValueError(value)
    except (TypeError, ValueError):
        raise OptionError(f"{where} must be {what}, got {value!r}") from None
    return int(number) if kind is int else kind(value)
