"""From a detector name, ``key=value`` options and a device request to a built detector and its fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

from forgebench.plugin import registry
from forgebench.plugin.contract import Detector, DetectorPlugin
from forgebench.plugin.options import from_pairs, options_dict


@dataclass(frozen=True)
class Configured:
    """A plugin with parsed options and a resolved device, not built yet."""

    plugin: DetectorPlugin
    options: object
    device: str

    def build(self) -> Detector:
        """The built detector, refused unless it is a :class:`Detector` (the contract the runner relies on)."""
        built = self.plugin.build(self.options, self.device)
        if not isinstance(built, Detector):
            raise TypeError(
                f"detector {self.plugin.card.name}: build returned a {type(built).__name__}, not a subclass of "
                "forgebench.plugin.contract.Detector"
            )
        return built


def configure(name: str, option_pairs: Iterable[str] = (), device: str = "auto") -> Configured:
    """Look the detector up, parse its options and choose its device; raises before anything is built."""
    plugin = registry.detectors.get(name)
    options = from_pairs(plugin.options, option_pairs, f"detector {name}")
    return Configured(plugin=plugin, options=options, device=resolve_device(device, plugin))


def fingerprint(plugin: DetectorPlugin, options: object, weights_digest: str | None) -> str:
    """Stable id of a configured detector: name, card version, options and weights digest."""
    identity = {
        "name": plugin.card.name,
        "version": plugin.card.version,
        "options": options_dict(options),
        "weights": weights_digest,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def changed_options(plugin: DetectorPlugin, options: object) -> dict[str, object]:
    """The options that differ from the plugin's defaults (they name the configuration in tables)."""
    defaults = options_dict(plugin.options())
    return {k: v for k, v in options_dict(options).items() if v != defaults[k]}


def resolve_device(requested: str, plugin: DetectorPlugin) -> str:
    """``auto`` → the first device the detector supports that is available; explicit choices are checked."""
    supported = plugin.card.devices
    if requested == "auto":
        if "cuda" in supported and _cuda_available():
            local = os.environ.get("LOCAL_RANK")  # one GPU per process under accelerate launch / torchrun
            return f"cuda:{local}" if local is not None else "cuda"
        others = [d for d in supported if d != "cuda"]
        if not others:
            raise ValueError(f"Detector {plugin.card.name!r} needs a CUDA GPU and none is available")
        return others[0]
    if requested.split(":")[0] not in supported:
        raise ValueError(f"Detector {plugin.card.name!r} runs on {', '.join(supported)}, not {requested!r}")
    return requested


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
