"""Where forgebench reads data and writes caches and results (environment, never source edits)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Generated caches (synthetic suite, …): ``$FORGEBENCH_HOME``, else ``$XDG_CACHE_HOME/forgebench``."""
    if "FORGEBENCH_HOME" in os.environ:
        return Path(os.environ["FORGEBENCH_HOME"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return cache / "forgebench"


def data_root(override: Path | None = None) -> Path:
    """Benchmark data: ``--data-root``, else ``$FORGEBENCH_DATA``, else ``<home>/data``."""
    if override is not None:
        return override.expanduser()
    if "FORGEBENCH_DATA" in os.environ:
        return Path(os.environ["FORGEBENCH_DATA"]).expanduser()
    return home() / "data"


def results_dir(override: Path | None = None) -> Path:
    """Results store: ``--results``, else ``$FORGEBENCH_RESULTS``, else ``<home>/results``."""
    if override is not None:
        return override.expanduser()
    if "FORGEBENCH_RESULTS" in os.environ:
        return Path(os.environ["FORGEBENCH_RESULTS"]).expanduser()
    return home() / "results"
