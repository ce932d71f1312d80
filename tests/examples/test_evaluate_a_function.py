"""The notebook-style examples run as scripts, from a fresh folder, as a reader would run them."""

from __future__ import annotations

import runpy
from pathlib import Path

import pandas as pd

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_evaluate_a_function_runs_and_writes_its_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(EXAMPLES / "evaluate_a_function.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "noise-outliers: 48 calls" in printed  # 180 images in batches of 8, clean and under JPEG
    board = pd.read_csv(tmp_path / "example-results/leaderboard.csv").set_index("Detector")
    assert set(board.index) == {"noise-outliers", "ela"}  # written before the batch form ran
    assert namespace["comparison"].dataset.tolist()[-1] == "Weighted Avg."
    assert (tmp_path / "example-results/robustness-custom.md").is_file()
