"""Reported numbers beside measured ones: CLUE Table 1 as data, and measured − reported F1 per matching detector."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forgebench.analysis import leaderboard
from forgebench.analysis.reference import load_reference
from forgebench.data.catalog import load_catalog
from forgebench.evaluation.store import Store
from forgebench.render.tables import leaderboard_markdown, write_leaderboard

TABLE1 = load_reference("clue-table1")


def test_clue_table1_rows_are_the_papers():
    frame = TABLE1.frame().set_index("Detector")
    assert list(TABLE1.datasets) == list(load_catalog().suite("all"))
    assert (
        frame.at["CLUE (reported)", "casia1 F1"] == 0.847 and frame.at["CLUE (reported)", "Weighted Avg. F1"] == 0.733
    )
    assert frame.at["MVSS-Net (reported)", "autosplice IoU"] == 0.213
    assert {row.method: row.detector for row in TABLE1.rows}["TruFor"] == "trufor"


def test_an_unknown_reference_suggests_the_known_one():
    with pytest.raises(LookupError, match="Did you mean 'clue-table1'"):
        load_reference("clue-tabel1")


def test_gaps_per_dataset_and_the_average_only_over_the_whole_table(tmp_path, scores):
    with Store(tmp_path / "partial") as store:
        scores(store, "mvssnet", "casia1", [0.5, 0.3])
        scores(store, "ela", "casia1", [0.9])
        partial = leaderboard.build(store, load_catalog(), ["casia1"])
    gaps = TABLE1.gaps(partial).set_index("Detector")
    assert list(gaps.index) == ["mvssnet"] and gaps.at["mvssnet", "reported as"] == "MVSS-Net"
    assert gaps.at["mvssnet", "casia1 ΔF1"] == pytest.approx(0.4 - 0.432)
    assert gaps[["columbia ΔF1", "Weighted Avg. ΔF1"]].isna().all(axis=None)
    with Store(tmp_path / "full") as store:
        for dataset, value in zip(TABLE1.datasets, [0.8, 0.9, 0.5, 0.6, 0.6, 0.7, 0.7, 0.7, 0.6], strict=True):
            scores(store, "clue", dataset, [value])
        full = leaderboard.build(store, load_catalog(), list(TABLE1.datasets))
    measured = full.wide().set_index("Detector").at["clue", "Weighted Avg. F1"]
    assert TABLE1.gaps(full).set_index("Detector").at["clue", "Weighted Avg. ΔF1"] == pytest.approx(measured - 0.733)


def test_markdown_and_csv_mark_reported_rows(tmp_path, scores):
    with Store(tmp_path) as store:
        scores(store, "mvssnet", "casia1", [0.5])
        board = leaderboard.build(store, load_catalog(), ["casia1"])
    text = leaderboard_markdown(board, TABLE1)
    assert "## Reported in CLUE Table 1 (Wang et al., arXiv 2508.07413) (not measured here)" in text
    assert "| MVSS-Net (reported) | 0.432 |" in text and "## Measured − reported F1" in text
    assert "| mvssnet | MVSS-Net | 0.068 |" in text
    written = write_leaderboard(board, tmp_path / "out", TABLE1)
    assert written[-1].name == "leaderboard-reported.csv" and "CLUE (reported)" in written[-1].read_text()
    assert "(reported)" not in leaderboard_markdown(board)


def test_mvssnet_readme_reports_f1_only_and_its_gaps_have_no_average(tmp_path, scores):
    readme = load_reference("mvssnet-readme")
    frame = readme.frame().set_index("Detector")
    assert list(frame.columns) == ["casia1 F1", "columbia F1", "coverage F1", "imd2020 F1"]
    assert (
        frame.at["MVSS-Net (reported)", "coverage F1"] == 0.453
        and frame.at["MVSS-Net++ (reported)", "imd2020 F1"] == 0.27
    )
    with Store(tmp_path) as store:
        scores(store, "mvssnet", "columbia", [0.7, 0.5])
        board = leaderboard.build(store, load_catalog(), ["columbia"])
    gaps = readme.gaps(board).set_index("Detector")
    assert list(gaps.columns) == ["reported as", "casia1 ΔF1", "columbia ΔF1", "coverage ΔF1", "imd2020 ΔF1"]
    assert gaps.at["mvssnet", "columbia ΔF1"] == pytest.approx(0.6 - 0.638)
    text = leaderboard_markdown(board, readme)
    assert "| MVSS-Net++ (reported) | 0.513 | 0.660 | 0.482 | 0.270 |" in text
    with Store(tmp_path / "elsewhere") as store:
        scores(store, "mvssnet", "nist16", [0.7])
        elsewhere = leaderboard.build(store, load_catalog(), ["nist16"])
    assert readme.gaps(elsewhere).empty  # measured on no dataset the table reports


def test_a_table_of_ones_own_is_read_from_yaml_and_a_gap_skips_what_it_does_not_report(tmp_path, scores):
    table = tmp_path / "mine.yaml"
    table.write_text(
        "source: A paper, Table 3\ndatasets: [casia1, columbia]\n"
        "rows:\n  Mine: {detector: ela, f1: [0.61, null], reported: {f1: 0.6}}\n",
        encoding="utf-8",
    )
    mine = load_reference(str(table))
    assert (mine.name, mine.source, mine.datasets) == ("mine.yaml", "A paper, Table 3", ("casia1", "columbia"))
    assert mine.rows[0].f1 == {"casia1": 0.61, "columbia": None} and mine.rows[0].average == (0.6, None)
    with Store(tmp_path / "r") as store:
        scores(store, "ela", "casia1", [0.5])
        scores(store, "ela", "columbia", [0.7])
        board = leaderboard.build(store, load_catalog(), ["casia1", "columbia"])
    gaps = mine.gaps(board).set_index("Detector")
    assert gaps.at["ela", "casia1 ΔF1"] == pytest.approx(0.5 - 0.61) and pd.isna(gaps.at["ela", "columbia ΔF1"])
    table.write_text("datasets: [casia1]\nrows:\n  Mine: {f1: [0.1, 0.2]}\n", encoding="utf-8")
    with pytest.raises(LookupError, match=r"mine\.yaml: not a reference table \(zip\(\) argument 2 is longer"):
        load_reference(str(table))
    with pytest.raises(LookupError, match=r"absent\.yaml: not a reference table"):
        load_reference(str(tmp_path / "absent.yaml"))
    for values, message in (("['0.5']", "'0.5' is not a number"), ("[56.3]", r"56\.3 is not a fraction in \[0, 1\]")):
        table.write_text(f"datasets: [casia1]\nrows:\n  Mine: {{f1: {values}}}\n", encoding="utf-8")
        with pytest.raises(LookupError, match=rf"mine\.yaml: not a reference table \({message}"):
            load_reference(str(table))
    table.write_text("datasets: [casia1]\nrows:\n  Mine: {f1: [0.5], reported: {f1: null, iou: 0.4}}\n")
    assert load_reference(str(table)).rows[0].average is None  # no reported F1: no average to compare


def test_the_readme_reference_example_loads(tmp_path):
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\nsource: Their paper, Table 3\n", 1)[1].split("```", 1)[0]
    (tmp_path / "theirs.yaml").write_text("source: Their paper, Table 3\n" + example, encoding="utf-8")
    (row,) = load_reference(str(tmp_path / "theirs.yaml")).rows
    assert (row.method, row.detector, row.f1, row.average) == (
        "Their method",
        "ela",
        {"casia1": 0.61, "columbia": None},
        (0.65, 0.55),
    )
