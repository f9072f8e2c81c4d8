"""The audit rows written with every event: actor, idempotency key, recording time
and a SHA-256 hash chained to the previous event's, plus each keyed command's answer.

Both recorders (``sqlite``, ``postgres``) write these in the same transaction as
the events; ``o2c audit verify`` recomputes the chain with ``event_hash``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

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


EXTRA_TABLES = (
    f"CREATE TABLE IF NOT EXISTS {{s}}{META_TABLE} ("
    "notification_id BIGINT PRIMARY KEY, actor TEXT NOT NULL, idempotency_key TEXT, "
    "recorded_at TEXT NOT NULL, hash TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {{s}}{COMMANDS_TABLE} ("
    "idempotency_key TEXT PRIMARY KEY, command TEXT NOT NULL, fingerprint TEXT NOT NULL, "
    "actor TEXT NOT NULL, result TEXT NOT NULL, first_position BIGINT NOT NULL, "
    "last_position BIGINT NOT NULL, recorded_at TEXT NOT NULL)",
)


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


class AuditRowWriter:
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


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) for fingerprints and stored answers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


