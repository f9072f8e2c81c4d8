"""The bearer tokens table: one row per token, keyed by the token's SHA-256 hash.

Only the SQL lives here; what a token is, who may hold one and how a server
looks them up is ``o2c.auth``. The row keeps the hash, the role, the holder's
name and the creation time, never the token, so every server process (and a
restarted one) knows the same tokens.
"""

from __future__ import annotations

import weakref

from o2c.persistence.audit_rows import now_iso
from o2c.persistence.connection import SCHEMA_LOCK
from o2c.persistence.sql import Database

TABLE = "o2c_tokens"
_ensured: weakref.WeakSet[Database] = weakref.WeakSet()


def ensure_table(db: Database) -> None:
    """Creates the token table if it is missing (once per database per process)."""
    if db in _ensured:
        return
    with db.transaction() as cur:
        if db.postgres:  # two processes starting together must not race on DDL
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        cur.execute(f"CREATE TABLE IF NOT EXISTS {db.table(TABLE)} ("
                    "token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, "
                    "created_at TEXT NOT NULL)")
    _ensured.add(db)


def insert_token(db: Database, token_hash: str, role: str, name: str) -> None:
    """Stores a new token's hash with its role and holder, created now."""
    ensure_table(db)
    with db.transaction() as cur:
        cur.execute(f"INSERT INTO {db.table(TABLE)} (token_hash, role, name, created_at) "
                    "VALUES (?, ?, ?, ?)", (token_hash, role, name, now_iso()))


def find_token(db: Database, token_hash: str) -> tuple[str, str] | None:
    """The role and holder's name stored for a token's hash, or None."""
    ensure_table(db)
    with db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT role, name FROM {db.table(TABLE)} "
                          "WHERE token_hash = ?", (token_hash,)).fetchone()
    return None if row is None else (row[0], row[1])
