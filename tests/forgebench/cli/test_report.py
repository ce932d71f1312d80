"""``forgebench report``, ``compare`` and ``leaderboard --ci`` end to end on a tiny dataset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from forgebench.evaluation.protocols import load_protocols
from forgebench.evaluation.store import Store
from tests.builders import pairs_dataset

SCRIPT = Path(__file__).parents[3] / "scripts/check_page.py"


@pytest.fixture
def scored(cli, tmp_path):
    """ela and all-forged on `tiny` (8 tampered, 2 authentic), clean and under JPEG q70."""
    catalog = pairs_dataset(tmp_path / "data", n_tampered=8)
    results = tmp_path / "results"
    for detector in ("ela", "all-forged"):
        ran = cli("run", detector, "--dataset", "tiny", "--perturb", "clean", "--perturb", "jpeg:q=70",
                  "--catalog", catalog, "--results", results)  # fmt: skip
        assert ran.exit_code == 0, ran.output
    return catalog, results


def test_report_writes_a_page_with_every_section(cli, tmp_path, scored):
    catalog, results = scored
    out = tmp_path / "page"
    made = cli("report", results, "--out", out, "--catalog", catalog, "--resamples", 500, "--per-section", 3)
    assert made.exit_code == 0, made.output
    page = (out / "index.html").read_text()
    for heading in ("Leaderboard", "Robustness", "Threshold view", "Galleries", "Worst: lowest mean F1",
                    "Best: highest mean F1", "Largest disagreement"):  # fmt: skip
        assert heading in page
    assert re.search(r"<td>0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]</td>", page)  # a leaderboard cell with its interval
    assert "not comparable with CLUE Table 1" in page
    for name in ("robustness-custom.png", "thresholds.png", "leaderboard.csv", "robustness-custom.md"):
        assert (out / name).is_file()
    thumbnails = sorted((out / "thumbs").glob("*.jpg"))
    referenced = set(re.findall(r'src="(thumbs/[^"]+)"', page))
    assert {f"thumbs/{p.name}" for p in thumbnails} == referenced
    assert len(referenced) == 6 * 6  # worst 3 and best 3 of the 8 images; image, truth, then map and mask per detector
    assert len(re.findall(r"<img ", page)) == 2 + 3 * 3 * 6  # two figures; the disputed rows repeat shown images


def test_report_adds_the_leaderboard_under_other_protocols_as_the_leaderboard_gives_it(cli, tmp_path, scored):
    catalog, results = scored
    out = tmp_path / "page"
    made = cli("report", results, "--out", out, "--catalog", catalog, "--resamples", 100, "--protocol", "trufor",
               "--protocol", "pooled")  # fmt: skip
    assert made.exit_code == 0, made.output
    page = (out / "index.html").read_text()
    assert '<h2 id="protocols">Other protocols</h2>' in page and 'href="#protocols"' in page
    assert "<h3>trufor: TruFor" in page and "<h3>pooled: " in page and "<h3>clue: " not in page
    for name in ("trufor", "pooled"):
        shown = cli("leaderboard", "--protocol", name, "--catalog", catalog, "--dataset", "tiny",
                    "--results", results, "--out", tmp_path / "board")  # fmt: skip
        assert shown.exit_code == 0, shown.output
        expected = pd.read_csv(tmp_path / "board" / f"leaderboard-{name}.csv")
        written = pd.read_csv(out / f"leaderboard-{name}.csv")  # the page's tables carry intervals
        pd.testing.assert_frame_equal(written[expected.columns], expected)
        assert (written["tiny F1 low"] <= written["tiny F1"]).all() and (
            written["tiny F1"] <= written["tiny F1 high"]
        ).all()
        for value in expected["tiny F1"]:
            assert f"<td>{value:.3f} [" in page.split(f"<h3>{name}: ")[1].split("</table>")[0]
    every = cli("report", results, "--out", tmp_path / "every", "--catalog", catalog, "--resamples", 100,
                "--per-section", 1, "--protocol", "trufor", "--protocol", "all")  # fmt: skip
    assert every.exit_code == 0, every.output
    written = {path.name for path in (tmp_path / "every").glob("leaderboard-*.csv")}
    assert written == {"leaderboard-long.csv", *(f"leaderboard-{name}.csv" for name in load_protocols())}
    assert (tmp_path / "every" / "index.html").read_text().count("<h3>trufor: ") == 1
    unknown = cli("report", results, "--out", out, "--catalog", catalog, "--protocol", "trufr")
    assert unknown.exit_code == 2 and "trufor" in unknown.output


def test_gallery_overlays_colour_hits_false_alarms_and_misses(cli, tmp_path, scored):
    catalog, results = scored
    out = tmp_path / "page"
    assert cli("report", results, "--out", out, "--catalog", catalog, "--resamples", 200).exit_code == 0
    page = (out / "index.html").read_text()
    # all-forged predicts every pixel: inside the ground truth green (hit), outside red (false alarm).
    first_mask = re.search(r'src="(thumbs/[0-9a-f]+-0-mask\.jpg)"', page).group(1)
    order = re.findall(r'<th colspan="2">([^<]+)</th>', page)[:2]
    mask_tile = first_mask if order[0] == "all-forged" else first_mask.replace("-0-mask", "-1-mask")
    tile = cv2.cvtColor(cv2.imread(str(out / mask_tile)), cv2.COLOR_BGR2RGB).astype(int)
    assert np.abs(tile[-1, -1] - (230, 40, 40)).max() < 40  # the masks' boxes start at the top left
    assert np.abs(tile[4, 5] - (40, 200, 70)).max() < 40


def test_an_unreadable_map_costs_its_gallery_row_and_changed_data_its_dataset(cli, tmp_path, scored):
    catalog, results = scored
    with Store(results) as store:
        (ela,) = [e for e in store.evaluations() if e.detector == "ela" and e.perturbation == "clean"]
        (record,) = [r for r in store.records(ela) if r.image_id == "tiny/images/t00.png"]
    (results / record.map_file).unlink()
    made = cli("report", results, "--out", tmp_path / "page", "--catalog", catalog, "--resamples", 200)
    assert made.exit_code == 0, made.output
    page = (tmp_path / "page/index.html").read_text()
    assert re.search(r"<code>tiny/images/t00.png</code>: not shown \(FileNotFoundError: Cached map", page)
    assert "ela on tiny: 1 images without a readable cached map" in page
    (tmp_path / "data/images/t01.png").write_bytes(b"not a png")
    made = cli("report", results, "--out", tmp_path / "again", "--catalog", catalog, "--resamples", 200)
    assert made.exit_code == 0, made.output
    page = (tmp_path / "again/index.html").read_text()
    assert "tiny: the files on disk differ from the ones scored" in page  # no mask or map is misattributed


def test_report_without_results_fails_clearly(cli, tmp_path):
    made = cli("report", tmp_path / "nothing", "--out", tmp_path / "page")
    assert made.exit_code == 2 and "no results in" in made.output


def test_leaderboard_ci_adds_interval_columns_and_cells(cli, tmp_path, scored):
    catalog, results = scored
    shown = cli("leaderboard", "--dataset", "tiny", "--ci", "--resamples", 500, "--catalog", catalog,
                "--results", results)  # fmt: skip
    assert shown.exit_code == 0, shown.output
    table = pd.read_csv(results / "leaderboard.csv")
    assert list(table.columns[:4]) == ["Detector", "tiny F1", "tiny F1 low", "tiny F1 high"]
    assert (table["tiny F1 low"] <= table["tiny F1"]).all() and (table["tiny F1"] <= table["tiny F1 high"]).all()
    said = " ".join(shown.output.split())
    assert "Intervals [low, high]: 95% percentile bootstrap over images (500 resamples, seed 0)" in said
    curves = cli("leaderboard", "--by", "perturbation", "--perturb", "jpeg:q=70", "--ci", "--resamples", 500,
                 "--catalog", catalog, "--results", results)  # fmt: skip
    assert curves.exit_code == 0, curves.output
    text = (results / "robustness-custom.md").read_text()
    point = r"\| jpeg \| jpeg\(q=70,ss=420\) \| jpeg\(q=70,ss=420\) \| "
    assert re.search(point + r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \|", text)
    assert re.search(r"\| tiny clean \| tiny jpeg\(q=70,ss=420\) \| Weighted Avg\. clean \|", text)


def test_compare_reports_the_paired_difference_and_its_significance(cli, tmp_path, scored):
    catalog, results = scored
    same = cli("compare", "ela", "ela", "--dataset", "tiny", "--catalog", catalog, "--results", results)
    assert same.exit_code == 0, same.output
    assert "No significant difference (p ≥ 0.05) on: tiny." in " ".join(same.output.split())
    differ = cli("compare", "all-forged", "ela", "--dataset", "tiny", "--catalog", catalog, "--results", results,
                 "--out", tmp_path / "out")  # fmt: skip
    assert differ.exit_code == 0, differ.output
    table = pd.read_csv(tmp_path / "out/compare-all-forged-vs-ela-f1.csv")
    assert table.loc[0, "pairs"] == 8 and table.loc[0, "p"] <= 1
    assert table.loc[0, "difference low"] <= table.loc[0, "difference"] <= table.loc[0, "difference high"]
    unknown = cli("compare", "ela", "nope", "--dataset", "tiny", "--catalog", catalog, "--results", results)
    assert unknown.exit_code == 2 and "no stored results for 'nope'" in " ".join(unknown.output.split())


def browser():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from check_page import find_chromium
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return find_chromium()


@pytest.fixture
def chromium():
    found = browser()
    if found is None:
        if os.environ.get("FORGEBENCH_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (FORGEBENCH_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("no Chromium; install it (Debian: apt-get install chromium) to run the page check")
    return found


def test_the_page_opens_in_headless_chromium_without_errors(cli, tmp_path, scored, chromium):
    catalog, results = scored
    out = tmp_path / "page"
    assert cli("report", results, "--out", out, "--catalog", catalog, "--resamples", 200).exit_code == 0
    command = [sys.executable, SCRIPT, out / "index.html", tmp_path / "shot.png", "--chromium", chromium]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 problems" in checked.stdout
    assert cv2.imread(str(tmp_path / "shot.png")).shape == (1000, 1400, 3)


def test_the_page_check_fails_on_a_broken_image(tmp_path, chromium):
    page = tmp_path / "index.html"
    page.write_text('<!DOCTYPE html><html><body><img src="missing.jpg"></body></html>')
    checked = subprocess.run([sys.executable, SCRIPT, page, tmp_path / "shot.png", "--chromium", chromium],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert checked.returncode == 1
    assert "broken image" in checked.stdout and "missing.jpg" in checked.stdout
