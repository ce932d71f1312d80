"""Shared fixtures: an isolated forgebench home for every test; one torch thread where tiny models run."""

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


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest on one thread, and many times slower when torch's threads compete for the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
