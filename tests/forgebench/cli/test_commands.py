"""The command line end to end on small folders (in-process, Typer's runner)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from builders import box, pairs_dataset, write_image, write_mask
from PIL import Image

from forgebench.evaluation.store import Store


def partial_data(root):
    """CASIA v1 and Coverage present (in the prepared form, without locks), the other seven benchmarks absent."""
    for index in range(3):
        write_image(root / f"casia1/images/s{index}.jpg", seed=index)
        write_mask(root / f"casia1/masks/s{index}.png", box(24, 32, 2, 2, 6 + index))
    write_image(root / "coverage/images/1t.tif")
    write_mask(root / "coverage/masks/1t.png", box(24, 32, 4, 4, 10))
    write_image(root / "coverage/authentic/1.tif")


def test_run_without_data_explains_and_fails(cli, tmp_path):
    result = cli("run", "all-forged", "--suite", "all", "--data-root", tmp_path / "empty", "--results", tmp_path / "r")
    assert result.exit_code == 2
    for name in ("casia1", "columbia", "nist16", "coverage", "acdsee", "cocoglide", "misd", "ipm15k", "autosplice"):
        assert f"{name} (" in result.output
    assert "--data-root" in result.output and "FORGEBENCH_DATA" in result.output


def test_run_with_some_data_evaluates_it_and_names_the_rest(cli, tmp_path):
    partial_data(tmp_path / "data")
    results = tmp_path / "r"
    ran = cli("run", "all-forged", "--suite", "all", "--data-root", tmp_path / "data", "--results", results)
    assert ran.exit_code == 0, ran.output
    assert "casia1: 3 scored" in ran.output and "coverage: 2 scored" in ran.output
    for name in ("columbia", "nist16", "acdsee", "cocoglide", "misd", "ipm15k", "autosplice"):
        assert f"Not evaluated: {name}: " in ran.output  # each with why and where
    assert "Not evaluated: casia1" not in ran.output and "Not evaluated: coverage" not in ran.output
    board = cli("leaderboard", "--suite", "all", "--results", results)
    assert board.exit_code == 0, board.output
    markdown = (results / "leaderboard.md").read_text()
    assert "Missing datasets: columbia, nist16, acdsee, cocoglide, misd, ipm15k, autosplice." in markdown
    assert "weights = tampered images scored: casia1 3, coverage 1 (Σ 4)" in markdown
    assert "casia1 scored 3, expected 920" in markdown
    csv = (results / "leaderboard.csv").read_text().splitlines()
    assert csv[0].startswith("Detector,casia1 F1,casia1 IoU,columbia F1")
    plain = cli("leaderboard", "--results", results)
    assert plain.exit_code == 0, plain.output
    assert "Missing datasets: columbia, nist16, acdsee, cocoglide, misd, ipm15k, autosplice." in plain.output


def test_a_dataset_with_a_file_outside_its_root_is_named_with_the_file_and_why(cli, tmp_path):
    partial_data(tmp_path / "data")
    write_image(tmp_path / "elsewhere.jpg", seed=9)
    (tmp_path / "data/casia1/images/s9.jpg").symlink_to(tmp_path / "elsewhere.jpg")
    write_mask(tmp_path / "data/casia1/masks/s9.png", box(24, 32, 2, 2, 6))
    results = tmp_path / "r"
    ran = cli("run", "all-forged", "--suite", "all", "--data-root", tmp_path / "data", "--results", results)
    assert ran.exit_code == 0, ran.output  # the other datasets run
    assert "coverage: 2 scored" in ran.output
    unwrapped = ran.output.replace("\n", "")
    assert "Not evaluated: casia1: " in unwrapped and "s9.jpg lies outside the dataset root" in unwrapped


def test_leaderboard_marks_a_detector_that_scored_fewer_images(cli, tmp_path):
    partial_data(tmp_path / "data")
    (tmp_path / "data/casia1/images/s1.jpg").write_bytes(b"broken")
    results = tmp_path / "r"
    ran = cli("run", "all-forged", "--dataset", "casia1", "--data-root", tmp_path / "data", "--results", results)
    assert ran.exit_code == 0, ran.output
    board = cli("leaderboard", "--dataset", "casia1", "--results", results)
    # the dataset has 3 tampered images, one unreadable: its count, not the most any detector scored
    assert "Incomplete (marked *): all-forged on casia1 scored 2 of 3 tampered (1 errors, 0 invalid)" in board.output


def test_leaderboard_weighted_average_matches_per_image_pool(cli, tmp_path):
    partial_data(tmp_path / "data")
    results = tmp_path / "r"
    cli("run", "all-forged", "--suite", "all", "--data-root", tmp_path / "data", "--results", results)
    cli("leaderboard", "--suite", "all", "--results", results)
    import pandas as pd

    row = pd.read_csv(results / "leaderboard.csv").iloc[0]
    fractions = [(6 + i) ** 2 / 768 for i in range(3)] + [100 / 768]
    pooled = np.mean([2 * f / (1 + f) for f in fractions])
    assert row["Weighted Avg. F1"] == pytest.approx(pooled)


def test_an_80_column_leaderboard_names_every_detector_and_shows_every_number(cli, tmp_path, monkeypatch):
    partial_data(tmp_path / "data")
    results = tmp_path / "r"
    for detector in ("all-forged", "all-pristine", "ela"):
        cli("run", detector, "--suite", "all", "--data-root", tmp_path / "data", "--results", results)
    monkeypatch.setenv("COLUMNS", "80")
    board = cli("leaderboard", "--suite", "all", "--results", results)
    assert board.exit_code == 0, board.output
    lines = board.output.splitlines()
    import pandas as pd

    wide = pd.read_csv(results / "leaderboard.csv")
    scores = wide.filter(regex=" (F1|IoU)$").to_numpy().ravel()
    assert all(f"{value:.3f}" in board.output for value in scores if not np.isnan(value))
    assert all(any(f"│ {label} " in line for line in lines) for label in wide["Detector"])
    assert max(len(line) for line in lines if "│" in line or "┃" in line) <= 80


def test_datasets_check_exit_code(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "tiny")
    good = cli("datasets", "check", "tiny", "--catalog", catalog)
    assert good.exit_code == 0, good.output
    write_mask(tmp_path / "tiny/masks/t01.png", ~box(24, 32, 2, 3, 6))
    bad = cli("datasets", "check", "tiny", "--catalog", catalog)
    assert bad.exit_code == 1
    assert "mask looks inverted" in bad.output


def test_unknown_detector_suggests(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "tiny")
    result = cli("run", "all-forgd", "--dataset", "tiny", "--catalog", catalog, "--results", tmp_path / "r")
    assert result.exit_code == 2
    assert "Did you mean 'all-forged'" in result.output


def test_predict_writes_mask_overlay_and_probability(cli, tmp_path):
    write_image(tmp_path / "in/photo.png", 20, 30)
    result = cli("predict", "all-forged", tmp_path / "in/photo.png", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    mask = np.asarray(Image.open(tmp_path / "out/photo_mask.png"))
    assert mask.shape == (20, 30) and (mask == 255).all()
    overlay = np.asarray(Image.open(tmp_path / "out/photo_overlay.png"))
    assert overlay.shape == (20, 30, 3)
    assert (tmp_path / "out/photo_prob.png").exists()


def test_list_prints_cards_datasets_and_suites(cli):
    result = cli("list")
    assert result.exit_code == 0
    for expected in ("all-forged", "masks-dir", "clean", "casia1", "columbia-wechat", "osn-facebook", "synthetic"):
        assert expected in result.output
    assert "quality=90, box=7, z0=3.0" in result.output


def test_list_detectors_gives_each_deep_detector_its_weights_reported_numbers_and_memory(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    result = cli("list", "detectors")
    assert result.exit_code == 0
    cards: dict[str, list[str]] = {}
    for line in result.output.splitlines():
        if " — " in line and not line.startswith(" "):
            cards[line.split(" — ")[0]] = []
        elif cards:
            cards[list(cards)[-1]].append(line.split()[0] if line.strip() else "")
    for name in ("catnet", "imlvit", "mvssnet", "trufor"):
        assert {"weights", "reported", "memory", "licence", "paper"} <= set(cards[name]), name
    assert "weights" in cards["ela"] and "reported" not in cards["ela"]
    assert "CASIAv1+ .452, Columbia .638" in result.output
    assert "md5:7bee48f3476c75616c3c5721ab256ff8" in result.output  # TruFor's archive, as its README gives it
    assert "max_megapixels=8.0" in result.output


def test_list_perturbations_states_each_osn_recipe_with_its_confidence(cli):
    result = cli("list", "perturbations")
    assert result.exit_code == 0
    assert "facebook: long side > 2048 → 2048 (Lanczos) [S]; JPEG q92 4:2:0 progressive" in result.output
    assert "wechat: long side > 1280 and aspect ≤ 2 → long side 1280" in result.output
    assert "confidence low–medium" in result.output and "quality = q, subsampling = ss" in result.output
    assert "Grids (forgebench sweep --grid NAME): imdlbenco, clue, span, osn, demo" in result.output


def test_the_same_commands_twice_give_byte_identical_leaderboards(cli, tmp_path):
    catalog = pairs_dataset(tmp_path / "data")
    outputs = []
    for attempt in ("first", "second"):
        results = tmp_path / attempt
        for detector in ("ela", "all-forged"):
            ran = cli("run", detector, "--dataset", "tiny", "--perturb", "clean", "--perturb", "noise:sigma=4",
                      "--catalog", catalog, "--results", results)  # fmt: skip
            assert ran.exit_code == 0, ran.output
        for by in ("dataset", "perturbation"):
            assert cli("leaderboard", "--by", by, "--catalog", catalog, "--results", results).exit_code == 0
        outputs.append(
            {p.name: p.read_bytes() for p in sorted(results.glob("*")) if p.suffix in {".md", ".csv", ".png"}}
        )
    assert set(outputs[0]) == {"leaderboard.md", "leaderboard.csv", "leaderboard-long.csv", "robustness-custom.md",
                               "robustness-custom.csv", "robustness-custom.png"}  # fmt: skip
    assert outputs[0] == outputs[1]


def test_two_processes_share_a_run_and_merge_into_one_store(tmp_path):
    catalog = pairs_dataset(tmp_path / "data", n_tampered=9, n_authentic=4)
    common = ["run", "ela", "--dataset", "tiny", "--perturb", "clean", "--perturb", "noise:sigma=3",
              "--catalog", str(catalog)]  # fmt: skip
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    shared = subprocess.run([*launch, "-m", "forgebench", *common, "--results", str(tmp_path / "two")],
                            capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert shared.returncode == 0, shared.stderr[-3000:]
    assert "process 1 of 2" in shared.stdout and "process 2 of 2" in shared.stdout
    single = subprocess.run([sys.executable, "-m", "forgebench", *common, "--results", str(tmp_path / "one")],
                            capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]

    def records(results):
        with Store(results) as store:
            return {
                (e.perturbation, r.image_id): dataclasses.replace(r, load_seconds=None, detect_seconds=None)
                for e in store.evaluations()
                for r in store.records(e)
            }

    merged, alone = records(tmp_path / "two"), records(tmp_path / "one")
    assert len(merged) == 2 * 13 and merged == alone  # every image once, scored as a single process scores it


def test_leaderboard_with_the_papers_reported_rows(cli, tmp_path):
    partial_data(tmp_path / "data")
    results = tmp_path / "r"
    cli("run", "all-forged", "--suite", "all", "--data-root", tmp_path / "data", "--results", results)
    board = cli("leaderboard", "--suite", "all", "--results", results, "--reference", "clue-table1")
    assert board.exit_code == 0, board.output
    assert "CLUE (reported)" in board.output and "No detector the reference reports on was measured" in board.output
    assert (results / "leaderboard-reported.csv").is_file()
    wrong = cli("leaderboard", "--suite", "all", "--results", results, "--reference", "clue-tabel1")
    assert wrong.exit_code == 2 and "Did you mean 'clue-table1'" in wrong.output
