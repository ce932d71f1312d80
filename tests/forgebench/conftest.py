"""Hand-built results stores shared by the table, plot, threshold and gallery tests."""

from __future__ import annotations

import pytest

from forgebench.data.catalog import load_catalog
from forgebench.data.manifest import build_manifest
from forgebench.data.truth import GroundTruth
from forgebench.evaluation.mapcache import save_map
from forgebench.evaluation.metrics import Confusion, ImageScore, score_image
from forgebench.evaluation.store import Record, Store
from tests.builders import pairs_dataset

OSN = ["osn(platform=facebook)", "osn(platform=whatsapp)", "osn(platform=weibo)", "osn(platform=wechat)"]


def tampered(image_id: str, hit: bool) -> Record:
    """A 10-pixel forged region found entirely (F1 1) or missed entirely (F1 0)."""
    tp, fn = (10, 0) if hit else (0, 10)
    scored = ImageScore(Confusion(tp=tp, fp=0, fn=fn, tn=90), score=1.0, f1=float(hit), iou=float(hit))
    return Record(image_id, "tampered", "ok", height=10, width=10, scored=scored)


def add(store: Store, detector: str, dataset: str, perturbation: str, hits: list[bool]) -> None:
    key = {"detector": detector, "fingerprint": detector * 4, "dataset": dataset, "perturbation": perturbation,
           "seed": 0, "manifest_digest": dataset}  # fmt: skip
    evaluation = store.evaluation(key, {"requested": [dataset], "changed_options": {}})
    store.add(evaluation, [tampered(f"{dataset}/{i}.png", hit) for i, hit in enumerate(hits)])


@pytest.fixture
def add_results():
    """``add(store, detector, dataset, perturbation, hits)``: one evaluation of tampered images, each hit or missed."""
    return add


@pytest.fixture
def osn_results(tmp_path):
    with Store(tmp_path) as store:
        for detector, clean_hits in (("good", True), ("weak", False)):
            for perturbation in ["clean", *OSN]:
                degraded = perturbation == OSN[-1]
                add(store, detector, "a", perturbation, [clean_hits and not degraded])
                add(store, detector, "b", perturbation, [True, False, not degraded])
        # "weak" never ran under WeChat on dataset b
        store._db.execute("DELETE FROM records WHERE evaluation = (SELECT id FROM evaluations "
                          "WHERE detector='weak' AND dataset='b' AND perturbation=?)", [OSN[-1]])  # fmt: skip
        store._db.commit()
        yield store


def add_scores(store: Store, detector: str, dataset: str, f1: list[float], perturbation: str = "clean") -> None:
    """One evaluation whose tampered images have the given F1 (IoU = F1 / (2 − F1)); ids ``<dataset>/<i>.png``."""
    key = {"detector": detector, "fingerprint": detector * 4, "dataset": dataset, "perturbation": perturbation,
           "seed": 0, "manifest_digest": dataset}  # fmt: skip
    evaluation = store.evaluation(key, {"requested": [dataset], "changed_options": {}})
    records = []
    for index, value in enumerate(f1):
        tp = round(50 * value)
        counts = Confusion(tp=tp, fp=0, fn=100 - 2 * tp if tp else 100, tn=0)
        scored = ImageScore(counts, score=1.0, f1=value, iou=value / (2 - value))
        records.append(Record(f"{dataset}/{index}.png", "tampered", "ok", height=10, width=10, scored=scored))
    store.add(evaluation, records)


@pytest.fixture
def scores():
    """``add_scores(store, detector, dataset, f1_values)``."""
    return add_scores


def _stored_maps(tmp_path, make_map):
    """A store with one detector on the `tiny` dataset whose maps come from ``make_map(forged)``."""
    catalog = load_catalog((pairs_dataset(tmp_path / "data", n_tampered=3, n_authentic=1),))
    manifest = build_manifest(catalog.dataset("tiny"))
    truth = GroundTruth(catalog)
    store = Store(tmp_path / "results")
    key = {"detector": "d", "fingerprint": "f" * 8, "dataset": "tiny", "perturbation": "clean", "seed": 0,
           "manifest_digest": manifest.digest}  # fmt: skip
    evaluation = store.evaluation(key, {"requested": ["tiny"], "changed_options": {}})
    records = []
    for index, sample in enumerate(s for s in manifest.samples if s.label == "tampered"):
        forged = truth.forged("tiny", manifest.digest, sample)
        save_map(store.results / f"maps/{index}.png", make_map(forged))
        score = score_image(make_map(forged), forged, "tampered")
        records.append(Record(sample.image_id, "tampered", "ok", scored=score, map_file=f"maps/{index}.png"))
    store.add(evaluation, records)
    return store, catalog, truth


@pytest.fixture
def stored_maps(tmp_path):
    """``stored_maps(make_map) → (store, catalog, truth)``: detector "d" on `tiny` (3 tampered images, real files)."""
    return lambda make_map: _stored_maps(tmp_path, make_map)
