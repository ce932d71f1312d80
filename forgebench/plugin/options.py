"""Turning ``key=value`` strings from the command line into a plugin's options dataclass."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class OptionError(ValueError):
    """An option name or value that the plugin does not accept."""


def parse_options(options_type: type, pairs: Iterable[str], owner: str) -> Any:
    """Build ``options_type`` from ``["k=v", ...]``; unknown keys and bad values raise :class:`OptionError`."""
    hints = typing.get_type_hints(options_type)
    fields = {f.name for f in dataclasses.fields(options_type)}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise OptionError(f"Option {pair!r} for {owner} is not of the form key=value")
        if key not in fields:
            raise OptionError(f"{owner} has no option {key!r}; options: {', '.join(sorted(fields)) or 'none'}")
        values[key] = _convert(hints[key], raw.strip(), f"{owner} option {key}")
    return options_type(**values)


def options_dict(options: Any) -> dict[str, Any]:
    """Options as JSON-ready plain values (paths as strings)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(options).items()}


def _convert(hint: Any, raw: str, what: str) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if raw.lower() in {"none", ""}:
            return None
        hint = args[0]
    if typing.get_origin(hint) is typing.Literal:
        if raw not in [str(a) for a in typing.get_args(hint)]:
            raise OptionError(f"{what} must be one of {', '.join(map(str, typing.get_args(hint)))}, got {raw!r}")
        return next(a for a in typing.get_args(hint) if str(a) == raw)
    try:
        if hint is bool:
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError(raw)
            return raw.lower() in _TRUE
        if hint in (int, float, str, Path):
            return hint(raw)
    except ValueError:
        raise OptionError(f"{what} expects {hint.__name__}, got {raw!r}") from None
    raise OptionError(f"{what} has unsupported type {hint!r}")
