"""The bearer tokens table: one row per token, found by the token's non-secret id.

Only the SQL lives here; what a token is, how its secret is hashed, who may
hold one and how a server looks them up is ``o2c.auth``. A row keeps the
token's id, the salt and salted hash of its secret (never the secret), the
role, the holder's name, and when it was created, expires and was revoked, so
every server process (and a restarted one) knows the same tokens and sees a
revocation at once.

The table migrates in place from its first shape (``token_hash`` as the key,
an unsalted SHA-256 of the whole token, no id, no expiry): the missing columns
are added, each old row gets a random id and keeps its hash with no salt
(``salt IS NULL`` marks it), so the tokens handed out before keep working, can
be listed and can be revoked.
"""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass

from psycopg.rows import tuple_row

from o2c.persistence.audit_rows import now_iso
from o2c.persistence.connection import SCHEMA_LOCK
from o2c.persistence.sql import Cursor, Database

TABLE = "o2c_tokens"
#: Columns added since the table's first shape (token_hash, role, name, created_at).
_ADDED = ("token_id", "salt", "expires_at", "revoked_at")
_COLUMNS = ("token_id, role, name, created_at, expires_at, revoked_at, salt, token_hash")
_ensured: weakref.WeakSet[Database] = weakref.WeakSet()


def new_token_id() -> str:
    """A random, non-secret token id: 16 hex digits (64 bits, so never reused)."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class TokenRow:
    """One stored token: never its secret. Times are ISO 8601 UTC text (``now_iso``)."""

    token_id: str
    role: str
    name: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    #: Hex salt of the secret's hash; None for a token from before salts (its hash is
    #: the unsalted SHA-256 of the whole token).
    salt: str | None
    token_hash: str


def _row(row: tuple[object, ...]) -> TokenRow:
    return TokenRow(*(None if value is None else str(value) for value in row))  # type: ignore[arg-type]


def _current(cur: Cursor, db: Database) -> bool:
    """Whether the table exists in its current shape with every row migrated."""
    try:
        cur.execute(f"SELECT * FROM {db.table(TABLE)} WHERE 1 = 0")
    except Exception:  # no such table (the driver's own error class); the read rolls back
        return False
    present = {str(column[0]).lower() for column in cur.raw.description}
    if not present.issuperset(_ADDED):
        return False
    return cur.execute(f"SELECT 1 FROM {db.table(TABLE)} WHERE token_id IS NULL "
                       "LIMIT 1").fetchone() is None


def ensure_table(db: Database) -> None:
    """Creates the token table, or migrates it from its first shape, if needed (once
    per database per process). A table already current is only read, so a read-only
    store can still list its tokens."""
    if db in _ensured:
        return
    with db.transaction(write=False) as cur:  # no DDL (and no DDL lock) when current
        if _current(cur, db):
            _ensured.add(db)
            return
    with db.transaction() as cur:
        if db.postgres:  # two processes starting together must not race on DDL
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        table = db.table(TABLE)
        cur.execute(f"CREATE TABLE IF NOT EXISTS {table} ("
                    "token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, "
                    "created_at TEXT NOT NULL, token_id TEXT, salt TEXT, expires_at TEXT, "
                    "revoked_at TEXT)")
        cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        present = {str(column[0]).lower() for column in cur.raw.description}
        for column in _ADDED:
            if column not in present:
                cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        old = cur.execute(f"SELECT token_hash FROM {table} WHERE token_id IS NULL").fetchall()
        for (token_hash,) in old:
            cur.execute(f"UPDATE {table} SET token_id = ? WHERE token_hash = ?",
                        (new_token_id(), token_hash))
        cur.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_by_id ON {table} (token_id)")
    _ensured.add(db)


def insert_token(db: Database, token_id: str, salt: str, token_hash: str, role: str,
                 name: str, expires_at: str | None) -> TokenRow:
    """Stores a new token (its id, the salt and hash of its secret, its role and
    holder, when it expires), created now."""
    ensure_table(db)
    row = TokenRow(token_id, role, name, now_iso(), expires_at, None, salt, token_hash)
    with db.transaction() as cur:
        cur.execute(f"INSERT INTO {db.table(TABLE)} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.token_id, row.role, row.name, row.created_at, row.expires_at,
                     row.revoked_at, row.salt, row.token_hash))
    return row


def _find(db: Database, where: str, value: str) -> TokenRow | None:
    """The one row matching ``where`` (one ``?``), read on every request of a server.

    On PostgreSQL the pool's connections are in autocommit mode, so the single
    SELECT goes alone: one round trip instead of three (BEGIN, SELECT, ROLLBACK).
    """
    ensure_table(db)
    sql = f"SELECT {_COLUMNS} FROM {db.table(TABLE)} WHERE {where}"
    if db.postgres:
        with db.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as raw:
            row = raw.execute(sql.replace("?", "%s"), (value,)).fetchone()
    else:
        with db.transaction(write=False) as cur:
            row = cur.execute(sql, (value,)).fetchone()
    return None if row is None else _row(row)


def find_by_id(db: Database, token_id: str) -> TokenRow | None:
    """The token with this id, or None (one read by the unique index)."""
    return _find(db, "token_id = ?", token_id)


def find_unsalted(db: Database, token_hash: str) -> TokenRow | None:
    """The token from before salts whose unsalted hash this is, or None."""
    return _find(db, "token_hash = ? AND salt IS NULL", token_hash)


def _missing(db: Database) -> bool:
    """Whether the store has no token table at all (a read need not create one)."""
    if db in _ensured:
        return False
    with db.transaction(write=False) as cur:
        try:
            cur.execute(f"SELECT 1 FROM {db.table(TABLE)} WHERE 1 = 0")
        except Exception:  # no such table (the driver's own error class); the read rolls back
            return True
    return False


def all_tokens(db: Database) -> list[TokenRow]:
    """Every stored token, oldest first (none, and no table created, in a store that
    never had one: listing works on a read-only store)."""
    if _missing(db):
        return []
    ensure_table(db)
    with db.transaction(write=False) as cur:
        rows = cur.execute(f"SELECT {_COLUMNS} FROM {db.table(TABLE)} "
                           "ORDER BY created_at, token_id").fetchall()
    return [_row(row) for row in rows]


def revoke(db: Database, token_id: str, at: str) -> TokenRow | None:
    """Marks a token revoked at ``at`` (a token revoked before keeps its first time);
    the row after, or None for an unknown id."""
    ensure_table(db)
    with db.transaction() as cur:
        cur.execute(f"UPDATE {db.table(TABLE)} SET revoked_at = ? "
                    "WHERE token_id = ? AND revoked_at IS NULL", (at, token_id))
        row = cur.execute(f"SELECT {_COLUMNS} FROM {db.table(TABLE)} WHERE token_id = ?",
                          (token_id,)).fetchone()
    return None if row is None else _row(row)


def any_active(db: Database, now: str) -> bool:
    """Whether any stored token is neither revoked nor expired at ``now``."""
    if _missing(db):
        return False
    ensure_table(db)
    with db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT 1 FROM {db.table(TABLE)} WHERE revoked_at IS NULL "
                          "AND (expires_at IS NULL OR expires_at > ?) LIMIT 1",
                          (now,)).fetchone()
    return row is not None
