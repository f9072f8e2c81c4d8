"""The projector: follows the log and keeps every read model current.

It pulls events in batches (eventsourcing 9.5.6 has no SQLite subscriptions,
and pulling works the same on PostgreSQL), applies them to the read models
through an in-memory row cache, and writes the changed rows together with
each model's tracking position in one transaction per batch. Two projectors
on one database (a worker and an API server, say) serialise on the tracking
rows, and one that finds the positions moved under it drops its cache, so an
event is never applied twice or skipped.

Emptying and replaying read models (``rebuild``) lives in ``o2c.projections.rebuild``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from o2c.config import Settings
from o2c.persistence import log
from o2c.persistence.connection import SCHEMA_LOCK
from o2c.persistence.sql import Cursor, Database
from o2c.projections.base import Envelope, EventData, ReadModel, Rows, Table, text_id
from o2c.projections.read_models import READ_MODELS

#: The table of each read model's position in the log (a stored format: one row per
#: read model, ``name`` and ``position``).
TRACKING_TABLE = "o2c_tracking"
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
    creates the read-model and tracking tables if they are missing: build one
    per process and share it (the API server keeps one in its app state), not
    one per read.
    """

    def __init__(self, db: Database, settings: Settings,
                 names: Sequence[str] | None = None) -> None:
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
        self.create_tables()

    @staticmethod
    def names() -> list[str]:
        """Every read model's name."""
        return [cls.name for cls in READ_MODELS]

    def create_tables(self) -> None:
        """Creates the read-model and tracking tables if they are missing."""
        with schema_transaction(self.db) as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self.db.table(TRACKING_TABLE)} "
                        "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
            for model in self.models:
                for table in model.tables:
                    cur.execute(table.create_sql(self.db.table(table.name)))
                for index in model.indexes:
                    cur.execute(index_sql(self.db, index))
                cur.execute(f"INSERT INTO {self.db.table(TRACKING_TABLE)} (name, position) "
                            "VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (model.name,))

    # Following the log -----------------------------------------------------------------

    def _lock_positions(self, cur: Cursor) -> dict[str, int]:
        names = [m.name for m in self.models]
        marks = ", ".join("?" for _ in names)
        table = self.db.table(TRACKING_TABLE)
        # The first statement writes, so SQLite takes its write lock before reading;
        # on PostgreSQL FOR UPDATE makes a second projector wait for this batch.
        cur.execute(f"UPDATE {table} SET position = position WHERE name IN ({marks})", names)
        lock = " FOR UPDATE" if self.db.postgres else ""
        rows = cur.execute(f"SELECT name, position FROM {table} WHERE name IN ({marks}){lock}",
                           names).fetchall()
        return {name: int(position) for name, position in rows}

    def _apply(self, rows: list[tuple[Any, ...]], positions: dict[str, int]) -> None:
        behind = [m for m in self.models if positions[m.name] < int(rows[-1][0])]
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
        """Applies one batch; returns (events read, lowest position of any model).

        A batch never crosses a checkpoint boundary (a multiple of
        ``CHECKPOINT_EVERY``): read models that keep checkpoints write them
        exactly there, so live and rebuilt models hold the same rows.
        """
        with self.lock, self.db.transaction() as cur:
            positions = self._lock_positions(cur)
            if positions != {n: self._known.get(n) for n in positions}:
                self.rows.reset()  # someone else moved the positions: the cache is stale
            start = min(positions.values())
            stop = (start // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY
            rows = log.batch(self.db, cur, start, stop, limit)
            # Ids are given out and committed in order (the recorder's table lock, or
            # SQLite's single writer), so once the head is past ``stop`` every event up
            # to it is visible: a batch that read fewer than ``limit`` has them all.
            read_all = len(rows) < limit or int(rows[-1][0]) == stop
            complete = read_all and log.head(self.db, cur) >= stop
            if not rows and not complete:
                self._known = positions
                return 0, start
            last = stop if complete else int(rows[-1][0])
            self.rows.cursor = cur
            try:
                if rows:
                    self._apply(rows, positions)
                self.rows.flush(cur)
                if complete:
                    for model in self.models:
                        if positions[model.name] < stop:
                            model.checkpoint(cur, self.db.table, stop)
            except BaseException:
                self.rows.reset()
                self._known = {}
                raise
            finally:
                self.rows.cursor = None
            moved = {name: max(position, last) for name, position in positions.items()}
            cur.executemany(f"UPDATE {self.db.table(TRACKING_TABLE)} SET position = ? "
                            "WHERE name = ?", [(p, n) for n, p in moved.items()])
            self._known = moved
            return len(rows), min(moved.values())

    def catch_up(self, progress: Progress | None = None) -> int:
        """Applies every event recorded so far; returns the position reached."""
        head = log.head(self.db)
        position = -1
        while True:
            previous = position
            _, position = self.step()
            if progress is not None:
                progress(position, head)
            if position >= head or position == previous:
                return position

    def position(self) -> int:
        """The lowest tracking position of this projector's read models."""
        return min(int(row["position"]) for row in self.status())

    def head(self) -> int:
        """The log position of the newest event."""
        return log.head(self.db)

    def status(self) -> list[dict[str, int | str]]:
        """Each read model's position, the log's head, and the lag between them."""
        head = log.head(self.db)
        names = [m.name for m in self.models]
        with self.db.transaction(write=False) as cur:
            rows = dict(cur.execute(
                f"SELECT name, position FROM {self.db.table(TRACKING_TABLE)}").fetchall())
        return [{"name": n, "position": int(rows.get(n, 0)), "head": head,
                 "lag": head - int(rows.get(n, 0))} for n in names]

    def wait_for(self, position: int, timeout: float = 2.0) -> bool:
        """Waits until every read model has reached ``position`` (catching up itself)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.position() >= position:
                return True
            self.catch_up()
            if self.position() >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def run_forever(self, stop: threading.Event, interval: float = 0.05) -> None:
        """Follows the log until ``stop`` is set (the worker process and the server)."""
        while not stop.is_set():
            if self.position() >= log.head(self.db):
                stop.wait(interval)  # idle: reads only, no write lock
                continue
            count, _ = self.step()
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
