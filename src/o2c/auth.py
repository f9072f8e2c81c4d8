"""Bearer tokens for the HTTP API: roles, holders, creation, lookup, expiry, revocation.

The CLI (``o2c tokens create|list|revoke``) and the API both use this module; it
lives outside ``o2c.api`` because nothing may import the API, and outside
``o2c.persistence`` because the API may not import persistence (the table's SQL
is ``o2c.persistence.tokens``). docs/security.md says why it is built this way.

A token reads ``o2c_<id>_<secret>``: ``id`` is 16 random hex digits, not secret
(it names the token in ``o2c tokens list`` and in the actor of every event it
records), ``secret`` is 32 random bytes (43 URL-safe characters). The database
keeps the id, a random per-token salt and HMAC-SHA256(salt, secret), never the
secret; a lookup reads the one row with the token's id and compares the hashes
in constant time. Nothing is cached between requests, so a revoked or expired
token is refused by every server process from the next request on.

``O2C_BOOTSTRAP_TOKEN`` is accepted as ``admin`` without being stored; what it
records is the fixed actor ``admin:bootstrap``, nothing derived from it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from o2c.persistence import sessions
from o2c.persistence import tokens as table
from o2c.persistence.sql import Database

ROLES = ("sales", "warehouse", "finance", "auditor", "admin")
#: Longest holder's name.
MAX_NAME = 100
#: Longest token a lookup considers (ours are 64 characters); longer ones are unknown.
MAX_TOKEN = 200
#: What events record for the bootstrap token's holder.
BOOTSTRAP_ACTOR = "admin:bootstrap"

#: ``o2c_<16 hex id>_<43 URL-safe characters of secret>``.
_TOKEN = re.compile(r"o2c_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
#: A token made before ids and salts: ``o2c_`` and 43 URL-safe characters.
_UNSALTED = re.compile(r"o2c_[A-Za-z0-9_-]{43}")
#: The secret's length in bytes, and the salt's.
_SECRET_BYTES = 32
_SALT_BYTES = 16
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # persistence.audit_rows.now_iso: sortable as text


@dataclass(frozen=True)
class TokenInfo:
    """Who holds a token: its role, its holder's name, and the token's id (None for
    the bootstrap token)."""

    role: str
    name: str
    token_id: str | None

    @property
    def actor(self) -> str:
        """How events record this token's holder: ``role:name#token-id``, or
        ``admin:bootstrap`` for the bootstrap token.

        The id is random and not secret: it tells apart two tokens given to holders
        of the same name, and ``o2c tokens list`` shows it, so an event leads to the
        token that recorded it; nothing in it helps to guess the secret.
        """
        if self.token_id is None:
            return BOOTSTRAP_ACTOR
        return f"{self.role}:{self.name}#{self.token_id}"


@dataclass(frozen=True)
class TokenRecord:
    """A stored token as ``o2c tokens list`` shows it: never its secret."""

    token_id: str
    role: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    #: Made before salted hashes (still accepted; its hash is an unsalted SHA-256).
    unsalted: bool

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or _now()):
            return "expired"
        return "active"


class UnknownTokenError(LookupError):
    """No stored token has this id."""


def _now() -> datetime:
    return datetime.now(UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, _TIME).replace(tzinfo=UTC)


def _record(row: table.TokenRow) -> TokenRecord:
    created = datetime.strptime(row.created_at, _TIME).replace(tzinfo=UTC)
    return TokenRecord(row.token_id, row.role, row.name, created, _time(row.expires_at),
                       _time(row.revoked_at), unsalted=row.salt is None)


def _hash(salt: bytes, secret: str) -> str:
    """The stored hash of a secret: HMAC-SHA256 keyed with the token's own salt."""
    return hmac.new(salt, secret.encode("ascii"), hashlib.sha256).hexdigest()


def _holder(role: str, name: str | None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    label = (name or role).strip()
    if not label or len(label) > MAX_NAME or not label.isprintable() or "#" in label:
        raise ValueError(f"name must be 1 to {MAX_NAME} printable characters without '#'")
    return label


def create_token(db: Database, role: str, name: str | None = None,
                 expires_at: datetime | None = None) -> str:
    """Creates a token for a role and its holder, valid until ``expires_at`` (a
    timezone-aware time in the future; None: until revoked). Returns the token:
    it is shown this once, only its salted hash is stored."""
    label = _holder(role, name)
    expiry = None
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValueError("the expiry needs a time zone")
        if expires_at <= _now():
            raise ValueError(f"the expiry {expires_at.isoformat()} is not in the future")
        expiry = _text(expires_at)
    token_id = table.new_token_id()
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    salt = secrets.token_bytes(_SALT_BYTES)
    table.insert_token(db, token_id, salt.hex(), _hash(salt, secret), role, label, expiry)
    return f"o2c_{token_id}_{secret}"


def _bootstrap(token: str, bootstrap: str | None) -> TokenInfo | None:
    # Digests of both, so the comparison takes the same time whatever their lengths.
    if bootstrap and hmac.compare_digest(
            hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest(),
            hashlib.sha256(bootstrap.encode("utf-8", "surrogatepass")).digest()):
        return TokenInfo(role="admin", name="bootstrap", token_id=None)
    return None


def _stored(db: Database, token: str) -> TokenInfo | None:
    """The holder of a stored token that is neither revoked nor expired, or None."""
    if not 0 < len(token) <= MAX_TOKEN:
        return None
    parts = _TOKEN.fullmatch(token)
    if parts is not None:
        row = table.find_by_id(db, parts[1])
        if row is None or row.salt is None or not hmac.compare_digest(
                _hash(bytes.fromhex(row.salt), parts[2]), row.token_hash):
            return None
    elif _UNSALTED.fullmatch(token):
        row = table.find_unsalted(db, hashlib.sha256(token.encode("ascii")).hexdigest())
        if row is None:
            return None
    else:
        return None
    if row.revoked_at is not None or row.role not in ROLES:
        return None
    if row.expires_at is not None and row.expires_at <= _text(_now()):
        return None
    return TokenInfo(role=row.role, name=row.name, token_id=row.token_id)


def lookup_token(db: Database, token: str, bootstrap: str | None = None) -> TokenInfo | None:
    """The holder of a token (``bootstrap``, the configured bootstrap token, is admin),
    or None for an unknown, revoked or expired one."""
    return _bootstrap(token, bootstrap) or _stored(db, token)


def list_tokens(db: Database) -> list[TokenRecord]:
    """Every stored token, oldest first (revoked and expired ones too)."""
    return [_record(row) for row in table.all_tokens(db)]


def revoke_token(db: Database, token_id: str) -> TokenRecord:
    """Revokes a token by its id, at once for every server; revoking it again changes
    nothing. ``UnknownTokenError`` for an id no token has."""
    row = table.revoke(db, token_id.strip(), _text(_now()))
    if row is None:
        raise UnknownTokenError(f"no token has the id {token_id.strip()[:40]!r}; "
                                "`o2c tokens list` shows them")
    return _record(row)


def has_tokens(db: Database) -> bool:
    """Whether any stored token is neither revoked nor expired (the bootstrap token
    is not stored, so it does not count)."""
    return table.any_active(db, _text(_now()))


#: How a web session names its holder when signed in with the bootstrap token (no
#: stored token has this id: theirs are hex), followed by a keyed digest of it.
BOOTSTRAP_ID = "bootstrap"


def _session_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def _bootstrap_mark(bootstrap: str, secret: str) -> str:
    """Ties a session to the bootstrap token it was opened with (rotating the token
    ends those sessions) without storing anything that reveals it."""
    digest = hmac.new(bootstrap.encode("utf-8", "surrogatepass"), secret.encode("ascii"),
                      hashlib.sha256).hexdigest()
    return f"{BOOTSTRAP_ID}:{digest}"


def open_session(db: Database, who: TokenInfo, seconds: int,
                 bootstrap: str | None = None) -> str:
    """Opens a web session for a token's holder, valid for ``seconds``; returns its
    secret (for the browser's cookie). The database keeps only the secret's SHA-256,
    the token's id and the expiry: reading the table does not let anyone sign in."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    if who.token_id is None:
        if not bootstrap:
            raise ValueError("a bootstrap session needs the bootstrap token")
        holder = _bootstrap_mark(bootstrap, secret)
    else:
        holder = who.token_id
    now = _now()
    sessions.insert(db, _session_hash(secret), holder, _text(now),
                    _text(datetime.fromtimestamp(now.timestamp() + seconds, UTC)))
    return secret


def session_holder(db: Database, secret: str,
                   bootstrap: str | None = None) -> TokenInfo | None:
    """The holder of an open session whose token is still active, or None (unknown or
    expired session; revoked, expired or rotated token). Read on every request."""
    if not 0 < len(secret) <= MAX_TOKEN or not secret.isascii():
        return None
    found = sessions.find(db, _session_hash(secret))
    if found is None or found[1] <= _text(_now()):
        return None
    holder = found[0]
    if holder.startswith(BOOTSTRAP_ID + ":"):
        if bootstrap and hmac.compare_digest(holder, _bootstrap_mark(bootstrap, secret)):
            return TokenInfo(role="admin", name="bootstrap", token_id=None)
        return None
    row = table.find_by_id(db, holder)
    if row is None or row.revoked_at is not None or row.role not in ROLES:
        return None
    if row.expires_at is not None and row.expires_at <= _text(_now()):
        return None
    return TokenInfo(role=row.role, name=row.name, token_id=row.token_id)


def close_session(db: Database, secret: str) -> None:
    """Ends a web session (signing out)."""
    if 0 < len(secret) <= MAX_TOKEN and secret.isascii():
        sessions.delete(db, _session_hash(secret))


class TokenStore:
    """Looks tokens up for a server: one indexed read per request, nothing cached, so
    every server process sees a new, revoked or expired token on the next request."""

    def __init__(self, db: Database, bootstrap: str | None) -> None:
        self.db = db
        self.bootstrap = bootstrap
        table.ensure_table(db)

    def lookup(self, token: str) -> TokenInfo | None:
        """The holder of a token, or None for an unknown, revoked or expired one."""
        return lookup_token(self.db, token, self.bootstrap)

    def open_session(self, who: TokenInfo, seconds: int) -> str:
        """A new web session's secret for a token's holder (``open_session``)."""
        return open_session(self.db, who, seconds, self.bootstrap)

    def session_holder(self, secret: str) -> TokenInfo | None:
        """The holder of an open web session, or None (``session_holder``)."""
        return session_holder(self.db, secret, self.bootstrap)

    def close_session(self, secret: str) -> None:
        """Ends a web session."""
        close_session(self.db, secret)
