"""The event store: eventsourcing's recorders, extended to write o2c's extras.

Every stored event gets a row in ``o2c_event_meta`` written in the same
transaction as the event: who acted, under which idempotency key, when it was
recorded, and a SHA-256 hash chained to the previous event's hash in log
order. A command with an idempotency key also writes its answer to
``o2c_commands`` in that transaction, so a retry finds it even after a crash
or in another process. On PostgreSQL the recorder's table lock (kept on
purpose, see docs/architecture.md) makes insert order equal commit order, so
the chain can be extended inside the writing transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import retry
from psycopg.rows import tuple_row

GENESIS = "0" * 64
META_TABLE = "o2c_event_meta"
COMMANDS_TABLE = "o2c_commands"


@dataclass(frozen=True)
class CommandRecord:
    """What the application hands the recorder with a command's events."""

    actor: str
    idempotency_key: str | None = None
    command: str = ""
    fingerprint: str = ""
    result: str = "{}"


def env_for_url(url: str, *, pool_size: int = 8) -> dict[str, str]:
    """The eventsourcing environment for an ``O2C_DATABASE_URL``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"O2C_DATABASE_URL: expected sqlite:///PATH, got {url!r}")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "o2c.store:O2CSQLiteRecorder",
        }
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        query = parse_qs(parsed.query)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": (parsed.path or "/").lstrip("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_CONN_MAX_AGE": "3600",
            # A liveness query on every checkout doubles the round trips of a command;
            # connections are recycled hourly and a dead one fails the command, which
            # the caller retries.
            "POSTGRES_PRE_PING": "n",
            "APPLICATION_RECORDER_TOPIC": "o2c.store:O2CPostgresRecorder",
        }
    raise ValueError(f"O2C_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}")


SCHEMA_LOCK = 72_620_001  # pg advisory lock key: "o2c schema"


@contextmanager
def schema_lock(env: dict[str, str]) -> Iterator[None]:
    """Serialises table creation between processes starting at the same moment.

    Two servers starting together would otherwise race on PostgreSQL's
    ``CREATE TYPE``/``CREATE TABLE IF NOT EXISTS`` and one could fail with a
    duplicate-key error. SQLite serialises DDL itself.
    """
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    import psycopg

    with psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                         user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
                         dbname=env["POSTGRES_DBNAME"], autocommit=True,
                         connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def now_iso() -> str:
    """The current UTC time as sortable ISO 8601 text with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(previous: str, position: int, originator_id: UUID | str, version: int,
               topic: str, state: bytes, actor: str, key: str | None, recorded_at: str) -> str:
    """The chained hash of one stored event: SHA-256 over the previous hash and its content."""
    oid = originator_id.hex if isinstance(originator_id, UUID) else UUID(str(originator_id)).hex
    digest = hashlib.sha256()
    digest.update(previous.encode())
    digest.update(f"|{position}|{oid}|{version}|{topic}|".encode())
    digest.update(hashlib.sha256(bytes(state)).digest())
    digest.update(f"|{actor}|{key or ''}|{recorded_at}".encode())
    return digest.hexdigest()


_EXTRA_TABLES = (
    f"CREATE TABLE IF NOT EXISTS {{s}}{META_TABLE} ("
    "notification_id BIGINT PRIMARY KEY, actor TEXT NOT NULL, idempotency_key TEXT, "
    "recorded_at TEXT NOT NULL, hash TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {{s}}{COMMANDS_TABLE} ("
    "idempotency_key TEXT PRIMARY KEY, command TEXT NOT NULL, fingerprint TEXT NOT NULL, "
    "actor TEXT NOT NULL, result TEXT NOT NULL, first_position BIGINT NOT NULL, "
    "last_position BIGINT NOT NULL, recorded_at TEXT NOT NULL)",
)


