"""The log read back: the only SQL over the events table, their audit rows
(``o2c_event_meta``) and the keyed commands (``o2c_commands``).

A position in the log is the event's notification id: eventsourcing's column
``notification_id`` on PostgreSQL, SQLite's ``rowid``; its audit row has the
same number in ``o2c_event_meta.notification_id``. Every query that joins the
two bounds *both* sides by position: given only the events' bounds, PostgreSQL
hash- or merge-joined the whole audit table from the start of the log on every
batch (a sequential scan per step; see commits 4b2714f and 6c46fae).

Functions take a ``Database`` (``o2c.persistence.sql``), named here by what
they use of it (``LogDatabase``) because ``Database.head`` calls ``head``
below; those that run inside a caller's transaction take its cursor too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol
from uuid import UUID

from o2c.persistence.audit_rows import COMMANDS_TABLE, META_TABLE

#: Events read per page by ``chain_pages``.
PAGE = 5000


class LogCursor(Protocol):
    """What these functions use of ``o2c.persistence.sql.Cursor``."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> LogCursor: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


class LogDatabase(Protocol):
    """What these functions use of ``o2c.persistence.sql.Database``."""

    @property
    def postgres(self) -> bool: ...

    @property
    def events_table(self) -> str: ...

    @property
    def schema(self) -> str: ...

    def table(self, name: str) -> str: ...

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Any]: ...


def position_column(db: LogDatabase) -> str:
    """The events table's column holding an event's log position."""
    return "notification_id" if db.postgres else "rowid"


@contextmanager
def _reading(db: LogDatabase, cur: LogCursor | None) -> Iterator[LogCursor]:
    """The caller's cursor, or a read-only transaction of our own."""
    if cur is not None:
        yield cur
        return
    with db.transaction(write=False) as own:
        yield own


def head(db: LogDatabase, cur: LogCursor | None = None) -> int:
    """The log position of the newest event (0 for an empty log)."""
    with _reading(db, cur) as c:
        row = c.execute(f"SELECT MAX(notification_id) FROM {db.table(META_TABLE)}").fetchone()
    return int(row[0] or 0) if row else 0


def batch(db: LogDatabase, cur: LogCursor, after: int, stop: int, limit: int
          ) -> list[tuple[Any, ...]]:
    """Up to ``limit`` events at positions in (``after``, ``stop``], in order, with their
    recording time: rows of (position, originator id, topic, state, recorded at).
    Runs in the caller's transaction (the projector's batch)."""
    pos = position_column(db)
    return cur.execute(
        f"SELECT e.{pos}, e.originator_id, e.topic, e.state, m.recorded_at "
        f"FROM {db.events_table} e JOIN {db.table(META_TABLE)} m "
        f"ON m.notification_id = e.{pos} WHERE e.{pos} > ? AND e.{pos} <= ? "
        # The same bounds on the audit rows: without them PostgreSQL may hash-join the
        # whole audit table on every batch (a seq scan of a million rows per step at a
        # million events, which left a live follower a minute behind under load).
        "AND m.notification_id > ? AND m.notification_id <= ? "
        f"ORDER BY e.{pos} LIMIT ?",
        (after, stop, after, stop, limit)).fetchall()


def events_of_topic(db: LogDatabase, topic: str, after: int, limit: int
                    ) -> list[tuple[Any, ...]]:
    """Up to ``limit`` events of one stored ``topic`` after position ``after``, in order:
    (position, originator id, state). The position index bounds the scan; the topic
    is filtered in the database, so other events cost no decoding."""
    pos = position_column(db)
    with db.transaction(write=False) as cur:
        rows: list[tuple[Any, ...]] = cur.execute(
            f"SELECT e.{pos}, e.originator_id, e.state FROM {db.events_table} e "
            f"WHERE e.{pos} > ? AND e.topic = ? ORDER BY e.{pos} LIMIT ?",
            (after, topic, limit)).fetchall()
    return rows


