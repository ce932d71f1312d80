"""forgebench: reproducible benchmarking of image-forgery localizers.

The Python API (:mod:`forgebench.api`) is imported on first use, so that ``import forgebench`` stays light::

    import forgebench
    results = forgebench.evaluate(my_function, name="mine", suite="synthetic")
    results.leaderboard()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Results", "evaluate"]

if TYPE_CHECKING:
    from forgebench.api import Results, evaluate


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("forgebench.api"), name)
    raise AttributeError(f"module 'forgebench' has no attribute {name!r}")
