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
    assert catalog.datasets["nist16-wechat"].matrix_of == ("nist16", "osn", "wechat")
    assert catalog.datasets["casia1"].matrix_of is None


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


def test_tables_show_labels_and_keep_the_full_configuration(tmp_path):
    full = {"aaaa": "/home/me/runs/a/best.safetensors", "bbbb": "/home/me/runs/b/best.safetensors"}
    with Store(tmp_path) as store:
        for fingerprint, path in full.items():
            for perturbation in ("clean", "jpeg(q=70)"):
                key = {"detector": "clue", "fingerprint": fingerprint, "dataset": "d", "perturbation": perturbation,
                       "seed": 0, "manifest_digest": "d"}  # fmt: skip
                manifest = {"requested": ["d"], "changed_options": {"checkpoint": path}, "weights_digest": fingerprint}
                evaluation = store.evaluation(key, manifest)
                scored = ImageScore(Confusion(1, 0, 0, 0), score=1.0, f1=1.0, iou=1.0)
                store.add(evaluation, [Record("d/x.png", "tampered", "ok", scored=scored)])
        store.name("bbbb", "mine")
        boards = [leaderboard.build(store, load_catalog(), ["d"], p) for p in ("clean", "jpeg(q=70)")]
        assert store.labels() == {"bbbb": "mine"}
    assert [sorted(board.labels()) for board in boards] == [["clue@a", "mine"]] * 2
    long = boards[0].long().set_index("detector")
    assert long.loc["mine", "name"] == "clue" and long.loc["mine", "weights_digest"] == "bbbb"
    assert long.loc["clue@a", "options"] == '{"checkpoint": "/home/me/runs/a/best.safetensors"}'
    markdown = leaderboard_markdown(boards[0])
    assert "| mine |" in markdown and "| clue@a |" in markdown
    assert '- `mine`: clue, options {"checkpoint": "/home/me/runs/b/best.safetensors"}, weights bbbb' in markdown
    assert not pd.isna(long.loc["mine", "f1"])


def test_results_on_an_older_copy_of_a_dataset_are_left_out_and_named(tmp_path):
    """The demo's suite was regenerated: ``ela`` was scored again on the new files, ``old`` only on the old ones."""
    scored = ImageScore(Confusion(1, 0, 0, 0), score=1.0, f1=1.0, iou=1.0)
    with Store(tmp_path) as store:
        for detector, digest in (("ela", "copy-1"), ("old", "copy-1"), ("ela", "copy-2")):
            key = {"detector": detector, "fingerprint": detector * 4, "dataset": "d", "perturbation": "clean",
                   "seed": 0, "manifest_digest": digest}  # fmt: skip
            evaluation = store.evaluation(key, {"requested": ["d"], "changed_options": {}})
            store.add(evaluation, [Record(f"d/{digest}.png", "tampered", "ok", scored=scored)])
        board = leaderboard.build(store, load_catalog(), ["d"])
    assert [(c.label, c.manifest_digest) for c in board.cells] == [("ela", "copy-2")]
    assert board.older == {"d": ["old (oldoldol)"]}
    assert "Left out, scored only on an older copy of the dataset's files" in leaderboard_markdown(board)