def _sqlite_guards(events_table: str) -> list[str]:
    """Triggers that make the log append-only on SQLite."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'o2c: the log is append-only ({verb} refused)'); END"
        for table in (events_table, META_TABLE) for verb in ("UPDATE", "DELETE")
    ]


def _postgres_guards(schema: str, events_table: str) -> list[str]:
    """A trigger function and triggers that make the log append-only on PostgreSQL."""
    function = f'"{schema}".o2c_refuse_change'
    statements = [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'o2c: the log is append-only (% refused on %)', TG_OP, "
        "TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$",
    ]
    for table in (events_table, META_TABLE):
        qualified = f'"{schema}"."{table}"'
        for verb, level in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
            name = f"{table}_no_{verb.lower()}"
            statements.append(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{name}' "
                f"AND tgrelid = '{qualified}'::regclass) THEN CREATE TRIGGER {name} "
                f"BEFORE {verb} ON {qualified} FOR EACH {level} EXECUTE FUNCTION {function}(); "
                "END IF; END $$")
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {qualified} FROM PUBLIC")
    return statements


def chain(previous: str, last_at: str, ids: Sequence[int],
          stored_events: Sequence[StoredEvent], record: CommandRecord
          ) -> list[tuple[int, str, str | None, str, str]]:
    """The audit rows of events about to be written at ``ids``, chained from ``previous``
    (the newest stored hash) and recorded no earlier than ``last_at`` (the newest
    recording time: recording times never go backwards along the log, whatever the
    clock does)."""
    recorded_at = max(now_iso(), last_at)
    rows = []
    for position, stored in zip(ids, stored_events, strict=True):
        previous = event_hash(previous, position, stored.originator_id,
                              stored.originator_version, stored.topic, stored.state,
                              record.actor, record.idempotency_key, recorded_at)
        rows.append((position, record.actor, record.idempotency_key, recorded_at, previous))
    return rows


class _Extras:
    """The writes both recorders add to the events' transaction."""

    placeholder = "?"
    prefix = ""

    def _last_sql(self) -> str:
        return (f"SELECT hash, recorded_at FROM {self.prefix}{META_TABLE} "
                "ORDER BY notification_id DESC LIMIT 1")

    def _extras_sql(self) -> tuple[str, str]:
        p, s = self.placeholder, self.prefix
        return (f"INSERT INTO {s}{META_TABLE} VALUES ({p},{p},{p},{p},{p})",
                f"INSERT INTO {s}{COMMANDS_TABLE} VALUES ({p},{p},{p},{p},{p},{p},{p},{p})")

    @staticmethod
    def _command_row(record: CommandRecord, ids: Sequence[int],
                     recorded_at: str) -> tuple[Any, ...]:
        return (record.idempotency_key, record.command, record.fingerprint, record.actor,
                record.result, ids[0], ids[-1], recorded_at)

    def _write_extras(self, cursor: Any, stored_events: Sequence[StoredEvent],
                      ids: Sequence[int], record: CommandRecord | None) -> None:
        if not ids:
            return
        record = record or CommandRecord(actor="system")
        cursor.execute(self._last_sql())
        row = cursor.fetchone()
        rows = chain(row[0] if row else GENESIS, row[1] if row else "", ids, stored_events,
                     record)
        meta_sql, command_sql = self._extras_sql()
        cursor.executemany(meta_sql, rows)
        if record.idempotency_key:
            cursor.execute(command_sql, self._command_row(record, ids, rows[0][3]))


