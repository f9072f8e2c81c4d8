"""eventsourcing's PostgreSQL recorder, writing o2c's audit rows in three round trips
and made append-only."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from psycopg.rows import tuple_row

from o2c.persistence.audit_rows import (
    EXTRA_TABLES,
    GENESIS,
    META_TABLE,
    AuditRowWriter,
    CommandRecord,
    chain,
)
from o2c.persistence.connection import bound_pool, retry_briefly


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


class O2CPostgresRecorder(AuditRowWriter, PostgresApplicationRecorder):
    """PostgreSQL application recorder that also writes event metadata and commands."""

    placeholder = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_pool(self.datastore)
        self._select_sql: dict[tuple[bool, ...], str] = {}
        self._begin_by_count: dict[int, str] = {}
        self._write_by_shape: dict[tuple[int, bool], str] = {}
        self.prefix = f'"{self.datastore.schema}".'
        from psycopg.sql import SQL

        for sql in (*(t.format(s=self.prefix) for t in EXTRA_TABLES),
                    *_postgres_guards(self.datastore.schema, self.events_table_name)):
            self.sql_create_statements.append(SQL(sql))  # type: ignore[arg-type]

    @retry_briefly
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

    @retry_briefly
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



class O2CSnapshotRecorder(PostgresAggregateRecorder):
    """eventsourcing's snapshot recorder, with its reads and writes retried for a bounded
    time (``retry_briefly``) instead of ten attempts that each may wait a whole pool
    checkout: a command reading a snapshot (a cold cache) when the database went
    away waited some twenty seconds before its 503."""

    # eventsourcing's methods, unwrapped from its attempt-counting ``@retry``.
    select_events = retry_briefly(PostgresAggregateRecorder.select_events.__wrapped__)
    insert_events = retry_briefly(PostgresAggregateRecorder.insert_events.__wrapped__)


class O2CPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with o2c's snapshot recorder (the application
    recorder is ``APPLICATION_RECORDER_TOPIC``'s, ``O2CPostgresRecorder``)."""

    aggregate_recorder_class = O2CSnapshotRecorder
