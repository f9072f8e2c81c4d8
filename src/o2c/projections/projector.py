"""The projector: follows the log and keeps every read model current.

It pulls events in batches (eventsourcing 9.5.6 has no SQLite subscriptions,
and pulling works the same on PostgreSQL), applies them to the read models
through an in-memory row cache, and writes the changed rows together with
each model's tracking position in one transaction per batch. Two projectors
on one database (a worker and an API server, say) serialise on the tracking
rows, and one that finds the positions moved under it drops its cache, so an
event is never applied twice or skipped.

An event a read model cannot apply (a handler fails on it, or a figure does not
fit its 64-bit columns) never holds the other read models back, and is never
skipped: the failing batch is split until the one event is found; the read
models that cannot apply it stay just before it, *stuck* (logged as an error,
recorded in ``o2c_projection_faults`` with the position and the error, shown by
``Projector.health()`` and ``status()``, raised by ``catch_up`` as
``ProjectionStuckError``), and the others go on. Each process tries a stuck
read model's event again every ``RETRY_STUCK_SECONDS`` (at once if it has not
tried it yet, e.g. after a restart with a fix); it moves on when the event
applies. The database being unreachable is not an event's fault: that error is
raised as it is, and nothing is marked stuck.

Emptying and replaying read models (``rebuild``) lives in ``o2c.projections.rebuild``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from eventsourcing.persistence import InterfaceError, OperationalError

from o2c.config import Settings
from o2c.domain.errors import ProjectionStuckError
from o2c.persistence import log
from o2c.persistence.connection import SCHEMA_LOCK
from o2c.persistence.sql import Cursor, Database
from o2c.projections.base import Envelope, EventData, ReadModel, Rows, Table, text_id
from o2c.projections.read_models import READ_MODELS

#: The table of each read model's position in the log (a stored format: one row per
#: read model, ``name`` and ``position``).
TRACKING_TABLE = "o2c_tracking"
#: The events read models are stuck at (a stored format: one row per stuck read model:
#: ``name``, ``position`` of the event, its ``topic``, the ``error``, ``since`` when). A
#: row counts only while the read model's tracking position is before ``position``.
FAULTS_TABLE = "o2c_projection_faults"
#: Seconds between one process's attempts at the event a read model is stuck at.
RETRY_STUCK_SECONDS = 30.0
BATCH_SIZE = 5000
#: Rows the projector keeps cached between batches; past it the cache starts afresh, so
#: a rebuild's memory stays flat however long the log (100,000 took 138 MB at a million
#: events, 20,000 73 MB against 56 MB at 11,000; 5,000 rebuilt as fast, in 66 MB at
#: 39,000 and at 390,000 events).
CACHE_LIMIT = 5_000
#: Read models with checkpoints (the trial balance) write one at every multiple
#: of this many log positions; an as-of/known-at report then scans at most this
#: many positions of postings past the nearest checkpoint.
CHECKPOINT_EVERY = 20_000

Progress = Callable[[int, int], None]

logger = logging.getLogger("o2c.projections")
_INDEX_NAME = re.compile(r"INDEX IF NOT EXISTS \{s\}(\w+)")
#: What the database being away or busy raises: no event's fault.
_UNAVAILABLE = (OperationalError, InterfaceError, sqlite3.OperationalError)


@dataclass(frozen=True)
class Stuck:
    """A read model that cannot apply the event at ``position``: it stays just before it."""

    name: str
    position: int
    topic: str
    error: str
    since: str

    def describe(self) -> str:
        """One line for people: which read model, where, and why."""
        return (f"read model {self.name} is stuck at log position {self.position} "
                f"({self.topic}): {self.error}")


@dataclass(frozen=True)
class Health:
    """What ``/readyz`` and ``/metrics`` read (``Projector.health()``): the log's head,
    each read model's position, and the read models stuck at an event (found by
    whichever process was projecting)."""

    head: int
    positions: dict[str, int]
    stuck: tuple[Stuck, ...]

    @property
    def position(self) -> int:
        """The lowest position of any read model."""
        return min(self.positions.values(), default=self.head)

    @property
    def lag(self) -> int:
        """Events recorded that some read model has not applied yet."""
        return max(0, self.head - self.position)

    @property
    def ok(self) -> bool:
        """No read model is stuck (some may still be catching up: see ``lag``)."""
        return not self.stuck


class _BatchFailed(Exception):
    """A batch that failed other than by the database being unavailable."""

    def __init__(self, rows: list[tuple[Any, ...]], names: list[str], error: Exception) -> None:
        super().__init__(_one_line(error))
        self.count = len(rows)
        self.first, self.last = int(rows[0][0]), int(rows[-1][0])
        self.topic = str(rows[0][2])
        #: The read models that were applying it.
        self.names = names
        self.error = error


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {text}"[:500]


def index_name(index: str) -> str:
    """The name of a read model's index, from its ``CREATE INDEX`` template."""
    found = _INDEX_NAME.search(index)
    assert found is not None, index
    return found.group(1)


