"""Leaderboards of catalog variants: the IF-OSN sets in CLUE's Table 2 shape."""

from __future__ import annotations

import pandas as pd
import pytest

from forgebench.analysis import leaderboard
from forgebench.data.catalog import load_catalog
from forgebench.evaluation.metrics import Confusion, ImageScore
from forgebench.evaluation.store import Record, Store
from forgebench.render.tables import leaderboard_markdown

PLATFORMS = ("facebook", "whatsapp", "weibo", "wechat")


def test_matrix_entries_know_their_base_and_value():
    catalog = load_catalog()
    assert catalog.datasets["nist16-wechat"].variant == ("nist16", "osn", "wechat")
    assert catalog.datasets["casia1"].variant is None


def test_osn_suite_leaderboard_has_the_table2_shape(tmp_path, add_results):
    catalog = load_catalog()
    with Store(tmp_path) as store:
        for platform in PLATFORMS:
            add_results(store, "det", f"casia1-{platform}", "clean", [True, platform != "wechat"])  # 1 or 1/2
            add_results(store, "det", f"dso1-{platform}", "clean", [False, False, platform == "facebook"])
        board = leaderboard.build(store, catalog, list(catalog.suite("osn")))
    [(variable, frame)] = board.by_variant()
    assert variable == "osn"
    assert list(frame.columns[1:5]) == [("casia1", p) for p in PLATFORMS]
    row = frame.set_index(("", "Detector")).loc["det"]
    assert row[("casia1", "wechat")] == pytest.approx(0.5)
    assert row[("dso1", "facebook")] == pytest.approx(1 / 3)
    assert ("columbia", "weibo") not in row.index  # no results on columbia and nist16 at all
    # weighted by tampered images scored: (2·1 + 3·(1/3)) / 5 and (2·0.5 + 0) / 5
    assert row[("Weighted Avg.", "facebook")] == pytest.approx(0.6)
    assert row[("Weighted Avg.", "wechat")] == pytest.approx(0.2)
    with Store(tmp_path) as store:
        add_results(store, "det", "nist16-facebook", "clean", [True])
        board = leaderboard.build(store, catalog, list(catalog.suite("osn")))
    row = board.by_variant()[0][1].set_index(("", "Detector")).loc["det"]
    assert row[("Weighted Avg.", "facebook")] == pytest.approx(4 / 6)
    assert pd.isna(row[("nist16", "wechat")]) and pd.isna(row[("Weighted Avg.", "wechat")])  # not over fewer bases
    markdown = leaderboard_markdown(board)
    assert "## F1 by osn (CLUE Table 2 shape)" in markdown
    assert "| Detector | casia1 facebook | casia1 whatsapp | casia1 weibo | casia1 wechat | dso1 facebook |" in markdown


def test_one_base_with_variants_is_not_regrouped(tmp_path, add_results):
    catalog = load_catalog()
    with Store(tmp_path) as store:
        for kind in ("splice", "copymove"):
            add_results(store, "det", f"syn-{kind}", "clean", [True])
        board = leaderboard.build(store, catalog, ["syn-splice", "syn-copymove"])
    assert board.by_variant() == []


def test_labels_shorten_paths_and_keep_colliding_configurations_apart(tmp_path):
    with Store(tmp_path) as store:
        for run in ("runs/a", "runs/b"):
            key = {"detector": "clue", "fingerprint": run, "dataset": "d", "perturbation": "clean", "seed": 0,
                   "manifest_digest": "d"}  # fmt: skip
            changed = {"checkpoint": f"/home/me/{run}/best.safetensors"}
            evaluation = store.evaluation(key, {"requested": ["d"], "changed_options": changed})
            scored = ImageScore(Confusion(1, 0, 0, 0), score=1.0, f1=1.0, iou=1.0)
            store.add(evaluation, [Record("d/x.png", "tampered", "ok", scored=scored)])
        board = leaderboard.build(store, load_catalog(), ["d"])
    assert sorted(board.labels()) == ["clue[checkpoint=a/best.safetensors]", "clue[checkpoint=b/best.safetensors]"]
