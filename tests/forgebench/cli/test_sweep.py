"""``forgebench sweep``, ``leaderboard --by perturbation`` and ``plot`` on a tiny dataset."""

from __future__ import annotations

import sqlite3

from builders import pairs_dataset

GRID = """grids:
  small:
    title: Small grid
    source: test
    families:
      jpeg: {axis: quality, spec: "jpeg:q={}", values: [90, 50]}
      osn: {axis: platform, spec: "osn:{}", values: [wechat], labels: [Wc]}
"""


def test_second_sweep_makes_no_detector_call_and_writes_identical_tables(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data")
    grid = tmp_path / "small.yaml"
    grid.write_text(GRID, encoding="utf-8")
    results = tmp_path / "results"
    command = ("sweep", "ela", "all-forged", "--dataset", "tiny", "--grid", grid, "--catalog", catalog,
               "--results", results)  # fmt: skip
    first = cli(*command)
    assert first.exit_code == 0, first.output
    assert "total: 28 scored, 0 already recorded, 4 detector calls" in first.output  # 4 points × 7 images
    tables = {p.name: p.read_bytes() for p in results.glob("robustness-small.*")}
    assert set(tables) == {"robustness-small.md", "robustness-small.csv", "robustness-small.png"}
    rows = sqlite3.connect(results / "forgebench.sqlite").execute("SELECT count(*) FROM records").fetchone()[0]
    second = cli(*command)
    assert second.exit_code == 0, second.output
    assert second.output.count("total: 0 scored, 28 already recorded, 0 detector calls") == 2
    assert {p.name: p.read_bytes() for p in results.glob("robustness-small.*") if p.suffix != ".png"} == {
        name: data for name, data in tables.items() if not name.endswith(".png")
    }
    assert sqlite3.connect(results / "forgebench.sqlite").execute("SELECT count(*) FROM records").fetchone()[0] == rows
    markdown = tables["robustness-small.md"].decode()
    assert "| all-forged |" in markdown and "tiny Wc" in markdown and "| osn | Wc | osn(platform=wechat) |" in markdown


def test_leaderboard_by_perturbation_and_plot_read_the_store(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data")
    results = tmp_path / "results"
    ran = cli("run", "all-forged", "--dataset", "tiny", "--perturb", "jpeg:70", "--perturb", "clean",
              "--catalog", catalog, "--results", results)  # fmt: skip
    assert ran.exit_code == 0, ran.output
    board = cli("leaderboard", "--by", "perturbation", "--catalog", catalog, "--results", results)
    assert board.exit_code == 0, board.output
    assert "Robustness (custom)" in board.output and (results / "robustness-custom.png").is_file()
    one = cli("leaderboard", "--perturb", "jpeg(q=70,ss=420)", "--catalog", catalog, "--results", results)
    assert one.exit_code == 0 and "Perturbation: jpeg(q=70,ss=420)." in one.output
    plotted = cli("plot", "--grid", "osn", "--catalog", catalog, "--results", results, "--out", tmp_path / "p")
    assert plotted.exit_code == 0, plotted.output
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["robustness-osn.png"]
    osn = cli("leaderboard", "--by", "perturbation", "--grid", "osn", "--catalog", catalog, "--results", results)
    assert "all-forged under osn(platform=facebook) (not run)" in osn.output


def test_sweep_refuses_a_bad_spec_before_running(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data")
    result = cli("sweep", "ela", "--dataset", "tiny", "--perturb", "jpeg:q=101", "--catalog", catalog,
                 "--results", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 2 and "q must be" in result.output
    assert not (tmp_path / "r" / "forgebench.sqlite").exists()


def test_sweep_checks_every_detector_and_option_before_running(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data")
    common = ("--dataset", "tiny", "--perturb", "jpeg:q=90", "--catalog", catalog, "--results", tmp_path / "r")
    unknown = cli("sweep", "ela", "elx", *common)
    assert unknown.exit_code == 2 and "Unknown detector 'elx'" in unknown.output
    misaddressed = cli("sweep", "ela", "noi1", "-o", "elx.quality=80", *common)
    assert misaddressed.exit_code == 2 and "'elx' is not one of the detectors swept (ela, noi1)" in misaddressed.output
    assert not (tmp_path / "r" / "forgebench.sqlite").exists()


def test_labels_name_configurations_in_every_table_without_changing_their_results(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data")
    results = tmp_path / "results"
    common = ("--dataset", "tiny", "--perturb", "jpeg:q=90", "--catalog", catalog, "--results", results)
    bad = cli("sweep", "ela", "noi1", "--label", "mine", *common)
    assert bad.exit_code == 2 and "with several detectors give DETECTOR=NAME" in bad.output
    piped = cli("run", "ela", "--label", "a|b", *common)
    assert piped.exit_code == 2 and "--label: label 'a|b': may not contain '|'" in piped.output
    assert not (results / "forgebench.sqlite").exists()
    swept = cli("sweep", "ela", "noi1", "-o", "ela.quality=80", "--label", "ela=ela-q80", *common)
    assert swept.exit_code == 0, swept.output
    robustness = (results / "robustness-custom.md").read_text(encoding="utf-8")
    assert "| ela-q80 |" in robustness and "| noi1 |" in robustness and "ela[quality=80]" not in robustness
    assert '- `ela-q80`: ela, options {"quality": 80}' in robustness
    again = cli("run", "ela", "-o", "quality=80", "--label", "ela80", *common)  # a new name, nothing re-run
    assert again.exit_code == 0 and "0 detector calls" in again.output
    board = cli("leaderboard", "--catalog", catalog, "--results", results)
    assert "ela80" in board.output and "ela-q80" not in board.output
