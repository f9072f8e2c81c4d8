"""Plain SQL on the event store's own database: for read models, tokens and audit."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row

from o2c.persistence import log

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

    def __init__(self, recorder: Any, owner: object = None) -> None:
        """``owner``: what owns the recorder's connection pool and closes it when it is
        collected (an eventsourcing ``Application`` closes its pool in ``__del__``); kept
        alive as long as this object is used, so a caller holding only the ``Database``
        (a projector, a token lookup) never finds the pool closed under it."""
        self.owner = owner
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
        """The log position of the newest event (0 for an empty log): ``log.head``."""
        return log.head(self)

