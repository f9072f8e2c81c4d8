"""The physical limit: the same rows written or read with the plain driver.

Nothing here imports o2c: it talks to the database with ``sqlite3`` or
``psycopg`` only. ``capture`` reads back what o2c wrote (events with their
state bytes, their audit rows, command rows and snapshots), grouped by the
transaction that wrote them; ``replay`` writes exactly those rows again into
copies of o2c's tables (``raw_*``), one transaction per original transaction,
doing the same indexed point reads o2c did before (and, for snapshots, after)
each write.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

#: A point read o2c made: (table kind "events"/"snapshots", originator id, gt, lte, desc,
#: limit), exactly the arguments of eventsourcing's ``select_events``.
Read = tuple[str, Any, "int | None", "int | None", bool, "int | None"]


@dataclass(frozen=True)
class Names:
    """o2c's table names in this store (they differ between SQLite and PostgreSQL)."""

    events: str
    snapshots: str
    meta: str = "o2c_event_meta"
    commands: str = "o2c_commands"


@dataclass
class Txn:
    """One transaction o2c wrote, with the reads its command made."""

    events: list[tuple[Any, int, str, bytes]]             # originator, version, topic, state
    meta: list[tuple[str, str | None, str, str]]          # actor, key, recorded_at, hash
    command: tuple[str, str, str, str, str, str] | None = None  # key, command, fp, actor,
    #                                                         result, recorded_at
    reads: list[Read] = field(default_factory=list)       # before the write
    after: list[Read] = field(default_factory=list)       # after it (taking snapshots)
    snapshots: list[tuple[Any, int, str, bytes]] = field(default_factory=list)
    key_lookup: bool = False                              # the key was looked up first


