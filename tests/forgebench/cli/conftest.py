"""The ``cli`` fixture: run forgebench commands in-process with a wide console."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from forgebench.cli import app


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke
