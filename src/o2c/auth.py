"""Bearer tokens for the HTTP API: roles, holders, creation and lookup.

The CLI (``o2c tokens create``) and the API both use this module; it lives
outside ``o2c.api`` because nothing may import the API, and outside
``o2c.persistence`` because the API may not import persistence (the table's SQL
is ``o2c.persistence.tokens``). A token is shown once, when it is created; the
database keeps only its hash. ``O2C_BOOTSTRAP_TOKEN`` is accepted as ``admin``
without being stored.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from o2c.persistence import tokens as table
from o2c.persistence.sql import Database

ROLES = ("sales", "warehouse", "finance", "auditor", "admin")
#: Longest holder's name.
MAX_NAME = 100
#: Longest token a lookup considers (ours are 47 characters); longer ones are unknown.
MAX_TOKEN = 200
_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class TokenInfo:
    """Who holds a token: its role, its holder's name, and a short id of the token."""

    role: str
    name: str
    token_id: str

    @property
    def actor(self) -> str:
        """How events record this token's holder: ``role:name#token-id``.

        The id (the first 12 hex digits of the token's hash) tells apart two
        tokens given to holders of the same name.
        """
        return f"{self.role}:{self.name}#{self.token_id}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _holder(role: str, name: str | None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    label = (name or role).strip()
    if not label or len(label) > MAX_NAME or not label.isprintable() or "#" in label:
        raise ValueError(f"name must be 1 to {MAX_NAME} printable characters without '#'")
    return label


def create_token(db: Database, role: str, name: str | None = None) -> str:
    """Creates a token for a role and its holder; returns it (only its hash is stored)."""
    label = _holder(role, name)
    token = "o2c_" + secrets.token_urlsafe(32)
    table.insert_token(db, _digest(token), role, label)
    return token


def _bootstrap(token: str, bootstrap: str | None) -> TokenInfo | None:
    if bootstrap and secrets.compare_digest(token.encode("utf-8", "surrogatepass"),
                                            bootstrap.encode("utf-8", "surrogatepass")):
        return TokenInfo(role="admin", name="bootstrap", token_id=_digest(bootstrap)[:12])
    return None


def lookup_token(db: Database, token: str, bootstrap: str | None = None) -> TokenInfo | None:
    """The holder of a token (``bootstrap``, the configured bootstrap token, is admin),
    or None for an unknown one."""
    return _bootstrap(token, bootstrap) or _stored(db, token)


def _stored(db: Database, token: str) -> TokenInfo | None:
    """The holder of a token created with ``create_token``, from the database."""
    if not 0 < len(token) <= MAX_TOKEN:
        return None
    digest = _digest(token)
    row = table.find_token(db, digest)
    if row is None or row[0] not in ROLES:
        return None
    return TokenInfo(role=row[0], name=row[1], token_id=digest[:12])


class TokenStore:
    """Looks tokens up for a server, remembering answers for a few seconds.

    Only the answer is remembered, per process; the tokens themselves live in
    the database, so every server process accepts the same ones.
    """

    def __init__(self, db: Database, bootstrap: str | None) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self._seen: dict[str, tuple[float, TokenInfo | None]] = {}
        table.ensure_table(db)

    def lookup(self, token: str) -> TokenInfo | None:
        """The holder of a token, or None for an unknown one."""
        found = _bootstrap(token, self.bootstrap)
        if found is not None:
            return found
        if not 0 < len(token) <= MAX_TOKEN:
            return None
        digest = _digest(token)
        now = time.monotonic()
        cached = self._seen.get(digest)
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        info = _stored(self.db, token)
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[digest] = (now, info)
        return info