def parse_url(url: str) -> dict[str, Any]:
    """Connection arguments for an ``O2C_DATABASE_URL`` (sqlite:/// or postgresql://)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {"kind": "sqlite", "path": unquote(url[len("sqlite:///"):])}
    query = parse_qs(parsed.query)
    return {"kind": "postgres", "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432, "user": unquote(parsed.username or "postgres"),
            "password": unquote(parsed.password or ""),
            "dbname": (parsed.path or "/").lstrip("/") or "postgres",
            "schema": query.get("schema", ["public"])[0]}


class Raw:
    """One plain connection to the store's database (autocommit; explicit transactions)."""

    def __init__(self, url: str) -> None:
        args = parse_url(url)
        self.postgres = args["kind"] == "postgres"
        if self.postgres:
            import psycopg

            self.schema = args["schema"]
            self.conn: Any = psycopg.connect(
                host=args["host"], port=args["port"], user=args["user"],
                password=args["password"], dbname=args["dbname"], autocommit=True)
            self.conn.execute(f'SET search_path TO "{self.schema}"')
        else:
            self.schema = ""
            # The same settings eventsourcing uses: WAL (persistent in the file), the
            # default synchronous=FULL, a 30 s busy timeout.
            self.conn = sqlite3.connect(args["path"], isolation_level=None, timeout=30,
                                        check_same_thread=False)

    def sql(self, text: str) -> str:
        """``?`` placeholders become ``%s`` on PostgreSQL."""
        return text.replace("?", "%s") if self.postgres else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        """Runs one statement; returns the cursor."""
        if self.postgres:
            return self.conn.execute(self.sql(text), params, prepare=True)
        return self.conn.execute(text, params)

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """Runs one statement for many rows."""
        if self.postgres:
            with self.conn.cursor() as cursor:
                cursor.executemany(self.sql(text), rows)
        else:
            self.conn.executemany(text, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction (SQLite takes its write lock at once, as o2c's does)."""
        if self.postgres:
            with self.conn.transaction():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def oid(self, value: Any) -> Any:
        """An originator id as the driver stores it (uuid on PostgreSQL, hex text on SQLite)."""
        if self.postgres:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return value.hex if isinstance(value, uuid.UUID) else str(value)

    def close(self) -> None:
        """Closes the connection."""
        self.conn.close()


def holds_events(url: str) -> bool:
    """Whether the store at ``url`` already has an event log with anything in it."""
    args = parse_url(url)
    if args["kind"] == "sqlite" and not Path(args["path"]).exists():
        return False
    raw = Raw(url)
    try:
        if raw.postgres:
            tables = [r[0] for r in raw.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                (raw.schema,)).fetchall()]
        else:
            tables = [r[0] for r in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
        return any(raw.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                   for table in tables if table in ("o2c_events", "stored_events"))
    finally:
        raw.close()


def position_column(raw: Raw) -> str:
    """The log position of an events row."""
    return "notification_id" if raw.postgres else "rowid"


# Copies of o2c's tables ----------------------------------------------------------------

def copy_tables(url: str, names: Names, prefix: str = "raw_") -> Names:
    """Creates empty copies of o2c's event, snapshot, meta and command tables.

    On PostgreSQL ``CREATE TABLE ... (LIKE ... INCLUDING INDEXES)`` with a
    sequence of its own for the log position; on SQLite the same DDL as the
    original. Triggers (which only refuse UPDATE and DELETE) are not copied.
    """
    raw = Raw(url)
    copies = Names(*(prefix + n for n in (names.events, names.snapshots, names.meta,
                                          names.commands)))
    pairs = list(zip((names.events, names.snapshots, names.meta, names.commands),
                     (copies.events, copies.snapshots, copies.meta, copies.commands),
                     strict=True))
    if raw.postgres:
        for original, copy in pairs:
            raw.execute(f"CREATE TABLE {copy} (LIKE {original} INCLUDING INDEXES)")
        raw.execute(f"ALTER TABLE {copies.events} ALTER COLUMN notification_id "
                    "ADD GENERATED BY DEFAULT AS IDENTITY")
    else:
        for original, copy in pairs:
            row = raw.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (original,)).fetchone()
            ddl = row[0].replace(f"CREATE TABLE {original} ", f"CREATE TABLE {copy} ", 1)
            raw.execute(ddl)
    raw.close()
    return copies


def mirror(url: str, names: Names, copies: Names, low: int, high: int) -> None:
    """Copies o2c's rows at log positions [low, high], their snapshots and command rows,
    into the copies (untimed), so that the copies hold what o2c's tables held before a
    replayed stretch: raw reads then find what o2c's found, in tables of the same size."""
    if high < low:
        return
    raw = Raw(url)
    pos = position_column(raw)
    column = "notification_id" if raw.postgres else "rowid"
    with raw.transaction():
        top = raw.execute(f"SELECT MAX({column}) FROM {copies.events}").fetchone()[0]
        shift = int(top or 0) + 1 - low
        raw.execute(f"INSERT INTO {copies.events} ({column}, originator_id, originator_version, "
                    f"topic, state) SELECT {pos} + ?, originator_id, originator_version, topic, "
                    f"state FROM {names.events} WHERE {pos} >= ? AND {pos} <= ? ORDER BY {pos}",
                    (shift, low, high))
        raw.execute(f"INSERT INTO {copies.meta} SELECT notification_id + ?, actor, "
                    f"idempotency_key, recorded_at, hash FROM {names.meta} "
                    "WHERE notification_id >= ? AND notification_id <= ?", (shift, low, high))
        raw.execute(f"INSERT INTO {copies.commands} SELECT idempotency_key, command, "
                    "fingerprint, actor, result, first_position + ?, last_position + ?, "
                    f"recorded_at FROM {names.commands} WHERE last_position >= ? "
                    "AND last_position <= ?", (shift, shift, low, high))
        raw.execute(f"INSERT INTO {copies.snapshots} SELECT s.originator_id, "
                    f"s.originator_version, s.topic, s.state FROM {names.snapshots} s "
                    f"JOIN {names.events} e ON e.originator_id = s.originator_id "
                    f"AND e.originator_version = s.originator_version "
                    f"WHERE e.{pos} >= ? AND e.{pos} <= ?", (low, high))
        if raw.postgres:
            raw.execute(f"SELECT setval(pg_get_serial_sequence('{copies.events}', "
                        f"'notification_id'), (SELECT MAX(notification_id) FROM {copies.events}))")
    raw.close()


# Capturing what o2c wrote ----------------------------------------------------------------

def capture(url: str, names: Names, bounds: Sequence[tuple[int, int]]) -> dict[int, Txn]:
    """The rows of the transactions spanning ``bounds`` (first, last log position),
    keyed by last position, with any command row and snapshot taken for them."""
    raw = Raw(url)
    pos = position_column(raw)
    low = min((first for first, _ in bounds), default=0)
    high = max((last for _, last in bounds), default=0)
    rows = raw.execute(
        f"SELECT e.{pos}, e.originator_id, e.originator_version, e.topic, e.state, "
        f"m.actor, m.idempotency_key, m.recorded_at, m.hash FROM {names.events} e "
        f"JOIN {names.meta} m ON m.notification_id = e.{pos} "
        f"WHERE e.{pos} >= ? AND e.{pos} <= ? AND m.notification_id >= ? "
        f"AND m.notification_id <= ? ORDER BY e.{pos}", (low, high, low, high)).fetchall()
    by_position = {int(r[0]): r for r in rows}
    commands: dict[int, Any] = {int(r[0]): tuple(r[1:]) for r in raw.execute(
        f"SELECT last_position, idempotency_key, command, fingerprint, actor, result, "
        f"recorded_at FROM {names.commands} WHERE last_position >= ? AND last_position <= ?",
        (low, high)).fetchall()}
    txns: dict[int, Txn] = {}
    owner: dict[tuple[str, int], int] = {}
    for first, last in bounds:
        group = [by_position[p] for p in range(first, last + 1) if p in by_position]
        txns[last] = Txn(
            events=[(r[1], int(r[2]), r[3], bytes(r[4])) for r in group],
            meta=[(r[5], r[6], r[7], r[8]) for r in group],
            command=commands.get(last))
        for r in group:
            owner[(str(r[1]).replace("-", ""), int(r[2]))] = last
    # Snapshots have no position: each belongs to the transaction that wrote the
    # event of that aggregate and version.
    for row in raw.execute(f"SELECT originator_id, originator_version, topic, state "
                           f"FROM {names.snapshots}").fetchall():
        found = owner.get((str(row[0]).replace("-", ""), int(row[1])))
        if found is not None:
            txns[found].snapshots.append((row[0], int(row[1]), row[2], bytes(row[3])))
    raw.close()
    return txns


# Writing them again ------------------------------------------------------------------

def _read(raw: Raw, names: Names, read: Read) -> None:
    kind, oid, gt, lte, desc, limit = read
    table = names.events if kind == "events" else names.snapshots
    sql = (f"SELECT originator_id, originator_version, topic, state FROM {table} "
           "WHERE originator_id = ?" + (" AND originator_version > ?" if gt is not None else "")
           + (" AND originator_version <= ?" if lte is not None else "")
           + f" ORDER BY originator_version {'DESC' if desc else 'ASC'}"
           + (" LIMIT ?" if limit is not None else ""))
    params = [raw.oid(oid), *(p for p in (gt, lte, limit) if p is not None)]
    for row in raw.execute(sql, params).fetchall():
        bytes(row[3])


def write(raw: Raw, names: Names, txn: Txn, *, lock: bool = False) -> list[int]:
    """One captured transaction: its reads, its rows in one transaction, its snapshots."""
    if txn.key_lookup and txn.command is not None:
        raw.execute(f"SELECT fingerprint, result, last_position FROM {names.commands} "
                    "WHERE idempotency_key = ?", (txn.command[0],)).fetchall()
    for read in txn.reads:
        _read(raw, names, read)
    with raw.transaction():
        if lock and raw.postgres:
            raw.execute(f"LOCK TABLE {names.events} IN EXCLUSIVE MODE")
        if raw.postgres:
            marks = ", ".join("(?, ?, ?, ?)" for _ in txn.events)
            ids = [int(r[0]) for r in raw.execute(
                f"INSERT INTO {names.events} (originator_id, originator_version, topic, state) "
                f"VALUES {marks} RETURNING notification_id",
                [v for e in txn.events for v in (raw.oid(e[0]), e[1], e[2], e[3])]).fetchall()]
        else:
            ids = []
            for event in txn.events:
                cursor = raw.execute(
                    f"INSERT INTO {names.events} (originator_id, originator_version, topic, "
                    "state) VALUES (?, ?, ?, ?)", (raw.oid(event[0]), *event[1:]))
                ids.append(int(cursor.lastrowid))
        raw.execute(f"SELECT hash, recorded_at FROM {names.meta} "
                    "ORDER BY notification_id DESC LIMIT 1").fetchall()
        raw.executemany(f"INSERT INTO {names.meta} VALUES (?, ?, ?, ?, ?)",
                        [(i, *m) for i, m in zip(ids, txn.meta, strict=True)])
        if txn.command is not None:
            key, command, fingerprint, actor, result, recorded_at = txn.command
            raw.execute(f"INSERT INTO {names.commands} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, command, fingerprint, actor, result, ids[0], ids[-1],
                         recorded_at))
    for read in txn.after:
        _read(raw, names, read)
    for snapshot in txn.snapshots:  # eventsourcing writes each in a transaction of its own
        with raw.transaction():
            raw.execute(f"INSERT INTO {names.snapshots} (originator_id, originator_version, "
                        "topic, state) VALUES (?, ?, ?, ?)",
                        (raw.oid(snapshot[0]), *snapshot[1:]))
    return ids


