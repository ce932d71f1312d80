"""``forgebench train``: errors that name the problem, and a train → run → leaderboard round trip with CLUE."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from builders import pairs_dataset

from forgebench.analysis import leaderboard, robustness
from forgebench.analysis.protocol_board import protocol_board
from forgebench.cli import jobs
from forgebench.data.catalog import load_catalog
from forgebench.data.truth import GroundTruth
from forgebench.detectors.clue.train import train_from
from forgebench.evaluation.grids import load_grid
from forgebench.evaluation.protocols import load_protocols
from forgebench.evaluation.store import Store
from forgebench.plugin import registry
from forgebench.plugin.contract import TrainerPlugin
from forgebench.plugin.registry import TRAINER_GROUP, Registry


def test_unknown_trainer_suggests(cli):
    result = cli("train", "clu")
    assert result.exit_code == 2 and "clue" in result.output


def test_missing_config_file_is_named(cli, tmp_path):
    result = cli("train", "clue", "--config", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "nope.yaml not found" in result.output


def test_bad_setting_is_reported(cli):
    result = cli("train", "clue", "--set", "optim.epoch=3")
    assert result.exit_code == 2 and "has no setting epoch" in result.output


def test_a_malformed_set_value_is_reported_without_a_traceback(cli):
    result = cli("train", "clue", "--set", "optim.epochs=[3")
    assert result.exit_code == 2, result.output
    assert "override 'optim.epochs=[3': the value is not valid YAML" in result.output.replace("\n", "")
    assert "Traceback" not in result.output


def test_trained_checkpoint_runs_as_the_clue_detector(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data", n_tampered=3, n_authentic=1)
    config = tmp_path / "run.yaml"
    config.write_text(
        f"model: {{preset: tiny}}\ndata: {{train: [tiny], val: [tiny], catalog: [{catalog}], workers: 0}}\n"
        f"optim: {{epochs: 1, batch_size: 2, micro_batch: 2}}\noutput: {tmp_path / 'run'}\n",
        encoding="utf-8",
    )
    trained = cli("train", "clue", "--config", config)
    assert trained.exit_code == 0, trained.output
    checkpoint = tmp_path / "run" / "best.safetensors"
    assert f"checkpoint: {checkpoint}" in trained.output.replace("\n", "")
    results = tmp_path / "results"
    ran = cli(
        "run", "clue", "--dataset", "tiny", "--catalog", catalog, "--results", results,
        "--option", f"checkpoint={checkpoint}", "--device", "cpu",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert "tiny: 4 scored" in ran.output
    board = cli("leaderboard", "--dataset", "tiny", "--catalog", catalog, "--results", results)
    assert board.exit_code == 0 and "clue" in board.output


def test_demo_ranks_trained_demo_models_and_survives_a_failing_one(cli, tmp_path, monkeypatch):
    catalog = pairs_dataset(tmp_path / "data", n_tampered=3, n_authentic=1)
    settings = [
        "model={preset: tiny}", "data.train=[tiny]", f"data.catalog=[{catalog}]", "data.workers=0",
        "optim.epochs=1", "optim.batch_size=2", "optim.micro_batch=2", f"output={tmp_path / 'run'}",
    ]  # fmt: skip

    def broken(cache):
        raise RuntimeError("out of luck")

    trainers = Registry(TRAINER_GROUP, TrainerPlugin)
    trainers.register("clue", TrainerPlugin("clue", "tiny", train_from, demo=lambda cache: train_from(None, settings)))
    trainers.register("broken", TrainerPlugin("broken", "fails", train_from, demo=broken))
    monkeypatch.setattr(registry, "trainers", trainers)
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("demo", "--limit", 2, "--results", tmp_path / "results")
    assert result.exit_code == 0, result.output
    assert "broken: no demo model (RuntimeError: out of luck)" in result.output
    closing = re.findall(r"clue@demo − prior .*?: (beats|does not beat) its prior", result.output.replace("\n", " "))
    assert len(closing) == 1, result.output  # the paired test against the prior, measured, then said
    assert_every_label_and_number_shown(result.output, tmp_path / "results", width=80)
    board = (tmp_path / "results" / "leaderboard.md").read_text(encoding="utf-8")
    assert "| clue@demo |" in board and "| adq1 |" in board
    run_folder = tmp_path / "run"
    assert f'- `clue@demo`: clue, options {{"checkpoint": "{run_folder}' in board  # the full path in the notes
    page = (tmp_path / "results/report/index.html").read_text(encoding="utf-8")
    assert "clue@demo" in page and "robustness-demo.png" in page and "thresholds.png" in page
    assert all(f"<h3>{name}: " in page for name in load_protocols())  # the demo page shows every protocol
    assert_every_protocol_rescores_the_demo(cli, tmp_path / "results", monkeypatch)


def assert_every_protocol_rescores_the_demo(cli, results: Path, monkeypatch) -> None:
    """The demo's stored maps give back its stored F1/IoU under the default protocol, bit for bit; every shipped
    protocol and ``explain`` run on them without calling a detector."""
    monkeypatch.setattr(jobs, "run_job", lambda *a, **k: pytest.fail("a detector was called"))
    catalog = load_catalog()
    with Store(results) as store:
        board = leaderboard.build(store, catalog, None)
    rescored = protocol_board(board, load_protocols()["clue"], GroundTruth(catalog))
    assert {key: (r.primary, r.secondary) for key, r in rescored.results.items()} == {
        (c.label, c.dataset): (c.score.f1, c.score.iou) for c in board.cells
    }
    averages = board.wide().set_index("Detector")["Weighted Avg. F1"]
    assert {label: rescored.average(label) for label in averages.index} == averages.to_dict()
    for name in load_protocols():
        shown = cli("leaderboard", "--protocol", name, "--results", results)
        assert shown.exit_code == 0 and "no detector was called" in shown.output, (name, shown.output)
    explained = cli("explain", "clue@demo", "--results", results)
    assert explained.exit_code == 0 and all(f"│ {name} " in explained.output for name in load_protocols())


def assert_every_label_and_number_shown(output: str, results: Path, width: int) -> None:
    """Every table of the demo's output, split into parts that fit ``width``: each part of a table with a row per
    detector names every detector, the summary names each in a header, and every number of every table is shown."""
    lines = output.splitlines()
    assert max(len(line) for line in lines if "│" in line or "┃" in line) <= width
    labels = pd.read_csv(results / "leaderboard.csv").Detector.tolist()
    assert {"clue@demo", "prior"} <= set(labels) and len(labels) == 7
    rows = {label: sum(line.startswith(f"│ {label} ") for line in lines) for label in labels}
    families = load_grid("demo").families
    assert len(set(rows.values())) == 1 and rows[labels[0]] >= 2 + len(families), rows  # F1/IoU, authentic, families
    assert all(any(label in line for line in lines if "┃" in line) for label in labels)  # the summary's columns
    catalog = load_catalog()
    with Store(results) as store:
        board = leaderboard.build(store, catalog, None)
        table = robustness.build(store, catalog, load_grid("demo"), None)
    numbers = board.wide().filter(regex=" (F1|IoU)$").to_numpy().ravel().tolist()
    numbers += board.long()[["fpr_pixel", "specificity"]].to_numpy().ravel().tolist()
    numbers += table.summary().iloc[:, 3:].to_numpy().ravel().tolist()
    numbers += [v for family in families for v in table.table2(family).iloc[:, 1:].to_numpy().ravel()]
    shown = [value for value in numbers if value is not None and not pd.isna(value)]
    assert len(shown) > 100 and [v for v in shown if f"{v:.3f}" not in output] == []
