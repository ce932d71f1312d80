"""``leaderboard --task detection``: the detection table from stored results, its files and its intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_detection_table_with_intervals_from_stored_results(cli, tmp_path):
    results = tmp_path / "r"
    ran = cli("run", "ela", "--suite", "synthetic", "--limit", "12", "--results", results)
    assert ran.exit_code == 0, ran.output
    shown = cli(
        "leaderboard", "--task", "detection", "--image-score", "fraction", "--ci", "--resamples", "200",
        "--results", results,
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "Detection under image score 'fraction'" in shown.output
    table = pd.read_csv(results / "leaderboard-detection-fraction.csv").set_index("Detector")
    row = table.loc["ela"]
    for dataset in ("syn-splice", "syn-copymove", "syn-removal", "Weighted Avg."):
        value, low, high = row[f"{dataset} AUC"], row[f"{dataset} AUC low"], row[f"{dataset} AUC high"]
        assert 0 <= low <= value <= high <= 1, dataset
    counts = [12, 12, 12]  # every dataset scored 12 images, so the weights are equal
    per_dataset = [row[f"{d} AUC"] for d in ("syn-splice", "syn-copymove", "syn-removal")]
    assert abs(row["Weighted Avg. AUC"] - np.average(per_dataset, weights=counts)) < 1e-12
    bad = cli("leaderboard", "--task", "detection", "--image-score", "mean", "--results", results)
    assert bad.exit_code == 2 and "fraction" in bad.output
