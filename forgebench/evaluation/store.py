"""The results store: one SQLite database of evaluations and their per-image records.

An *evaluation* is one (detector fingerprint, dataset manifest, perturbation chain, seed); its
*records* hold the full-precision per-image counts and scores, or the error that stopped that image.
Records are committed batch by batch, so an interrupted run loses nothing already scored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY,
    detector TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    dataset TEXT NOT NULL,
    perturbation TEXT NOT NULL,
    seed INTEGER NOT NULL,
    manifest_digest TEXT NOT NULL,
    manifest TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (fingerprint, dataset, perturbation, seed, manifest_digest)
);
CREATE TABLE IF NOT EXISTS records (
    evaluation INTEGER NOT NULL REFERENCES evaluations(id),
    image_id TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    height INTEGER, width INTEGER,
    tp INTEGER, fp INTEGER, fn INTEGER, tn INTEGER,
    f1 REAL, iou REAL, fpr REAL, score REAL,
    auc REAL, f1_best REAL, iou_best REAL, f1_inv REAL, iou_inv REAL,
    notes TEXT,
    load_seconds REAL, detect_seconds REAL,
    map_file TEXT,
    PRIMARY KEY (evaluation, image_id)
);
"""


@dataclass(frozen=True)
class Record:
    """One image's outcome. ``status`` is "ok", "error" (not scored; see message) or "invalid" (data error)."""

    image_id: str
    label: str
    status: str
    message: str | None = None
    height: int | None = None
    width: int | None = None
    tp: int | None = None
    fp: int | None = None
    fn: int | None = None
    tn: int | None = None
    f1: float | None = None
    iou: float | None = None
    fpr: float | None = None
    score: float | None = None
    auc: float | None = None
    f1_best: float | None = None
    iou_best: float | None = None
    f1_inv: float | None = None
    iou_inv: float | None = None
    notes: str | None = None
    load_seconds: float | None = None
    detect_seconds: float | None = None
    map_file: str | None = None


RECORD_COLUMNS = tuple(f.name for f in fields(Record))


@dataclass(frozen=True)
class Evaluation:
    id: int
    detector: str
    fingerprint: str
    dataset: str
    perturbation: str
    seed: int
    manifest_digest: str
    manifest: dict[str, Any]


class Store:
    """Access to ``<results>/forgebench.sqlite``."""

    def __init__(self, results: Path) -> None:
        results.mkdir(parents=True, exist_ok=True)
        self.results = results
        self.path = results / "forgebench.sqlite"
        self._db = sqlite3.connect(self.path, timeout=120)  # processes sharing a run wait for each other's commits
        self._db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def evaluation(self, key: dict[str, Any], manifest: dict[str, Any]) -> Evaluation:
        """The evaluation with this key, created (with its run manifest) if new."""
        columns = ("detector", "fingerprint", "dataset", "perturbation", "seed", "manifest_digest")
        with self._db:
            self._db.execute(
                f"INSERT OR IGNORE INTO evaluations ({', '.join(columns)}, manifest, created) "
                f"VALUES ({', '.join('?' * (len(columns) + 2))})",
                [*(key[c] for c in columns), json.dumps(manifest), datetime.now(timezone.utc).isoformat()],
            )
        row = self._db.execute(
            "SELECT * FROM evaluations WHERE fingerprint=? AND dataset=? AND perturbation=? AND seed=? "
            "AND manifest_digest=?",
            [key["fingerprint"], key["dataset"], key["perturbation"], key["seed"], key["manifest_digest"]],
        ).fetchone()
        return _evaluation(row)

    def recorded(self, evaluation: Evaluation, *, including_errors: bool = True) -> set[str]:
        """Image ids that already have a record (optionally leaving errors out, so they are retried)."""
        query = "SELECT image_id FROM records WHERE evaluation=?" + ("" if including_errors else " AND status!='error'")
        return {row[0] for row in self._db.execute(query, [evaluation.id])}

    def add(self, evaluation: Evaluation, records: Iterable[Record]) -> None:
        """Insert or replace records in one transaction."""
        rows = [[evaluation.id, *asdict(r).values()] for r in records]
        with self._db:
            self._db.executemany(
                f"INSERT OR REPLACE INTO records (evaluation, {', '.join(RECORD_COLUMNS)}) "
                f"VALUES ({', '.join('?' * (len(RECORD_COLUMNS) + 1))})",
                rows,
            )

    def records(self, evaluation: Evaluation) -> list[Record]:
        rows = self._db.execute(
            f"SELECT {', '.join(RECORD_COLUMNS)} FROM records WHERE evaluation=? ORDER BY image_id", [evaluation.id]
        )
        return [Record(**dict(row)) for row in rows]

    def evaluations(self) -> Iterator[Evaluation]:
        """All evaluations, oldest first."""
        for row in self._db.execute("SELECT * FROM evaluations ORDER BY id"):
            yield _evaluation(row)


def _evaluation(row: sqlite3.Row) -> Evaluation:
    values = dict(row)
    values.pop("created")
    values["manifest"] = json.loads(values["manifest"])
    return Evaluation(**values)
