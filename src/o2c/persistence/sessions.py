"""The web sessions table: one row per signed-in browser, found by the hash of the
session's secret (the browser's cookie holds the secret; the table never does).

Only the SQL lives here; what a session is and who holds one is ``o2c.auth``.
"""

from __future__ import annotations

import weakref

from o2c.persistence.connection import SCHEMA_LOCK
from o2c.persistence.sql import Cursor, Database

TABLE = "o2c_web_sessions"
_ensured: weakref.WeakSet[Database] = weakref.WeakSet()


def _exists(cur: Cursor, db: Database) -> bool:
    try:
        cur.execute(f"SELECT 1 FROM {db.table(TABLE)} WHERE 1 = 0")
    except Exception:  # no such table (the driver's own error class); the read rolls back
        return False
    return True


def ensure_table(db: Database) -> None:
    """Creates the sessions table if needed (once per database per process)."""
    if db in _ensured:
        return
    with db.transaction(write=False) as cur:  # no DDL (and no DDL lock) when present
        if _exists(cur, db):
            _ensured.add(db)
            return
    with db.transaction() as cur:
        if db.postgres:  # two processes starting together must not race on DDL
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        cur.execute(f"CREATE TABLE IF NOT EXISTS {db.table(TABLE)} ("
                    "session_hash TEXT PRIMARY KEY, holder TEXT NOT NULL, "
                    "created_at TEXT NOT NULL, expires_at TEXT NOT NULL)")
    _ensured.add(db)


def insert(db: Database, session_hash: str, holder: str, created_at: str,
           expires_at: str) -> None:
    """Stores a new session (and forgets the sessions that have expired)."""
    ensure_table(db)
    with db.transaction() as cur:
        cur.execute(f"DELETE FROM {db.table(TABLE)} WHERE expires_at <= ?", (created_at,))
        cur.execute(f"INSERT INTO {db.table(TABLE)} (session_hash, holder, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?)",
                    (session_hash, holder, created_at, expires_at))


def find(db: Database, session_hash: str) -> tuple[str, str] | None:
    """A session's holder and expiry, or None."""
    ensure_table(db)
    with db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT holder, expires_at FROM {db.table(TABLE)} "
                          "WHERE session_hash = ?", (session_hash,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def delete(db: Database, session_hash: str) -> None:
    """Forgets a session (signing out)."""
    ensure_table(db)
    with db.transaction() as cur:
        cur.execute(f"DELETE FROM {db.table(TABLE)} WHERE session_hash = ?", (session_hash,))
