"""eventsourcing's SQLite recorder, writing o2c's audit rows and made append-only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from o2c.persistence.audit_rows import EXTRA_TABLES, META_TABLE, AuditRowWriter


def _sqlite_guards(events_table: str) -> list[str]:
    """Triggers that make the log append-only on SQLite."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'o2c: the log is append-only ({verb} refused)'); END"
        for table in (events_table, META_TABLE) for verb in ("UPDATE", "DELETE")
    ]



class O2CSQLiteRecorder(AuditRowWriter, SQLiteApplicationRecorder):
    """SQLite application recorder that also writes event metadata and commands."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                *(sql.format(s="") for sql in EXTRA_TABLES),
                *_sqlite_guards(self.events_table_name)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._select_sql: dict[tuple[bool, ...], str] = {}
        # Waiting for this pool's one writing connection is as patient as waiting for the
        # file's lock (SQLITE_LOCK_TIMEOUT): its holder may itself be waiting that long
        # for another process's write. eventsourcing 9.5.6 fixes the pool's wait at 5 s
        # and reads no setting for it; a projector batch behind a command that waited on
        # another application's batch gave up with ConnectionUnavailableError.
        pool = self.datastore.pool
        pool.pool_timeout = max(pool.pool_timeout, float(pool.lock_timeout or 0))

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
