"""``leaderboard --protocol`` and ``explain`` on stored results: tables, files and the reported-number check."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

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
    with_ci = cli("leaderboard", "--protocol", "trufor", "--ci", "--resamples", "200", "--results", results)
    assert with_ci.exit_code == 0, with_ci.output
    bounded = pd.read_csv(results / "leaderboard-trufor.csv").set_index("Detector")
    pd.testing.assert_frame_equal(bounded[table.columns], table)  # the same values, now with their bounds
    for column in table.columns:
        assert (bounded[f"{column} low"] <= table[column]).all() and (table[column] <= bounded[f"{column} high"]).all()
    markdown = (results / "leaderboard-trufor.md").read_text()
    assert f"{table.iloc[0, 0]:.3f} [{bounded.iloc[0, 1]:.3f}, {bounded.iloc[0, 2]:.3f}]" in markdown
    assert "Intervals: 95% percentile bootstrap over images (200 resamples, seed 0)" in markdown
    refused = cli("leaderboard", "--protocol", "trufor", "--reference", "clue-table1", "--results", results)
    assert refused.exit_code == 2 and "forgebench explain DETECTOR --reference" in refused.output


def test_explain_puts_every_protocol_side_by_side_and_finds_the_reported_number(cli, results):
    plain = cli("leaderboard", "--results", results)
    assert plain.exit_code == 0
    clue = pd.read_csv(results / "leaderboard.csv").set_index("Detector").loc["ela", "Weighted Avg. F1"]
    explained = cli("explain", "ela", "--reported", f"{clue:.4f}", "--tolerance", "0.0001", "--results", results)
    assert explained.exit_code == 0, explained.output
    for name in ("clue", "trufor", "imdlbenco", "pooled", "mediscore", "best-image", "best-dataset"):
        assert f"│ {name} " in explained.output
    table = pd.read_csv(results / "explain-ela.csv").set_index("Protocol")
    assert table.at["clue", "Average"] == pytest.approx(clue, abs=1e-12)
    assert table.at["mediscore", "metric"] == "MCC" and table.at["imdlbenco", "averaged"] == "unweighted"
    verdict = _rows(results / "explain-ela.md", "Which protocol gives the reported")
    assert verdict["Average"][1] == "clue" or verdict["Average"][1].startswith("clue, ")
    missing = cli("explain", "noi1", "--results", results)
    assert missing.exit_code == 2 and "no stored results of 'noi1'" in missing.output


def _rows(markdown, heading: str) -> dict[str, list[str]]:
    """The rows of the Markdown table that follows ``heading``: first cell → the other cells."""
    section = markdown.read_text(encoding="utf-8").split(heading)[1].split("\n\n")[1]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines()[2:]]
    return {row[0]: row[1:] for row in cells}


def test_explain_finds_the_protocol_behind_each_number_of_a_reference_table(cli, results, tmp_path):
    """A reviewer's table whose numbers are this run's under trufor, rounded to 4 places: every dataset and the
    average are explained by trufor (and only by F1 protocols); a table without the detector is refused."""
    assert cli("leaderboard", "--protocol", "trufor", "--results", results).exit_code == 0
    trufor = pd.read_csv(results / "leaderboard-trufor.csv").set_index("Detector").loc["ela"]
    datasets = ["syn-splice", "syn-copymove", "syn-removal"]
    reference = tmp_path / "table.yaml"
    reference.write_text(yaml.safe_dump({
        "source": "A paper, Table 9", "datasets": datasets,
        "rows": {"Their ELA": {
            "detector": "ela", "f1": [round(float(trufor[f"{d} F1"]), 4) for d in datasets],
            "reported": {"f1": round(float(trufor["Weighted Avg. F1"]), 4)},
        }},
    }), encoding="utf-8")  # fmt: skip
    explained = cli("explain", "ela", "--reference", reference, "--tolerance", "0.0001", "--results", results)
    assert explained.exit_code == 0, explained.output
    verdict = _rows(results / "explain-ela.md", "Which protocol gives Their ELA's F1 in A paper, Table 9?")
    assert list(verdict) == [*datasets, "Average"]
    for dataset in datasets:
        assert "trufor" in verdict[dataset][1].split(", ") and verdict[dataset][2] == "trufor", dataset
        assert float(verdict[dataset][3]) == pytest.approx(trufor[f"{dataset} F1"], abs=5e-4)
    assert "trufor" in verdict["Average"][1].split(", ")
    wider = yaml.safe_load(reference.read_text(encoding="utf-8"))
    wider["datasets"].append("casia1")
    wider["rows"]["Their ELA"]["f1"].append(0.5)
    reference.write_text(yaml.safe_dump(wider), encoding="utf-8")
    assert cli("explain", "ela", "--reference", reference, "--results", results).exit_code == 0
    markdown = (results / "explain-ela.md").read_text(encoding="utf-8")
    assert "its average is not compared: the explained datasets (syn-splice, syn-copymove, syn-removal)" in markdown
    assert list(_rows(results / "explain-ela.md", "Which protocol gives Their ELA's F1 in")) == datasets
    other = cli("explain", "all-forged", "--reference", reference, "--results", results)
    assert other.exit_code == 2 and "reports no row on 'all-forged'" in " ".join(other.output.split())


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