class O2CSQLiteRecorder(_Extras, SQLiteApplicationRecorder):
    """SQLite application recorder that also writes event metadata and commands."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                *(sql.format(s="") for sql in _EXTRA_TABLES),
                *_sqlite_guards(self.events_table_name)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._select_sql: dict[tuple[bool, ...], str] = {}

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        """As eventsourcing's, as one autocommit statement with its SQL built once per shape.

        eventsourcing wraps each read in BEGIN ... ROLLBACK and composes the SQL
        anew; a single SELECT in autocommit mode reads one consistent snapshot
        of the file on its own, and every command makes several of these reads.
        """
        shape = (gt is not None, lte is not None, desc, limit is not None)
        sql = self._select_sql.get(shape)
        if sql is None:
            sql = (f"SELECT originator_id, originator_version, topic, state FROM "
                   f"{self.events_table_name} WHERE originator_id = ?"
                   + (" AND originator_version > ?" if gt is not None else "")
                   + (" AND originator_version <= ?" if lte is not None else "")
                   + f" ORDER BY originator_version {'DESC' if desc else 'ASC'}"
                   + (" LIMIT ?" if limit is not None else ""))
            self._select_sql[shape] = sql
        params = [originator_id.hex if isinstance(originator_id, UUID) else originator_id,
                  *(p for p in (gt, lte, limit) if p is not None)]
        with self.datastore.get_connection(commit=False) as connection:
            rows = connection._sqlite_conn.execute(sql, params).fetchall()
        return [StoredEvent(originator_id=self.convert_originator_id(row[0]),
                            originator_version=row[1], topic=row[2], state=row[3])
                for row in rows]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        self._write_extras(c, stored_events, ids, kwargs.get("o2c"))
        return ids


class O2CPostgresRecorder(_Extras, PostgresApplicationRecorder):
    """PostgreSQL application recorder that also writes event metadata and commands."""

    placeholder = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._select_sql: dict[tuple[bool, ...], str] = {}
        self._begin_by_count: dict[int, str] = {}
        self._write_by_shape: dict[tuple[int, bool], str] = {}
        self.prefix = f'"{self.datastore.schema}".'
        from psycopg.sql import SQL

        for sql in (*(t.format(s=self.prefix) for t in _EXTRA_TABLES),
                    *_postgres_guards(self.datastore.schema, self.events_table_name)):
            self.sql_create_statements.append(SQL(sql))  # type: ignore[arg-type]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        """As eventsourcing's, with the SQL text built once per shape, not per call.

        Every command reads each aggregate it touches through this; composing
        the statement anew each time was a tenth of a command's client time.
        """
        shape = (gt is not None, lte is not None, desc, limit is not None)
        sql = self._select_sql.get(shape)
        if sql is None:
            sql = (f'SELECT originator_id, originator_version, topic, state FROM '
                   f'"{self.datastore.schema}"."{self.events_table_name}" '
                   "WHERE originator_id = %s"
                   + (" AND originator_version > %s" if gt is not None else "")
                   + (" AND originator_version <= %s" if lte is not None else "")
                   + f" ORDER BY originator_version {'DESC' if desc else 'ASC'}"
                   + (" LIMIT %s" if limit is not None else ""))
            self._select_sql[shape] = sql
        params = [p for p in (originator_id, gt, lte, limit) if p is not None]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params, prepare=True)
            return [StoredEvent(originator_id=row["originator_id"],
                                originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"]))
                    for row in curs.fetchall()]

    def _notify_channel(self, curs: Any) -> None:
        """o2c's projector pulls the log; nobody LISTENs, so no NOTIFY per insert."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """One command's events and audit rows in one transaction of three round trips.

        eventsourcing's own insert runs in psycopg's pipeline mode and makes four
        trips (lock and insert; the ids; the previous hash; the audit rows and the
        commit); on these machines a pipeline costs more than it saves (an empty
        pipelined transaction took 250 µs, a plain one-statement round trip 90 µs).
        Here: (1) begin, take the table lock, and fetch both the previous hash and
        the positions (the sequence's next values: under the lock no other writer
        draws from it, so positions still follow commit order), in one simple
        query; the hashes are computed locally; (2) events, audit rows and the
        command's answer in one statement; (3) commit. A version already taken (a
        concurrent writer won) fails the transaction with ``IntegrityError``.
        """
        if not stored_events:
            return None
        record = kwargs.get("o2c") or CommandRecord(actor="system")
        count = len(stored_events)
        with self.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as cur:
            try:
                cur.execute(self._begin_sql(count))
                for _ in range(3):  # past the results of BEGIN, SET and LOCK
                    cur.nextset()
                found = cur.fetchone()
                assert found is not None
                previous, last_at, ids = found
                ids = [int(i) for i in ids]
                rows = chain(previous or GENESIS, last_at or "", ids, stored_events, record)
                params: list[Any] = [
                    value for position, stored in zip(ids, stored_events, strict=True)
                    for value in (position, stored.originator_id, stored.originator_version,
                                  stored.topic, stored.state)]
                params += [value for row in rows for value in row]
                keyed = bool(record.idempotency_key)
                if keyed:
                    params += self._command_row(record, ids, rows[0][3])
                cur.execute(self._write_sql(count, keyed), params, prepare=True)
                cur.execute("COMMIT")
            except BaseException:
                if not conn.closed:
                    with contextlib.suppress(Exception):  # the error that got here matters
                        conn.execute("ROLLBACK")
                raise
        return ids

    def _begin_sql(self, count: int) -> str:
        """Begin, lock, and read the previous hash and ``count`` new positions."""
        sql = self._begin_by_count.get(count)
        if sql is None:
            table = f'"{self.datastore.schema}"."{self.events_table_name}"'
            with self.datastore.get_connection() as conn:
                found = conn.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')",
                                     (table,)).fetchone()
            assert found is not None
            sequence = str(next(iter(found.values())))
            last = f"FROM {self.prefix}{META_TABLE} ORDER BY notification_id DESC LIMIT 1"
            sql = (f"BEGIN; SET LOCAL lock_timeout = '{self.datastore.lock_timeout}s'; "
                   f"LOCK TABLE {table} IN EXCLUSIVE MODE; "
                   f"SELECT (SELECT hash {last}), (SELECT recorded_at {last}), "
                   f"ARRAY(SELECT nextval('{sequence}') FROM generate_series(1, {count}))")
            self._begin_by_count[count] = sql
        return sql

    def _write_sql(self, count: int, keyed: bool) -> str:
        """One statement writing ``count`` events, their audit rows and maybe the answer."""
        sql = self._write_by_shape.get((count, keyed))
        if sql is None:
            rows = ", ".join("(%s, %s, %s, %s, %s)" for _ in range(count))
            events = (f'INSERT INTO "{self.datastore.schema}"."{self.events_table_name}" '
                      "(notification_id, originator_id, originator_version, topic, state) "
                      f"VALUES {rows}")
            meta = f"INSERT INTO {self.prefix}{META_TABLE} VALUES {rows}"
            if keyed:
                sql = f"WITH e AS ({events}), m AS ({meta}) {self._extras_sql()[1]}"
            else:
                sql = f"WITH e AS ({events}) {meta}"
            self._write_by_shape[(count, keyed)] = sql
        return sql


# Plain SQL on the same database, for read models, tokens and audit ----------------

_QMARK = re.compile(r"\?")


class Cursor:
    """A DB-API cursor that takes ``?`` placeholders on both databases."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    def _sql(self, sql: str) -> str:
        return _QMARK.sub("%s", sql) if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if params:
            self.raw.execute(self._sql(sql), tuple(params))
        else:  # no placeholders to bind: a literal '%' stays a '%'
            self.raw.execute(sql)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.executemany(self._sql(sql), rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        return None if row is None else tuple(row)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.raw.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self.raw.rowcount)