class _BatchRows(Rows):
    """Rows cached across batches; misses are read inside the batch's transaction."""

    def __init__(self, db: Database, tables: dict[str, Table]) -> None:
        self.db = db
        self.tables = tables
        self.cache: dict[tuple[str, tuple[Any, ...]], dict[str, Any] | None] = {}
        self.dirty: set[tuple[str, tuple[Any, ...]]] = set()
        self.added: dict[str, list[tuple[Any, ...]]] = {}
        self.cursor: Cursor | None = None

    def get(self, table: str, key: tuple[Any, ...]) -> dict[str, Any] | None:
        slot = (table, key)
        if slot not in self.cache:
            assert self.cursor is not None
            spec = self.tables[table]
            where = " AND ".join(f"{k} = ?" for k in spec.key)
            row = self.cursor.execute(
                f"SELECT {', '.join(spec.column_names)} FROM {self.db.table(table)} "
                f"WHERE {where}", key).fetchone()
            self.cache[slot] = None if row is None else dict(zip(spec.column_names, row,
                                                                 strict=True))
        # The cached row itself, not a copy: handlers change it and put it back, and a
        # batch that fails drops the whole cache (``reset``), so no half-applied change
        # outlives it. Copying every row read was a tenth of a rebuild.
        return self.cache[slot]

    def put(self, table: str, key: tuple[Any, ...], row: dict[str, Any]) -> None:
        self.cache[(table, key)] = row
        self.dirty.add((table, key))

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.append(table, tuple(row[c] for c in self.tables[table].column_names))

    def append(self, table: str, values: tuple[Any, ...]) -> None:
        added = self.added.get(table)
        if added is None:
            added = self.added[table] = []
        added.append(values)

    def flush(self, cursor: Cursor) -> None:
        by_table: dict[str, list[dict[str, Any]]] = {}
        for table, key in self.dirty:
            row = self.cache[(table, key)]
            assert row is not None
            by_table.setdefault(table, []).append(row)
        for table, rows in by_table.items():
            spec = self.tables[table]
            names = spec.column_names
            updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in spec.key)
            cursor.executemany(
                f"INSERT INTO {self.db.table(table)} ({', '.join(names)}) VALUES "
                f"({', '.join('?' for _ in names)}) ON CONFLICT ({', '.join(spec.key)}) "
                f"DO UPDATE SET {updates}", [tuple(row[c] for c in names) for row in rows])
        for table, values in self.added.items():
            names = self.tables[table].column_names
            if self.db.postgres:
                # Append-only rows (postings, settlements) are most of a rebuild's writes:
                # COPY sends them in one stream instead of a statement per row.
                with cursor.raw.copy(f"COPY {self.db.table(table)} ({', '.join(names)}) "
                                     "FROM STDIN") as copy:
                    for appended in values:
                        copy.write_row(appended)
            else:
                cursor.executemany(
                    f"INSERT INTO {self.db.table(table)} ({', '.join(names)}) VALUES "
                    f"({', '.join('?' for _ in names)})", values)
        self.dirty.clear()
        self.added.clear()
        if len(self.cache) > CACHE_LIMIT:
            self.cache.clear()

    def reset(self) -> None:
        self.cache.clear()
        self.dirty.clear()
        self.added.clear()


