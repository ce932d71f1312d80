"""The results store: columns derived from the record type, schema versions, and stores of the first layout."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from builders import pairs_dataset

from forgebench.analysis import leaderboard
from forgebench.data.catalog import load_catalog
from forgebench.evaluation import store as store_module
from forgebench.evaluation.metrics import Confusion, ImageScore
from forgebench.evaluation.store import (
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    Record,
    Store,
    StoreVersionError,
    holder_alive,
    new_holder,
)
from forgebench.render.tables import write_leaderboard

FIRST_LAYOUT = Path(__file__).parents[2] / "fixtures" / "store-v0"
"""``forgebench.sqlite`` and the leaderboard CSVs written by forgebench before the layered layout (commit bfc4bc8):
``forgebench run ela|all-forged|noi1 --extra auc`` and ``forgebench run ela --perturb jpeg:q=70`` on the dataset of
``builders.pairs_dataset`` (5 tampered, 2 authentic), then ``forgebench leaderboard``."""


def test_a_store_of_the_first_layout_opens_and_gives_the_same_tables(tmp_path):
    shutil.copy(FIRST_LAYOUT / "forgebench.sqlite", tmp_path)
    catalog = load_catalog((pairs_dataset(tmp_path / "data"),))
    with Store(tmp_path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        board = leaderboard.build(store, catalog, ["tiny"])
        jpeg = leaderboard.build(store, catalog, ["tiny"], "jpeg(q=70,ss=420)")
    write_leaderboard(board, tmp_path / "out")
    assert (tmp_path / "out/leaderboard.csv").read_text() == (FIRST_LAYOUT / "leaderboard.csv").read_text()
    long = pd.read_csv(tmp_path / "out/leaderboard-long.csv")  # the same, plus each configuration in full
    assert list(long.name) == list(long.detector) and set(long.options) == {"{}"}
    added = long.drop(columns=["name", "options", "weights_digest"])
    assert added.to_csv(index=False) == pd.read_csv(FIRST_LAYOUT / "leaderboard-long.csv").to_csv(index=False)
    assert sorted(board.labels()) == ["all-forged", "ela", "noi1"]
    assert [c.detector for c in jpeg.cells] == ["ela"] and jpeg.cells[0].score.n_tampered == 5


def test_records_round_trip_through_the_derived_columns(tmp_path):
    scored = ImageScore(Confusion(3, 1, 2, 94), score=0.75, f1=6 / 9, iou=0.5, auc=0.9, f1_inv=0.7, iou_inv=0.55)
    records = [
        Record("d/a.png", "tampered", "ok", height=10, width=10, scored=scored, notes="n", map_file="maps/a.png"),
        Record("d/b.png", "tampered", "error", message="cannot identify image file"),
    ]
    with Store(tmp_path) as store:
        evaluation = store.evaluation(
            {"detector": "x", "fingerprint": "f", "dataset": "d", "perturbation": "clean", "seed": 0,
             "manifest_digest": "m"}, {},
        )  # fmt: skip
        store.add(evaluation, records)
        assert store.records(evaluation) == records
        stored = [row[1] for row in store._db.execute("PRAGMA table_info(records)")]
    assert stored == ["evaluation", *RECORD_COLUMNS]
    assert RECORD_COLUMNS[6:10] == ("tp", "fp", "fn", "tn") and "auc" in RECORD_COLUMNS


def test_a_store_missing_a_metric_column_gets_it(tmp_path):
    shutil.copy(FIRST_LAYOUT / "forgebench.sqlite", tmp_path)
    with sqlite3.connect(tmp_path / "forgebench.sqlite") as db:
        db.execute("ALTER TABLE records DROP COLUMN iou_inv")
    with Store(tmp_path) as store:
        columns = [row[1] for row in store._db.execute("PRAGMA table_info(records)")]
        records = [r for e in store.evaluations() for r in store.records(e)]
    assert "iou_inv" in columns and len(records) == 4 * 7
    assert all(r.scored is None or r.scored.iou_inv is None for r in records)


def test_a_store_of_a_newer_forgebench_is_refused_with_its_path(tmp_path):
    with sqlite3.connect(tmp_path / "forgebench.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreVersionError, match=r"forgebench\.sqlite was written by a newer forgebench"):
        Store(tmp_path)


def evaluation_of(store: Store):
    key = {"detector": "x", "fingerprint": "f", "dataset": "d", "perturbation": "clean", "seed": 0,
           "manifest_digest": "m"}  # fmt: skip
    return store.evaluation(key, {})


def test_a_scored_record_is_never_replaced_by_an_error(tmp_path):
    scored = ImageScore(Confusion(1, 0, 0, 3), score=0.9, f1=1.0, iou=1.0)
    good = Record("d/a.png", "tampered", "ok", scored=scored)
    with Store(tmp_path) as store:
        evaluation = evaluation_of(store)
        store.add(evaluation, [Record("d/a.png", "tampered", "error", message="first try failed")])
        store.add(evaluation, [good])
        store.add(evaluation, [Record("d/a.png", "tampered", "error", message="[Errno 2] another process's file")])
        assert store.records(evaluation) == [good]
        rescored = dataclasses.replace(good, scored=dataclasses.replace(scored, auc=0.5))
        store.add(evaluation, [rescored])
        assert store.records(evaluation) == [rescored]


def test_claims_split_images_between_holders_and_die_with_their_process(tmp_path):
    ids = ["d/a.png", "d/b.png", "d/c.png"]
    with Store(tmp_path) as store:
        evaluation = evaluation_of(store)
        first, second = new_holder(), new_holder()
        assert store.claim(evaluation, ids[:2], first, including_errors=True) == ids[:2]
        assert store.claim(evaluation, ids, second, including_errors=True) == ["d/c.png"]
        store.add(evaluation, [Record("d/a.png", "tampered", "error", message="x")], first)
        # a: recorded; b: first's; c: second's own claim, given again
        assert store.claim(evaluation, ids, second, including_errors=True) == ["d/c.png"]
        assert store.claim(evaluation, ids, second, including_errors=False) == ["d/a.png", "d/c.png"]  # errors retried
        host, _, token = first.split(":")
        dead = f"{host}:{2**22 + 12345}:{token}"  # above Linux's largest pid: no such process
        assert not holder_alive(dead) and holder_alive(first)
        store._db.execute("UPDATE claims SET holder=? WHERE holder=?", [dead, first])
        store._db.commit()
        assert store.claim(evaluation, ids, second, including_errors=True) == ["d/b.png", "d/c.png"]
        store.release(second)
        assert store._db.execute("SELECT count(*) FROM claims").fetchone()[0] == 0


class _Switching:
    """A connection whose WAL switch reports ``answers`` in turn (an error message, or None for success)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def execute(self, sql):
        assert sql == "PRAGMA journal_mode=WAL"
        self.calls += 1
        answer = self.answers.pop(0)
        if answer is not None:
            raise sqlite3.OperationalError(answer)


def test_the_wal_switch_waits_while_another_process_holds_the_new_file(monkeypatch, tmp_path):
    monkeypatch.setattr(store_module.time, "sleep", lambda seconds: None)
    db = _Switching("database is locked", "database is locked", None)
    store_module._write_ahead_log(db, tmp_path / "forgebench.sqlite")
    assert db.calls == 3


def test_the_wal_switch_names_the_file_for_any_other_error_and_gives_up_after_the_busy_time(monkeypatch, tmp_path):
    monkeypatch.setattr(store_module.time, "sleep", lambda seconds: None)
    with pytest.raises(sqlite3.OperationalError, match=r"forgebench\.sqlite: disk I/O error"):
        store_module._write_ahead_log(_Switching("disk I/O error"), tmp_path / "forgebench.sqlite")
    clock = iter([0.0, store_module.BUSY_SECONDS + 1])
    monkeypatch.setattr(store_module.time, "monotonic", lambda: next(clock))
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        store_module._write_ahead_log(_Switching("database is locked"), tmp_path / "forgebench.sqlite")
