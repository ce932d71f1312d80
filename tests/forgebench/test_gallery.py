"""Gallery selection: the worst, best and most disputed images, reproducibly."""

from __future__ import annotations

from forgebench import gallery, report
from forgebench.catalog import Catalog
from forgebench.store import Store


def cells_of(tmp_path, scores, results):
    with Store(tmp_path) as store:
        for detector, values in results.items():
            scores(store, detector, "x", values)
        return report.build(store, Catalog(datasets={}), ["x"]).cells


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