class Database:
    """Transactions on the event store's own database, through its connection pool."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.datastore = recorder.datastore
        self.postgres = isinstance(recorder, PostgresApplicationRecorder)
        self.schema = self.datastore.schema if self.postgres else ""
        self.events_table = (f'"{self.schema}"."{recorder.events_table_name}"' if self.postgres
                             else recorder.events_table_name)

    def table(self, name: str) -> str:
        """A table name, qualified with the schema on PostgreSQL."""
        return f'"{self.schema}".{name}' if self.postgres else name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Cursor]:
        """A transaction that commits on success and rolls back on error."""
        if self.postgres:
            with self.datastore.get_connection() as conn, conn.transaction(
                    force_rollback=not write), conn.cursor(row_factory=tuple_row) as raw:
                yield Cursor(raw, postgres=True)
        elif not write:
            with self.datastore.transaction(commit=False) as c:
                yield Cursor(c.sqlite_cursor, postgres=False)
        else:
            # BEGIN IMMEDIATE takes the write lock up front (waiting for it as long as the
            # lock timeout allows): a deferred transaction that reads first and writes later
            # fails at once with "database is locked" when another process wrote meanwhile.
            with self.datastore.get_connection(commit=True) as connection:
                raw = connection._sqlite_conn  # eventsourcing keeps it private
                cursor = raw.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield Cursor(cursor, postgres=False)
                except BaseException:
                    raw.rollback()
                    raise
                else:
                    raw.commit()
                finally:
                    cursor.close()

    def head(self) -> int:
        """The log position of the newest event (0 for an empty log)."""
        with self.transaction(write=False) as cur:
            row = cur.execute(f"SELECT MAX(notification_id) FROM {self.table(META_TABLE)}"
                              ).fetchone()
        return int(row[0] or 0) if row else 0


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) for fingerprints and stored answers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# Locks on hot aggregates -----------------------------------------------------------

def lock_key(scope: str, aggregate_id: UUID) -> int:
    """A signed 64-bit lock key for an aggregate, distinct per store (schema or file)."""
    digest = hashlib.blake2b(f"{scope}|{aggregate_id.hex}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AggregateLocks:
    """Serialises commands on the same hot aggregates across threads and processes.

    Optimistic concurrency alone lets writers on a hot stock item read, decide
    and lose the race again and again under load (each loss a wasted command,
    and a command that loses ``MAX_ATTEMPTS`` times is refused). A command that
    holds these locks for the aggregates it will write, from before it reads
    them until its write commits, never loses to another holder. The base class
    holds nothing (a single process with no contention needs none).
    """

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        """Holds the locks of ``ids`` (taken in a fixed order: no deadlock)."""
        yield

    def close(self) -> None:
        """Releases what this object holds open."""


class PostgresLocks(AggregateLocks):
    """Session-level advisory locks, one connection per thread, all taken in one trip."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.scope = f"{env['POSTGRES_DBNAME']}.{env.get('POSTGRES_SCHEMA', 'public')}"
        self.local = threading.local()
        self.connections: list[Any] = []
        self.guard = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            import psycopg

            env = self.env
            conn = psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                                   user=env["POSTGRES_USER"],
                                   password=env["POSTGRES_PASSWORD"],
                                   dbname=env["POSTGRES_DBNAME"], autocommit=True,
                                   connect_timeout=10)
            timeout = int(float(env.get("POSTGRES_LOCK_TIMEOUT", "30")))
            conn.execute(f"SET lock_timeout = '{timeout}s'")
            self.local.conn = conn
            with self.guard:
                self.connections.append(conn)
        return conn

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        keys = sorted({lock_key(self.scope, i) for i in ids})
        if not keys:
            yield
            return
        conn = self._connection()
        # unnest yields the keys in the array's order, so they are taken in that order.
        conn.execute("SELECT pg_advisory_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k",
                         (keys,))

    def close(self) -> None:
        with self.guard:
            for conn in self.connections:
                with contextlib.suppress(Exception):
                    conn.close()
            self.connections.clear()


