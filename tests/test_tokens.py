"""The token store: only hashes are stored, roles are checked, the bootstrap token is admin."""

from __future__ import annotations

import hashlib

import pytest

from o2c.application import O2C
from o2c.auth import TokenStore, create_token, lookup_token
from o2c.bootstrap import build_app
from o2c.persistence.tokens import TABLE


def test_tokens_are_stored_as_hashes(app: O2C) -> None:
    token = create_token(app.db, "finance", "Fran")
    other = create_token(app.db, "finance", "Fran")
    assert token != other
    assert len(token) >= 40
    info = lookup_token(app.db, token)
    assert info is not None
    assert (info.role, info.name) == ("finance", "Fran")
    assert info.actor == f"finance:Fran#{hashlib.sha256(token.encode()).hexdigest()[:12]}"
    # Two holders with one name are still two actors.
    other_info = lookup_token(app.db, other)
    assert other_info.actor != info.actor  # type: ignore[union-attr]
    with app.db.transaction(write=False) as cur:
        rows = cur.execute(f"SELECT token_hash, role, name FROM {app.db.table(TABLE)}").fetchall()
    assert sorted(row[0] for row in rows) == sorted(
        hashlib.sha256(t.encode()).hexdigest() for t in (token, other))
    assert all(token not in str(row) and other not in str(row) for row in rows)


def test_unknown_tokens_and_roles(app: O2C) -> None:
    assert lookup_token(app.db, "o2c_not-a-token") is None
    assert lookup_token(app.db, "") is None
    assert lookup_token(app.db, "x" * 10_000) is None
    with pytest.raises(ValueError, match="role must be one of"):
        create_token(app.db, "janitor")
    with pytest.raises(ValueError, match="name must be"):
        create_token(app.db, "sales", "x" * 101)
    with pytest.raises(ValueError, match="name must be"):
        create_token(app.db, "sales", "bad\nname")
    unnamed = lookup_token(app.db, create_token(app.db, "auditor"))
    assert unnamed is not None
    assert (unnamed.role, unnamed.name) == ("auditor", "auditor")


def test_bootstrap_token_is_admin(app: O2C) -> None:
    boot = app.settings.model_copy(update={"bootstrap_token": "let-me-in"})
    other = build_app(boot)
    try:
        info = lookup_token(other.db, "let-me-in", other.settings.bootstrap_token)
        assert info is not None
        assert info.role == "admin"
        assert lookup_token(app.db, "let-me-in") is None  # not configured there
        store = TokenStore(app.db, bootstrap="let-me-in")
        assert store.lookup("let-me-in") == info
        assert store.lookup("let-me-out") is None
        # A token made in one process is known to another on the same database.
        token = create_token(app.db, "warehouse", "Wes")
        assert store.lookup(token) == lookup_token(other.db, token, other.settings.bootstrap_token)
    finally:
        other.close()
