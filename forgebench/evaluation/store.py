"""The results store: one SQLite database of evaluations and their per-image records.

An *evaluation* is one (detector fingerprint, dataset manifest, perturbation chain, seed); its
*records* hold the full-precision per-image counts and scores, or the error that stopped that image.
Records are committed batch by batch, so an interrupted run loses nothing already scored.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import socket
import sqlite3
import time
import types
import typing
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from forgebench.evaluation.metrics import ImageScore

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a store this code writes. 0 is the store of forgebench's first layout, whose columns
are the same: it opens as it is and is marked 1. A per-image metric added later is a new column, added on open."""

EVALUATIONS = """
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
"""


CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    evaluation INTEGER NOT NULL,
    image_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (evaluation, image_id)
);
"""
LABELS = """
CREATE TABLE IF NOT EXISTS labels (
    fingerprint TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created TEXT NOT NULL
);
"""
"""The names runs gave their detector configurations (``--label``); the latest one counts."""

LEASE_SECONDS = 600.0
"""How long a claim on an image lasts without its holder committing anything; a holder that has died on this
machine loses its claims at once."""


class StoreVersionError(RuntimeError):
    """A results store written by a newer forgebench than this one."""


@dataclass(frozen=True)
class Record:
    """One image's outcome. ``status`` is "ok", "error" (not scored; see message) or "invalid" (data error).

    The store's ``records`` columns are these fields, with ``scored`` (and its ``counts``) flattened into theirs.
    """

    image_id: str
    label: str
    status: str
    message: str | None = None
    height: int | None = None
    width: int | None = None
    scored: ImageScore | None = None
    """What the protocol measured ("ok" records only)."""
    notes: str | None = None
    load_seconds: float | None = None
    detect_seconds: float | None = None
    map_file: str | None = None
    """The map as scored, at the ground truth's size (8-bit, see ``mapcache``), relative to the results folder."""
    map_height: int | None = None
    """The size of the map the detector returned (records written before forgebench kept it: None)."""
    map_width: int | None = None
    native_map_file: str | None = None
    """The map at the detector's own size, where that differs from the ground truth's (else ``map_file`` is it)."""


@functools.cache
def columns(kind: type, nullable: bool = False) -> tuple[tuple[str, str], ...]:
    """(name, SQL declaration) of every column of dataclass ``kind``, nested dataclasses flattened in place (the
    columns of an optional part are all nullable)."""
    found: list[tuple[str, str]] = []
    for name, nested, optional in _parts(kind):
        if nested is not None:
            found += columns(nested, nullable or optional)
        else:
            hint = _plain(typing.get_type_hints(kind)[name])[0]
            found.append((name, _SQL_TYPES[hint] + ("" if nullable or optional else " NOT NULL")))
    return tuple(found)


def flatten(record: Any) -> list[object]:
    """A record's values in ``RECORD_COLUMNS`` order (for any dataclass: its values in ``columns`` order)."""
    values: list[object] = []
    for name, nested, _ in _parts(type(record)):
        value = getattr(record, name)
        if nested is None:
            values.append(value)
        else:
            values += flatten(value) if value is not None else [None] * len(columns(nested))
    return values


def unflatten(kind: type, row: dict[str, Any]) -> Any:
    """Rebuild dataclass ``kind`` from a row keyed by column; an optional nested part whose columns are all NULL
    is None."""
    values = {}
    for name, nested, optional in _parts(kind):
        if nested is None:
            values[name] = row[name]
        elif optional and all(row[column] is None for column, _ in columns(nested)):
            values[name] = None
        else:
            values[name] = unflatten(nested, row)
    return kind(**values)


_SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}


@functools.cache
def _parts(kind: type) -> tuple[tuple[str, type | None, bool], ...]:
    """(name, the nested dataclass or None, whether optional) of each field of dataclass ``kind``."""
    hints = typing.get_type_hints(kind)
    parts = []
    for f in fields(kind):
        hint, optional = _plain(hints[f.name])
        parts.append((f.name, hint if dataclasses.is_dataclass(hint) else None, optional))
    return tuple(parts)


def _plain(hint: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (hint, False)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0], True
    return hint, False


RECORD_COLUMNS = tuple(name for name, _ in columns(Record))


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


BUSY_SECONDS = 120


def _write_ahead_log(db: sqlite3.Connection, path: Path) -> None:
    """Put the store in WAL mode (readers never block the writer), waiting for other processes opening it.

    SQLite answers "database is locked" to this pragma without calling its busy handler while another connection
    is switching the same new file, so processes that open one results folder together retry here.
    """
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise sqlite3.OperationalError(f"{path}: {error}") from error
            time.sleep(0.05)


