"""Lazy plugin registries fed by entry points.

Entries are ``"module:attribute"`` references, imported only when a plugin is chosen. Built-in
plugins are declared in forgebench's own ``pyproject.toml`` under the same entry-point groups a
third-party package uses, so they are found the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from forgebench.plugin.contract import DetectorPlugin, PerturbationPlugin, TrainerPlugin
from forgebench.plugin.suggest import unknown_name

T = TypeVar("T")

DETECTOR_GROUP = "forgebench.detectors"
PERTURBATION_GROUP = "forgebench.perturbations"
TRAINER_GROUP = "forgebench.trainers"


class UnknownPluginError(LookupError):
    """Raised for a plugin name that no entry point declares."""


class Registry(Generic[T]):
    """Name → plugin, resolved lazily from ``"module:attribute"`` references."""

    def __init__(self, group: str, kind: type[T]) -> None:
        self.group = group
        self.kind = kind
        self._refs: dict[str, str] = {}
        self._loaded: dict[str, T] = {}
        self._scanned = False

    def register(self, name: str, ref: str | T) -> None:
        """Add a plugin by reference (``"pkg.mod:OBJ"``) or by object; replaces an entry of that name."""
        self._loaded.pop(name, None)
        if isinstance(ref, str):
            self._refs[name] = ref
        else:
            self._refs[name] = f"<object {name}>"
            self._loaded[name] = self._checked(name, ref)

    @contextmanager
    def registered(self, name: str, plugin: T) -> Iterator[None]:
        """``plugin`` under ``name`` for the ``with`` block only; refused where ``name`` is another plugin's."""
        self._scan()
        if name in self._refs:
            if self.get(name) is not plugin:
                kind = self.group.split(".")[-1].rstrip("s")
                raise ValueError(f"{kind} name {name!r} is taken by {self._refs[name]}; choose another name")
            yield  # already registered as it is
            return
        self.register(name, plugin)
        try:
            yield
        finally:
            self._refs.pop(name, None)
            self._loaded.pop(name, None)

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._refs)

    def get(self, name: str) -> T:
        self._scan()
        if name not in self._refs:
            raise UnknownPluginError(unknown_name(self.group.split(".")[-1].rstrip("s"), name, self._refs))
        if name not in self._loaded:
            module_name, _, attribute = self._refs[name].partition(":")
            obj = importlib.import_module(module_name)
            for part in attribute.split("."):
                obj = getattr(obj, part)
            self._loaded[name] = self._checked(name, obj)
        return self._loaded[name]

    def __iter__(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self.get(name)

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for entry in entry_points(group=self.group):
            self._refs.setdefault(entry.name, entry.value)

    def _checked(self, name: str, obj: object) -> T:
        if not isinstance(obj, self.kind):
            raise TypeError(
                f"Entry point {name!r} in group {self.group!r} is a {type(obj).__name__}, "
                f"expected a {self.kind.__name__}"
            )
        return obj


detectors: Registry[DetectorPlugin] = Registry(DETECTOR_GROUP, DetectorPlugin)
perturbations: Registry[PerturbationPlugin] = Registry(PERTURBATION_GROUP, PerturbationPlugin)
trainers: Registry[TrainerPlugin] = Registry(TRAINER_GROUP, TrainerPlugin)