def replay(url: str, names: Names, txns: Sequence[Txn], start_at: float = 0.0,
           lock: bool = False) -> tuple[float, float]:
    """Writes ``txns`` in order on one connection, from ``start_at`` (a ``time.time()``,
    so that several processes start together); returns (started, finished)."""
    raw = Raw(url)
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    started = time.time()
    for txn in txns:
        write(raw, names, txn, lock=lock)
    finished = time.time()
    raw.close()
    return started, finished


# Reading the log ---------------------------------------------------------------------

def read_log(url: str, names: Names, batch: int = 2000) -> tuple[int, float]:
    """Reads every event with its recording time, in position order and in batches
    of ``batch`` (as the projector does), and JSON-decodes each state; returns
    (rows, seconds). This is the fastest plain way we know to read the log: each
    batch is an index range on both tables."""
    raw = Raw(url)
    pos = position_column(raw)
    started = time.perf_counter()
    count, after = 0, 0
    while True:
        rows = raw.execute(
            f"SELECT e.{pos}, e.originator_id, e.topic, e.state, m.recorded_at "
            f"FROM {names.events} e JOIN {names.meta} m ON m.notification_id = e.{pos} "
            # The bound on both sides: PostgreSQL otherwise merge-joins the audit rows from
            # the start of the log on every batch (a read quadratic in the log's length).
            f"WHERE e.{pos} > ? AND m.notification_id > ? ORDER BY e.{pos} LIMIT ?",
            (after, after, batch)).fetchall()
        if not rows:
            break
        for row in rows:
            json.loads(bytes(row[3]))
        count += len(rows)
        after = int(rows[-1][0])
    seconds = time.perf_counter() - started
    raw.close()
    return count, seconds