class Store:
    """Access to ``<results>/forgebench.sqlite``."""

    def __init__(self, results: Path) -> None:
        results.mkdir(parents=True, exist_ok=True)
        self.results = results
        self.path = results / "forgebench.sqlite"
        self._db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)  # processes sharing a run wait for commits
        try:
            _write_ahead_log(self._db, self.path)
        except sqlite3.OperationalError:
            self._db.close()
            raise
        self._db.row_factory = sqlite3.Row
        self._prepare()

    def _prepare(self) -> None:
        """Create the tables, or bring a store of an earlier schema up to this one (adding new metric columns)."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{self.path} was written by a newer forgebench (store schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}): upgrade forgebench, or give --results another folder"
            )
        with self._db:
            self._db.executescript(EVALUATIONS + CLAIMS + LABELS)
            declared = ", ".join(f"{name} {kind}" for name, kind in columns(Record))
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (evaluation INTEGER NOT NULL REFERENCES evaluations(id), "
                f"{declared}, PRIMARY KEY (evaluation, image_id))"
            )
            present = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
            for name, kind in columns(Record):
                if name not in present:
                    self._db.execute(f"ALTER TABLE records ADD COLUMN {name} {kind.replace(' NOT NULL', '')}")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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

    def name(self, fingerprint: str, label: str) -> None:
        """Name a detector configuration in tables (replacing the name it had)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO labels (fingerprint, label, created) VALUES (?, ?, ?)",
                [fingerprint, label, datetime.now(timezone.utc).isoformat()],
            )

    def labels(self) -> dict[str, str]:
        """Fingerprint → the label a run gave it."""
        return {row[0]: row[1] for row in self._db.execute("SELECT fingerprint, label FROM labels")}

    def recorded(self, evaluation: Evaluation, *, including_errors: bool = True) -> set[str]:
        """Image ids that already have a record (optionally leaving errors out, so they are retried)."""
        query = "SELECT image_id FROM records WHERE evaluation=?" + ("" if including_errors else " AND status!='error'")
        return {row[0] for row in self._db.execute(query, [evaluation.id])}

    def add(self, evaluation: Evaluation, records: Iterable[Record], holder: str | None = None) -> None:
        """Insert or replace records in one transaction, releasing ``holder``'s claims on them.

        A scored ("ok") record is never replaced by one that is not: a process that failed on an image another
        process scored cannot undo that score.
        """
        records = list(records)
        updates = ", ".join(f"{name}=excluded.{name}" for name in RECORD_COLUMNS)
        with self._db:
            self._db.executemany(
                f"INSERT INTO records (evaluation, {', '.join(RECORD_COLUMNS)}) "
                f"VALUES ({', '.join('?' * (len(RECORD_COLUMNS) + 1))}) "
                f"ON CONFLICT (evaluation, image_id) DO UPDATE SET {updates} "
                "WHERE records.status != 'ok' OR excluded.status = 'ok'",
                [[evaluation.id, *flatten(r)] for r in records],
            )
            if holder is not None:
                self._db.executemany(
                    "DELETE FROM claims WHERE evaluation=? AND image_id=? AND holder=?",
                    [(evaluation.id, r.image_id, holder) for r in records],
                )
                self._db.execute("UPDATE claims SET expires=? WHERE holder=?", [time.time() + LEASE_SECONDS, holder])

    def claim(
        self, evaluation: Evaluation, image_ids: Sequence[str], holder: str, *, including_errors: bool
    ) -> list[str]:
        """Of ``image_ids``, those that ``holder`` may score now, claimed for it: not recorded (errors count as
        recorded when ``including_errors``) and not claimed by another live holder. Claims of holders that died
        on this machine, or that committed nothing for ``LEASE_SECONDS``, are void."""
        self._db.execute("BEGIN IMMEDIATE")  # one claimer at a time: two holders never get the same image
        try:
            self._drop_void_claims()
            marks = ", ".join("?" * len(image_ids))
            errors = "" if including_errors else " AND status != 'error'"
            done = self._db.execute(
                f"SELECT image_id FROM records WHERE evaluation=? AND image_id IN ({marks}){errors}",
                [evaluation.id, *image_ids],
            )
            taken = self._db.execute(
                f"SELECT image_id FROM claims WHERE evaluation=? AND holder!=? AND image_id IN ({marks})",
                [evaluation.id, holder, *image_ids],
            )
            busy = {row[0] for row in done} | {row[0] for row in taken}
            free = [image_id for image_id in image_ids if image_id not in busy]
            expires = time.time() + LEASE_SECONDS
            self._db.executemany(
                "INSERT OR REPLACE INTO claims (evaluation, image_id, holder, expires) VALUES (?, ?, ?, ?)",
                [(evaluation.id, image_id, holder, expires) for image_id in free],
            )
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()
        return free

    def release(self, holder: str) -> None:
        """Drop every claim of ``holder`` (its images go to whoever runs next)."""
        with self._db:
            self._db.execute("DELETE FROM claims WHERE holder=?", [holder])

    def _drop_void_claims(self) -> None:
        self._db.execute("DELETE FROM claims WHERE expires < ?", [time.time()])
        holders = [row[0] for row in self._db.execute("SELECT DISTINCT holder FROM claims")]
        dead = [holder for holder in holders if not holder_alive(holder)]
        self._db.executemany("DELETE FROM claims WHERE holder=?", [(holder,) for holder in dead])

    def records(self, evaluation: Evaluation) -> list[Record]:
        rows = self._db.execute(
            f"SELECT {', '.join(RECORD_COLUMNS)} FROM records WHERE evaluation=? ORDER BY image_id", [evaluation.id]
        )
        return [unflatten(Record, dict(row)) for row in rows]

    def evaluations(self) -> Iterator[Evaluation]:
        """All evaluations, oldest first."""
        for row in self._db.execute("SELECT * FROM evaluations ORDER BY id"):
            yield _evaluation(row)


def new_holder() -> str:
    """A name for this process's claims: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_alive(holder: str) -> bool:
    """False only for a holder of this machine whose process is gone (others are trusted until their lease ends)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return host != socket.gethostname() or not pid.isdigit() or process_alive(int(pid))


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _evaluation(row: sqlite3.Row) -> Evaluation:
    values = dict(row)
    values.pop("created")
    values["manifest"] = json.loads(values["manifest"])
    return Evaluation(**values)
