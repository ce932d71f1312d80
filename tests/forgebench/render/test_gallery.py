"""Gallery selection: the worst, best and most disputed images, reproducibly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from forgebench.analysis import leaderboard
from forgebench.data.catalog import Catalog
from forgebench.evaluation.store import Store
from forgebench.render import gallery


def cells_of(tmp_path, scores, results):
    with Store(tmp_path) as store:
        for detector, values in results.items():
            scores(store, detector, "x", values)
        return leaderboard.build(store, Catalog(datasets={}), ["x"]).cells


def ids(rows):
    return [row.image_id.removeprefix("x/") for row in rows]


def test_sections_order_images_by_mean_f1_and_by_disagreement(tmp_path, scores):
    cells = cells_of(tmp_path, scores, {"a": [0.9, 0.1, 0.5, 0.5, 0.0], "b": [0.9, 0.7, 0.5, 0.3, 0.0]})
    sections = gallery.select(cells, per_section=2)
    # means 0.9, 0.4, 0.5, 0.4, 0.0; spreads 0, 0.6, 0, 0.2, 0
    assert ids(sections["worst"]) == ["4.png", "1.png"]
    assert ids(sections["best"]) == ["0.png", "2.png"]
    assert ids(sections["disagreement"]) == ["1.png", "3.png"]
    assert sections["disagreement"][0].f1 == {"a": 0.1, "b": 0.7}


def test_small_sets_do_not_repeat_images_and_one_detector_has_no_disagreement(tmp_path, scores):
    sections = gallery.select(cells_of(tmp_path, scores, {"a": [0.2, 0.8, 0.5]}), per_section=2)
    assert ids(sections["worst"]) == ["0.png", "2.png"] and ids(sections["best"]) == ["1.png"]
    assert "disagreement" not in sections


def test_only_images_every_detector_scored_are_compared(tmp_path, scores):
    cells = cells_of(tmp_path, scores, {"a": [0.2, 0.8, 0.5], "b": [0.3, 0.1]})
    sections = gallery.select(cells, per_section=5)
    assert sorted(ids(sections["worst"] + sections["best"])) == ["0.png", "1.png"]


def test_the_mask_overlay_binarises_like_the_protocol(stored_maps, tmp_path):
    # 0.5 on the forged region (not forged: the threshold is strict), 1.0 on the first column (false alarms).
    def half_on_truth(forged):
        probability = np.where(forged, 0.5, 0.0)
        probability[:, 0] = 1.0
        return probability

    store, catalog, truth = stored_maps(half_on_truth)
    cells = leaderboard.build(store, catalog, ["tiny"]).cells
    (row, *_) = gallery.select(cells, per_section=1)["worst"]
    tiles = gallery.render_row(row, cells, truth, tmp_path / "thumbs")
    forged = truth.forged(
        "tiny", cells[0].manifest_digest, truth.samples("tiny", cells[0].manifest_digest)[row.image_id]
    )
    assert [t.caption for t in tiles[1:]] == [f"forged {forged.mean():.1%}", "map", "F1 0.000"]
    mask = cv2.cvtColor(cv2.imread(str(tmp_path / tiles[-1].path)), cv2.COLOR_BGR2RGB).astype(int)
    rows, columns = np.nonzero(forged)
    assert np.abs(mask[round(rows.mean()), round(columns.mean())] - gallery.MISSED).max() < 30  # p = 0.5 there
    assert np.abs(mask[20, 0] - gallery.FALSE_POSITIVE).max() < 30
    store.close()


def test_a_map_of_the_wrong_size_is_an_error_for_its_row(stored_maps, tmp_path):
    store, catalog, truth = stored_maps(lambda forged: forged.astype(float))
    cells = leaderboard.build(store, catalog, ["tiny"]).cells
    (row, *_) = gallery.select(cells, per_section=1)["worst"]
    record = next(r for r in cells[0].tampered() if r.image_id == row.image_id)
    cv2.imwrite(str(store.results / record.map_file), np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=r"is \(5, 5\), the ground truth \(24, 32\)"):
        gallery.render_row(row, cells, truth, tmp_path / "thumbs")
    store.close()