class Projector:
    """Keeps the read models of one database current.

    ``names`` limits it to some read models (all by default). Building one
    creates the read-model and tracking tables if they are missing (not with
    ``create_tables=False``: a read-only store is read as it is): build one
    per process and share it (the API server keeps one in its app state), not
    one per read.
    """

    def __init__(self, db: Database, settings: Settings,
                 names: Sequence[str] | None = None, *, create_tables: bool = True) -> None:
        self.db = db
        self.settings = settings
        self.models: list[ReadModel] = [cls(settings.places) for cls in READ_MODELS
                                        if names is None or cls.name in names]
        self.tables = {t.name: t for m in self.models for t in m.tables}
        self.rows = _BatchRows(self.db, self.tables)
        self._handlers = {m.name: m.handlers_by_topic() for m in self.models}
        self._known: dict[str, int] = {}
        #: Held while this projector writes (a batch, a reset, index DDL): one at a time
        #: per process; other processes are kept out by the tracking rows.
        self.lock = threading.Lock()
        #: The read models stuck at an event, as this projector's last batch saw them.
        self._parked: dict[str, Stuck] = {}
        #: When this process may next try each stuck read model's event again.
        self._retry_at: dict[str, float] = {}
        #: Whether the faults table exists (None: not looked yet; a store made by an
        #: older o2c and opened without creating tables may lack it).
        self._has_faults: bool | None = None
        #: The stuck events this projector has logged as errors (read model, position).
        self._announced: set[tuple[str, int]] = set()
        if create_tables:
            self.create_tables()

    @staticmethod
    def names() -> list[str]:
        """Every read model's name."""
        return [cls.name for cls in READ_MODELS]

    def create_tables(self) -> None:
        """Creates what is missing: tables and indexes, then tracking rows.

        When everything exists (the usual start) nothing is created, locked or
        written. What is missing is created one statement per short transaction
        under the schema lock, and missing tracking rows are inserted afterwards
        in a transaction of their own (``ON CONFLICT DO NOTHING``). So a projector
        starting beside a running one never holds a table lock (``CREATE INDEX``
        takes one even when the index exists) while it waits for a tracking row
        that the other's batch holds: one transaction of DDL and inserts did, and
        deadlocked with a worker's batch on PostgreSQL (``o2c_tracking``).
        """
        existing = self._existing()
        statements = []
        if TRACKING_TABLE not in existing:
            statements.append(f"CREATE TABLE IF NOT EXISTS {self.db.table(TRACKING_TABLE)} "
                              "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
        if FAULTS_TABLE not in existing:
            statements.append(f"CREATE TABLE IF NOT EXISTS {self.db.table(FAULTS_TABLE)} "
                              "(name TEXT PRIMARY KEY, position BIGINT NOT NULL, "
                              "topic TEXT NOT NULL, error TEXT NOT NULL, since TEXT NOT NULL)")
        for model in self.models:
            statements += [table.create_sql(self.db.table(table.name))
                           for table in model.tables if table.name not in existing]
            statements += [index_sql(self.db, index) for index in model.indexes
                           if index_name(index) not in existing]
        for statement in statements:
            with schema_transaction(self.db) as cur:
                cur.execute(statement)
        self._has_faults = True
        with self.db.transaction(write=False) as cur:
            tracked = {str(row[0]) for row in cur.execute(
                f"SELECT name FROM {self.db.table(TRACKING_TABLE)}").fetchall()}
        missing = [(m.name,) for m in self.models if m.name not in tracked]
        if missing:
            with self.db.transaction() as cur:
                cur.executemany(f"INSERT INTO {self.db.table(TRACKING_TABLE)} (name, position) "
                                "VALUES (?, 0) ON CONFLICT (name) DO NOTHING", missing)

    def _existing(self) -> set[str]:
        """The names of the tables and indexes there are (in the schema, on PostgreSQL)."""
        with self.db.transaction(write=False) as cur:
            if self.db.postgres:
                rows = cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                                   "ON n.oid = c.relnamespace WHERE n.nspname = ?",
                                   (self.db.schema,)).fetchall()
            else:
                rows = cur.execute("SELECT name FROM sqlite_master "
                                   "WHERE type IN ('table', 'index')").fetchall()
        return {str(row[0]) for row in rows}

    def _faults_table(self) -> bool:
        if self._has_faults is None:
            self._has_faults = FAULTS_TABLE in self._existing()
        return self._has_faults

    # Following the log -----------------------------------------------------------------

    def _lock_positions(self, cur: Cursor) -> dict[str, int]:
        """Locks every read model's tracking row and returns the positions; notes, in
        the same statement, which read models are stuck (``_parked``)."""
        names = [m.name for m in self.models]
        marks = ", ".join("?" for _ in names)
        table = self.db.table(TRACKING_TABLE)
        # The first statement writes, so SQLite takes its write lock before reading;
        # on PostgreSQL FOR UPDATE makes a second projector wait for this batch.
        cur.execute(f"UPDATE {table} SET position = position WHERE name IN ({marks})", names)
        if self._faults_table():
            lock = " FOR UPDATE OF t" if self.db.postgres else ""
            rows = cur.execute(
                f"SELECT t.name, t.position, f.position, f.topic, f.error, f.since "
                f"FROM {table} t LEFT JOIN {self.db.table(FAULTS_TABLE)} f "
                f"ON f.name = t.name WHERE t.name IN ({marks}){lock}", names).fetchall()
        else:
            lock = " FOR UPDATE" if self.db.postgres else ""
            rows = cur.execute(f"SELECT name, position, NULL, NULL, NULL, NULL FROM {table} "
                               f"WHERE name IN ({marks}){lock}", names).fetchall()
        self._parked = {
            str(name): Stuck(str(name), int(at), str(topic), str(error), str(since))
            for name, position, at, topic, error, since in rows
            if at is not None and int(position) < int(at)}
        return {str(name): int(position) for name, position, *_ in rows}

    def _apply(self, rows: list[tuple[Any, ...]], positions: dict[str, int]) -> None:
        behind = [m for m in self.models
                  if m.name in positions and positions[m.name] < int(rows[-1][0])]
        # Per topic, the handlers of the models this batch moves, with each model's
        # position (a model may be ahead of another after a partial rebuild).
        dispatch: dict[str, list[tuple[int, Callable[[Envelope, Rows], None]]]] = {}
        for model in behind:
            for topic, handler in self._handlers[model.name].items():
                dispatch.setdefault(topic, []).append((positions[model.name], handler))
        cache = self.rows
        for position, oid, topic, state, recorded_at in rows:
            handlers = dispatch.get(topic)
            if handlers is None:
                continue  # no read model cares: not even decoded
            envelope = Envelope(int(position), recorded_at,
                                EventData(text_id(oid), orjson.loads(state)))
            for after, handler in handlers:
                if envelope.position > after:
                    handler(envelope, cache)

    def step(self, limit: int = BATCH_SIZE) -> tuple[int, int]:
        """Applies one batch; returns (events read, lowest position of the read models
        that are not stuck).

        A batch never crosses a checkpoint boundary (a multiple of
        ``CHECKPOINT_EVERY``): read models that keep checkpoints write them
        exactly there, so live and rebuilt models hold the same rows.

        A batch that fails (other than by the database being unavailable, which
        is raised) is split until the event it fails on is alone; the read models
        that cannot apply that event stay before it, stuck (see the module's
        docstring), and this returns what the others reached.
        """
        self._retry_stuck()
        try:
            return self._batch(limit)
        except _BatchFailed as failed:
            return self._isolate(failed)

    def _batch(self, limit: int, only: set[str] | None = None) -> tuple[int, int]:
        """One batch for the read models that are not stuck (or for ``only``, stuck or
        not); ``_BatchFailed`` when applying or writing it fails."""
        with self.lock:
            failing: tuple[list[tuple[Any, ...]], list[str]] | None = None
            try:
                with self.db.transaction() as cur:
                    everything = self._lock_positions(cur)
                    positions = {n: p for n, p in everything.items()
                                 if (n in only if only is not None else n not in self._parked)}
                    if not positions:
                        return 0, self._lowest_following(everything, cur)
                    if any(p != self._known.get(n) for n, p in positions.items()):
                        self.rows.reset()  # someone else moved the positions: stale cache
                    start = min(positions.values())
                    stop = (start // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY
                    rows = log.batch(self.db, cur, start, stop, limit)
                    # Ids are given out and committed in order (the recorder's table lock,
                    # or SQLite's single writer), so once the head is past ``stop`` every
                    # event up to it is visible: a batch that read fewer than ``limit``
                    # has them all.
                    read_all = len(rows) < limit or int(rows[-1][0]) == stop
                    complete = read_all and log.head(self.db, cur) >= stop
                    if not rows and not complete:
                        self._known.update(positions)
                        return 0, start
                    last = stop if complete else int(rows[-1][0])
                    if rows:
                        failing = rows, [n for n, p in positions.items() if p < int(rows[0][0])]
                    self.rows.cursor = cur
                    try:
                        if rows:
                            self._apply(rows, positions)
                        self.rows.flush(cur)
                        if complete:
                            for model in self.models:
                                if positions.get(model.name, stop) < stop:
                                    model.checkpoint(cur, self.db.table, stop)
                    finally:
                        self.rows.cursor = None
                    moved = {name: max(position, last) for name, position in positions.items()}
                    cur.executemany(f"UPDATE {self.db.table(TRACKING_TABLE)} SET position = ? "
                                    "WHERE name = ?", [(p, n) for n, p in moved.items()])
                    passed = [(n,) for n in moved
                              if n in self._parked and moved[n] >= self._parked[n].position]
                    cur.executemany(f"DELETE FROM {self.db.table(FAULTS_TABLE)} "
                                    "WHERE name = ?", passed)
            except BaseException as error:
                self.rows.reset()
                self._known = {}
                if failing is None or not isinstance(error, Exception) or isinstance(
                        error, _UNAVAILABLE):
                    raise
                raise _BatchFailed(*failing, error) from error
            self._known.update(moved)
            for (name,) in passed:
                logger.warning("read model %s applied the event it was stuck at (position %d) "
                               "and follows the log again", name, self._parked.pop(name).position)
            return len(rows), min(moved.values())

    def _isolate(self, failed: _BatchFailed, only: set[str] | None = None) -> tuple[int, int]:
        """Applies smaller and smaller batches until the event ``failed`` failed on is
        alone, then parks the read models that cannot apply it."""
        while failed.count > 1:
            size = max(1, failed.count // 2)
            try:
                count, reached = self._batch(size, only)
            except _BatchFailed as again:
                failed = again
                continue
            if count == 0 or reached >= failed.last:  # it went through this time
                return count, reached
        names = failed.names
        for name in names:
            if len(names) > 1:
                try:  # which of the read models cannot apply it?
                    self._batch(1, {name})
                    continue
                except _BatchFailed as alone:
                    failed = alone
            self._park(name, failed)
        return 0, self._lowest_following()

    def _park(self, name: str, failed: _BatchFailed) -> None:
        """Records that read model ``name`` cannot apply the event ``failed`` is about:
        logged as an error when that is news (a fault already recorded there, found
        again on a retry, is logged at INFO: ``health`` and ``/readyz`` keep saying it)."""
        table = self.db.table(FAULTS_TABLE)
        error = _one_line(failed.error)
        with self.db.transaction() as cur:
            known = cur.execute(f"SELECT position, error, since FROM {table} WHERE name = ?",
                                (name,)).fetchone()
            news = known is None or (int(known[0]), str(known[1])) != (failed.first, error)
            since = (str(known[2]) if known is not None and int(known[0]) == failed.first
                     else datetime.now(UTC).isoformat(timespec="seconds"))
            stuck = Stuck(name, failed.first, failed.topic, error, since)
            if news:
                cur.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
                cur.execute(f"INSERT INTO {table} (name, position, topic, error, since) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (name, stuck.position, stuck.topic, stuck.error, stuck.since))
        if news:
            self._announced.add((name, stuck.position))
        logger.log(logging.ERROR if news else logging.INFO,
                   "%s; it stays before that event (nothing is skipped), the other read "
                   "models go on, and it is tried again every %g s", stuck.describe(),
                   RETRY_STUCK_SECONDS)
        self._parked[name] = stuck
        self._retry_at[name] = time.monotonic() + RETRY_STUCK_SECONDS

    def _retry_stuck(self) -> None:
        """Tries each stuck read model's event again, when its time has come."""
        for name in list(self._parked):
            if not self._due(name):
                continue
            self._retry_at[name] = time.monotonic() + RETRY_STUCK_SECONDS
            try:
                self._batch(BATCH_SIZE, {name})
            except _BatchFailed as failed:
                self._isolate(failed, {name})

    def _due(self, name: str | None = None) -> bool:
        """Whether a stuck read model (``name``, or any) is due to be tried again."""
        now = time.monotonic()
        return any(self._retry_at.get(n, 0.0) <= now for n in self._parked
                   if name is None or n == name)

    def _lowest_following(self, positions: dict[str, int] | None = None,
                          cur: Cursor | None = None) -> int:
        """The lowest position of the read models that are not stuck (the head when
        all of them are)."""
        if positions is None:
            positions = self._read_positions().positions
        following = [p for n, p in positions.items() if n not in self._parked]
        return min(following) if following else log.head(self.db, cur)

    def stuck(self) -> list[Stuck]:
        """The read models stuck at an event, as this projector's last batch saw them
        (``health`` asks the database)."""
        return list(self._parked.values())

    def catch_up(self, progress: Progress | None = None) -> int:
        """Applies every event recorded so far; returns the position reached.

        ``ProjectionStuckError`` (after bringing every other read model up to date)
        when a read model is stuck at an event: what it shows would be stale.
        """
        head = log.head(self.db)
        position = -1
        tried: set[str] = set()
        while True:
            previous = position
            _, position = self.step()
            if progress is not None:
                progress(position, head)
            # A stuck read model due to be tried again is tried (once per catch-up)
            # before giving up on it: a process new to it tries at once.
            due = {name for name in self._parked if self._due(name)} - tried
            if (position >= head or position == previous) and not due:
                break
            tried |= due
        if self._parked:
            raise ProjectionStuckError(
                "; ".join(s.describe() for s in self._parked.values())
                + " (the log is intact; fix the cause and run again)")
        return position

    def position(self) -> int:
        """The lowest tracking position of this projector's read models."""
        return self._read_positions().position

    def head(self) -> int:
        """The log position of the newest event."""
        return log.head(self.db)

    def status(self) -> list[dict[str, int | str]]:
        """Each read model's position, the log's head, the lag between them, and
        ``stuck``: why it cannot move on (one line: the event's position and the
        error), or "" when it is not stuck."""
        health = self.health()
        stuck = {s.name: s.describe() for s in health.stuck}
        return [{"name": n, "position": p, "head": health.head, "lag": health.head - p,
                 "stuck": stuck.get(n, "")} for n, p in health.positions.items()]

    def health(self) -> Health:
        """The log's head, each read model's position and the stuck ones, read from
        the database, so any process sees what the one projecting found: for
        ``/readyz`` (not ready while ``stuck``, or while ``lag`` is high) and
        ``/metrics``. Reads only; never waits for a batch."""
        return self._read_positions(faults=True)

    def _read_positions(self, *, faults: bool = False) -> Health:
        head = log.head(self.db)
        names = [m.name for m in self.models]
        with self.db.transaction(write=False) as cur:
            tracked = dict(cur.execute(
                f"SELECT name, position FROM {self.db.table(TRACKING_TABLE)}").fetchall())
            found = cur.execute(
                f"SELECT name, position, topic, error, since FROM "
                f"{self.db.table(FAULTS_TABLE)}").fetchall() if (
                faults and self._faults_table()) else []
        positions = {n: int(tracked.get(n, 0)) for n in names}
        stuck = tuple(Stuck(str(n), int(at), str(topic), str(error), str(since))
                      for n, at, topic, error, since in found
                      if n in positions and positions[n] < int(at))
        return Health(head, positions, stuck)

    def wait_for(self, position: int, timeout: float = 2.0) -> bool:
        """Waits until every read model has reached ``position`` (catching up itself);
        False at once when a read model is stuck before it."""
        deadline = time.monotonic() + timeout
        while True:
            if self.position() >= position:
                return True
            try:
                self.catch_up()
            except ProjectionStuckError:
                return self.position() >= position
            if self.position() >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def run_forever(self, stop: threading.Event, interval: float = 0.05) -> None:
        """Follows the log until ``stop`` is set (the worker process and the server).

        A stuck read model does not stop it (the others follow; see ``step``): it
        is logged as an error when first seen, and the database being unavailable
        is logged and waited out."""
        while not stop.is_set():
            for stuck in self._parked.values():
                if (stuck.name, stuck.position) not in self._announced:
                    self._announced.add((stuck.name, stuck.position))
                    logger.error("%s (since %s)", stuck.describe(), stuck.since)
            try:
                if self._lowest_following() >= log.head(self.db) and not self._due():
                    stop.wait(interval)  # idle: reads only, no write lock
                    continue
                count, _ = self.step()
            except _UNAVAILABLE as error:
                logger.warning("projector: the database is unavailable (%s); retrying",
                               _one_line(error))
                stop.wait(max(interval, 1.0))
                continue
            if count == 0:
                stop.wait(interval)

    @contextmanager
    def exclusive(self) -> Iterator[Cursor]:
        """A write transaction holding this projector's read models still: their
        tracking rows are locked (no other projector moves them meanwhile) and the
        row cache is dropped afterwards (the caller changes rows under it)."""
        with self.lock:
            try:
                with self.db.transaction() as cur:
                    self._lock_positions(cur)
                    yield cur
            finally:
                self.rows.reset()
                self._known = {}

    def digest(self, name: str) -> str:
        """A canonical SHA-256 of a read model's rows, to compare live and rebuilt."""
        model = next(m for m in self.models if m.name == name)
        digest = hashlib.sha256()
        with self.db.transaction(write=False) as cur:
            for table in model.tables:
                names = table.column_names
                rows = cur.execute(f"SELECT {', '.join(names)} FROM {self.db.table(table.name)} "
                                   f"ORDER BY {', '.join(table.key)}").fetchall()
                digest.update(table.name.encode())
                for row in rows:
                    digest.update(json.dumps([_plain(v) for v in row]).encode())
        return digest.hexdigest()


@contextmanager
def schema_transaction(db: Database) -> Iterator[Cursor]:
    """A write transaction for DDL on read models: on PostgreSQL it takes the schema
    lock first (two processes starting together must not race on DDL)."""
    with db.transaction() as cur:
        if db.postgres:
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        yield cur


def index_sql(db: Database, index: str) -> str:
    """A read model's ``CREATE INDEX`` for this database (PostgreSQL names an index
    without its schema, and its table with it)."""
    prefix = f'"{db.schema}".' if db.postgres else ""
    return index.format(s="", t=prefix)


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value
