"""``forgebench train``: errors that name the problem, and a train → run → leaderboard round trip with CLUE."""

from __future__ import annotations

from builders import pairs_dataset


def test_unknown_trainer_suggests(cli):
    result = cli("train", "clu")
    assert result.exit_code == 2 and "clue" in result.output


def test_missing_config_file_is_named(cli, tmp_path):
    result = cli("train", "clue", "--config", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "nope.yaml not found" in result.output


def test_bad_setting_is_reported(cli):
    result = cli("train", "clue", "--set", "optim.epoch=3")
    assert result.exit_code == 2 and "has no setting epoch" in result.output


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