class _SharedFile:
    """One process's hold on a lock file: POSIX record locks belong to the process and
    are all dropped when any descriptor of the file is closed, so every ``FileLocks``
    of a process on one path shares one descriptor and one lock per key."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.threads: dict[int, threading.Lock] = {}
        self.users = 0


_SHARED_FILES: dict[str, _SharedFile] = {}
_SHARED_GUARD = threading.Lock()


class FileLocks(AggregateLocks):
    """Byte-range locks on a file beside the SQLite database: between processes, POSIX
    locks; between this process's threads, a lock per key."""

    def __init__(self, path: str) -> None:
        self.path = f"{path}-o2c-locks"
        self.shared: _SharedFile | None = None

    def _file(self) -> _SharedFile:
        with _SHARED_GUARD:
            if self.shared is None:
                shared = _SHARED_FILES.get(self.path)
                if shared is None:
                    shared = _SHARED_FILES[self.path] = _SharedFile(self.path)
                shared.users += 1
                self.shared = shared
            return self.shared

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        keys = sorted({lock_key(self.path, i) % 2**31 for i in ids})
        if not keys:
            yield
            return
        shared = self._file()
        with _SHARED_GUARD:
            locks = [shared.threads.setdefault(k, threading.Lock()) for k in keys]
        taken: list[int] = []
        try:
            for key, lock in zip(keys, locks, strict=True):
                lock.acquire()
                try:
                    fcntl.lockf(shared.fd, fcntl.LOCK_EX, 1, key)
                except BaseException:
                    lock.release()
                    raise
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                fcntl.lockf(shared.fd, fcntl.LOCK_UN, 1, key)
                shared.threads[key].release()

    def close(self) -> None:
        with _SHARED_GUARD:
            shared, self.shared = self.shared, None
            if shared is not None:
                shared.users -= 1
                if shared.users == 0:
                    os.close(shared.fd)
                    del _SHARED_FILES[self.path]


def aggregate_locks(env: dict[str, str]) -> AggregateLocks:
    """The locks for a store: advisory locks on PostgreSQL, file locks beside a SQLite file."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        return PostgresLocks(env)
    path = env.get("SQLITE_DBNAME", "")
    if not path or path.startswith("file:") or ":memory:" in path:
        return AggregateLocks()
    return FileLocks(path)
