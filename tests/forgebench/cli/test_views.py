"""``leaderboard --task detection`` and ``--by kind|area``: the detection table and the tables by stratum (kinds from
the catalog and from a prepared copy's kinds.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import box, write_image, write_mask

from forgebench.data.kinds import write_kinds


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


def test_results_by_kind_and_by_forged_area_with_counts_and_few_marked(cli, tmp_path):
    """all-forged predicts every pixel, so an image with A of N pixels forged scores F1 = 2A / (A + N)."""
    root = tmp_path / "data" / "casia1"
    for name, side, seed in (("Sp_D_a", 4, 0), ("Sp_D_b", 8, 1), ("Sp_S_c", 12, 2)):
        write_image(root / f"images/{name}.jpg", seed=seed)
        write_mask(root / f"masks/{name}.png", box(24, 32, 0, 0, side))
    results = tmp_path / "r"
    ran = cli("run", "all-forged", "--dataset", "casia1", "--data-root", tmp_path / "data", "--results", results)
    assert ran.exit_code == 0, ran.output
    f1 = {side: 2 * side**2 / (side**2 + 24 * 32) for side in (4, 8, 12)}
    shown = cli("leaderboard", "--by", "kind", "--results", results)
    assert shown.exit_code == 0, shown.output
    by_kind = pd.read_csv(results / "leaderboard-by-kind.csv").set_index("Detector").loc["all-forged"]
    assert by_kind.to_dict() == pytest.approx({"copymove": f1[12], "splice": (f1[4] + f1[8]) / 2}, abs=1e-12)
    assert shown.output.count("few*") == 2  # both strata hold fewer than 30 images: marked, not hidden
    assert cli("leaderboard", "--by", "area", "--results", results).exit_code == 0
    by_area = pd.read_csv(results / "leaderboard-by-area.csv").set_index("Detector").loc["all-forged"]
    assert by_area.to_dict() == pytest.approx({"1%–5%": f1[4], "5%–15%": f1[8], "15%–30%": f1[12]}, abs=1e-12)
    markdown = (results / "leaderboard-by-area.md").read_text()
    assert "1%–5% (1*)" in markdown and "fewer than 30 tampered images" in markdown


def test_results_by_kind_read_nist16_kinds_recorded_at_prepare(cli, tmp_path):
    """NIST16 names no kind in its file names: the kinds come from the copy's kinds.csv (written by prepare from
    the reference CSV); an image it does not list is 'undeclared'."""
    root = tmp_path / "data" / "nist16"
    for name, side, seed in (("NC2016_0001", 4, 0), ("NC2016_0002", 8, 1), ("NC2016_0003", 12, 2)):
        write_image(root / f"images/{name}.jpg", seed=seed)
        write_mask(root / f"masks/{name}.png", box(24, 32, 0, 0, side))
    write_kinds(root, {"images/NC2016_0001.jpg": "removal", "images/NC2016_0002.jpg": "removal+copymove"})
    results = tmp_path / "r"
    ran = cli("run", "all-forged", "--dataset", "nist16", "--data-root", tmp_path / "data", "--results", results)
    assert ran.exit_code == 0, ran.output
    shown = cli("leaderboard", "--by", "kind", "--data-root", tmp_path / "data", "--results", results)
    assert shown.exit_code == 0, shown.output
    by_kind = pd.read_csv(results / "leaderboard-by-kind.csv").set_index("Detector").loc["all-forged"]
    f1 = {side: 2 * side**2 / (side**2 + 24 * 32) for side in (4, 8, 12)}
    assert by_kind.to_dict() == pytest.approx(
        {"removal": f1[4], "removal+copymove": f1[8], "undeclared": f1[12]}, abs=1e-12
    )
    (root / "kinds.csv").write_text("name\nNC2016_0001\n", encoding="utf-8")
    broken = cli("leaderboard", "--by", "kind", "--data-root", tmp_path / "data", "--results", results)
    assert broken.exit_code == 2 and "kinds.csv: not a kinds file" in broken.output