def events_page(db: LogDatabase, after: int, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` events after position ``after``, in order, with their audit rows:
    (position, originator id, version, topic, recorded at, actor, idempotency key, hash)."""
    pos = position_column(db)
    with db.transaction(write=False) as cur:
        rows: list[tuple[Any, ...]] = cur.execute(
            f"SELECT e.{pos}, e.originator_id, e.originator_version, e.topic, "
            f"m.recorded_at, m.actor, m.idempotency_key, m.hash FROM {db.events_table} e "
            f"JOIN {db.table(META_TABLE)} m ON m.notification_id = e.{pos} "
            # Bounded on both sides, so neither table is scanned from its start.
            f"WHERE e.{pos} > ? AND m.notification_id > ? ORDER BY e.{pos} LIMIT ?",
            (after, after, limit)).fetchall()
    return rows


def chain_pages(db: LogDatabase, page: int = PAGE) -> Iterator[list[tuple[Any, ...]]]:
    """The whole log in pages of (position, event row or None, audit row or None),
    merged by position, so an event without an audit row (or the reverse) shows.

    Event rows are (position, originator id, version, topic, state); audit rows
    (position, actor, idempotency key, recorded at, hash).
    """
    pos, after = position_column(db), 0
    events_table, meta_table = db.events_table, db.table(META_TABLE)
    while True:
        with db.transaction(write=False) as cur:
            events = cur.execute(
                f"SELECT {pos}, originator_id, originator_version, topic, state "
                f"FROM {events_table} WHERE {pos} > ? ORDER BY {pos} LIMIT ?",
                (after, page)).fetchall()
            last = events[-1][0] if len(events) == page else None
            bound, params = ("AND notification_id <= ?", (after, last)) if last else ("", (after,))
            metas = cur.execute(
                f"SELECT notification_id, actor, idempotency_key, recorded_at, hash "
                f"FROM {meta_table} WHERE notification_id > ? {bound} ORDER BY notification_id",
                params).fetchall()
        by_event = {int(e[0]): e for e in events}
        by_meta = {int(m[0]): m for m in metas}
        positions = sorted(by_event.keys() | by_meta.keys())
        if not positions:
            return
        yield [(p, by_event.get(p), by_meta.get(p)) for p in positions]
        if last is None:
            return
        after = int(last)


def aggregate_events(db: LogDatabase, aggregate_id: UUID) -> list[tuple[Any, ...]]:
    """One aggregate's events in version order, with their audit rows: (position,
    version, topic, state, actor, idempotency key, recorded at, hash)."""
    pos = position_column(db)
    oid: Any = aggregate_id if db.postgres else aggregate_id.hex
    with db.transaction(write=False) as cur:
        rows: list[tuple[Any, ...]] = cur.execute(
            f"SELECT e.{pos}, e.originator_version, e.topic, e.state, m.actor, "
            f"m.idempotency_key, m.recorded_at, m.hash FROM {db.events_table} e "
            f"JOIN {db.table(META_TABLE)} m ON m.notification_id = e.{pos} "
            f"WHERE e.originator_id = ? ORDER BY e.originator_version", (oid,)).fetchall()
    return rows


def event_at(db: LogDatabase, aggregate_id: UUID, version: int, *, settle: bool = False
             ) -> tuple[int, str, bytes] | None:
    """The event recorded for an aggregate at a version: (position, topic, state), or
    None. How the command runner learns whether a write whose answer was lost (the
    connection dropped at COMMIT) is in the log.

    With ``settle``, on PostgreSQL it first waits (up to 2 s) for any writer still
    holding the events table's lock (a commit in flight), so the answer is final:
    what is not there now will not appear.
    """
    pos = position_column(db)
    oid: Any = aggregate_id if db.postgres else aggregate_id.hex
    with db.transaction(write=False) as cur:
        if settle and db.postgres:
            cur.execute("SET LOCAL lock_timeout = '2s'")
            cur.execute(f"LOCK TABLE {db.events_table} IN ROW SHARE MODE")
        row = cur.execute(
            f"SELECT {pos}, topic, state FROM {db.events_table} "
            "WHERE originator_id = ? AND originator_version = ?",
            (oid, version)).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))


def find_command(db: LogDatabase, idempotency_key: str) -> tuple[str, str, int] | None:
    """The command recorded under an idempotency key: (fingerprint, its answer as JSON,
    the log position of its last event), or None."""
    with db.transaction(write=False) as cur:
        row = cur.execute(
            f"SELECT fingerprint, result, last_position FROM {db.table(COMMANDS_TABLE)} "
            "WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), int(row[2]))


def erase(db: LogDatabase) -> None:
    """Drops the log and every other o2c table of a PostgreSQL schema (``o2c_*``: the
    events, their audit rows, the commands, tokens): what ``o2c demo --reset``
    starts again from. (On SQLite that is deleting the file.)"""
    assert db.postgres, "a SQLite store is erased by deleting its file"
    with db.transaction() as cur:
        tables = [str(row[0]) for row in cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = ?", (db.schema,)).fetchall()]
        for table in [t for t in tables if t.startswith("o2c")]:
            cur.execute(f"DROP TABLE IF EXISTS {db.table(table)} CASCADE")


def exists(db: LogDatabase) -> bool:
    """Whether the log's table is there: a store was created here (``o2c report`` and
    the other commands that only read never create one)."""
    with db.transaction(write=False) as cur:
        if db.postgres:
            row = cur.execute("SELECT to_regclass(?)", (db.events_table,)).fetchone()
        else:
            row = cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                              "AND name = ?", (db.events_table,)).fetchone()
    return row is not None and row[0] is not None


def events_by_actor(db: LogDatabase, key_prefix: str) -> list[tuple[str, bool, int]]:
    """How many events each actor recorded, apart by whether their idempotency key
    starts with ``key_prefix``: (actor, keyed so, count). How ``o2c demo --reset``
    tells a store holding only the demo from one holding anything else."""
    with db.transaction(write=False) as cur:
        rows = cur.execute(
            f"SELECT actor, idempotency_key IS NOT NULL AND "
            f"substr(idempotency_key, 1, ?) = ?, COUNT(*) FROM {db.table(META_TABLE)} "
            "GROUP BY 1, 2", (len(key_prefix), key_prefix)).fetchall()
    return [(str(actor), bool(keyed), int(count)) for actor, keyed, count in rows]
