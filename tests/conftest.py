"""Shared fixtures: an isolated forgebench home for every test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the user's cache, data and results folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("FORGEBENCH_HOME", str(home))
    monkeypatch.delenv("FORGEBENCH_DATA", raising=False)
    monkeypatch.delenv("FORGEBENCH_RESULTS", raising=False)
    return home
