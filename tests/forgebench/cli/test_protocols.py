"""``leaderboard --protocol`` and ``explain`` on stored results: tables, files and the reported-number check."""

from __future__ import annotations

import pandas as pd
import pytest

from forgebench.cli import jobs


@pytest.fixture
def results(cli, tmp_path):
    folder = tmp_path / "r"
    for detector in ("all-forged", "ela"):
        ran = cli("run", detector, "--suite", "synthetic", "--limit", "8", "--results", folder)
        assert ran.exit_code == 0, ran.output
    return folder


def test_leaderboard_under_a_protocol_rescores_and_writes_its_files(cli, results, monkeypatch):
    monkeypatch.setattr(jobs, "run_job", lambda *a, **k: pytest.fail("a detector was called"))
    board = cli("leaderboard", "--protocol", "trufor", "--results", results)
    assert board.exit_code == 0, board.output
    assert "Leaderboard under protocol trufor: TruFor" in board.output
    assert "Re-scored from the stored maps; no detector was called." in board.output
    table = pd.read_csv(results / "leaderboard-trufor.csv").set_index("Detector")
    assert list(table.columns) == ["syn-splice F1", "syn-copymove F1", "syn-removal F1", "Weighted Avg. F1"]
    default = (
        pd.read_csv(results / "leaderboard.csv").set_index("Detector")
        if (results / "leaderboard.csv").exists()
        else None
    )
    assert default is None or set(default.index) == set(table.index)
    assert "polarity: best-of-inverse" in (results / "leaderboard-trufor.md").read_text()
    unknown = cli("leaderboard", "--protocol", "trufr", "--results", results)
    assert unknown.exit_code == 2 and "trufor" in unknown.output


def test_explain_puts_every_protocol_side_by_side_and_finds_the_reported_number(cli, results):
    plain = cli("leaderboard", "--results", results)
    assert plain.exit_code == 0
    clue = pd.read_csv(results / "leaderboard.csv").set_index("Detector").loc["ela", "Weighted Avg. F1"]
    explained = cli("explain", "ela", "--reported", f"{clue:.4f}", "--tolerance", "0.0001", "--results", results)
    assert explained.exit_code == 0, explained.output
    for name in ("clue", "trufor", "imdlbenco", "pooled", "mediscore", "best-image", "best-dataset"):
        assert f"│ {name} " in explained.output
    verdict = explained.output.split(f"Within 0.0001 of the reported {float(f'{clue:.4f}'):g}: ")[1].split(".\n")[0]
    assert "clue" in verdict.split(", ")
    missing = cli("explain", "noi1", "--results", results)
    assert missing.exit_code == 2 and "no stored results of 'noi1'" in missing.output


def test_compare_under_a_protocol_pairs_its_per_image_values(cli, results):
    assert cli("leaderboard", "--protocol", "trufor", "--results", results).exit_code == 0
    board = pd.read_csv(results / "leaderboard-trufor.csv").set_index("Detector")
    shown = cli("compare", "ela", "all-forged", "--protocol", "trufor", "--resamples", "200", "--results", results)
    assert shown.exit_code == 0, shown.output
    assert "under protocol trufor (re-scored from the stored maps)" in " ".join(shown.output.split())
    table = pd.read_csv(results / "compare-ela-vs-all-forged-f1-trufor.csv").set_index("dataset")
    for dataset in ("syn-splice", "syn-copymove", "syn-removal"):
        assert table.loc[dataset, "ela F1"] == pytest.approx(board.loc["ela", f"{dataset} F1"], abs=1e-12)
        assert table.loc[dataset, "all-forged F1"] == pytest.approx(board.loc["all-forged", f"{dataset} F1"], abs=1e-12)
    pooled = cli("compare", "ela", "all-forged", "--protocol", "pooled", "--results", results)
    assert pooled.exit_code == 2 and "no value per image" in pooled.output
