"""Bearer tokens for the HTTP API, stored only as SHA-256 hashes in the event store's database.

The CLI (``o2c tokens create``) and the API both use this module; it lives outside
``o2c.api`` because nothing may import the API.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from o2c.store import now_iso

if TYPE_CHECKING:
    from o2c.application import O2C

ROLES = ("sales", "warehouse", "finance", "auditor", "admin")
TABLE = "o2c_tokens"
_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class TokenInfo:
    """Who holds a token: its role and name."""

    role: str
    name: str
    token_id: str

    @property
    def actor(self) -> str:
        """How events record this token's holder."""
        return f"{self.role}:{self.name}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_table(app: O2C) -> None:
    """Creates the token table if it is missing."""
    with app.db.transaction() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {app.db.table(TABLE)} ("
                    "token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, "
                    "created_at TEXT NOT NULL)")


def create_token(app: O2C, role: str, name: str | None = None) -> str:
    """Creates a token for a role; returns it (only its hash is stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    label = (name or role).strip()[:100] or role
    token = "o2c_" + secrets.token_urlsafe(32)
    ensure_table(app)
    with app.db.transaction() as cur:
        cur.execute(f"INSERT INTO {app.db.table(TABLE)} VALUES (?, ?, ?, ?)",
                    (_digest(token), role, label, now_iso()))
    return token


class TokenStore:
    """Looks tokens up, with a few seconds' memory so a busy server does not ask every time."""

    def __init__(self, app: O2C, bootstrap: str | None) -> None:
        self.app = app
        self.bootstrap = bootstrap
        self._seen: dict[str, tuple[float, TokenInfo | None]] = {}
        ensure_table(app)

    def lookup(self, token: str) -> TokenInfo | None:
        """The holder of a token, or None for an unknown one."""
        if self.bootstrap and secrets.compare_digest(token, self.bootstrap):
            return TokenInfo(role="admin", name="bootstrap", token_id="O2C_BOOTSTRAP_TOKEN")  # noqa: S106 - a label, not a secret
        digest = _digest(token)
        now = time.monotonic()
        cached = self._seen.get(digest)
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        with self.app.db.transaction(write=False) as cur:
            row = cur.execute(f"SELECT role, name FROM {self.app.db.table(TABLE)} "
                              "WHERE token_hash = ?", (digest,)).fetchone()
        info = None if row is None else TokenInfo(role=row[0], name=row[1],
                                                   token_id=digest[:12])
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[digest] = (now, info)
        return info
