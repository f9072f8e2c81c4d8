"""Bearer tokens: salted hashes found by a non-secret id, expiry, revocation at once on
every process, the bootstrap token's fixed actor, the table's in-place migration and the
``o2c tokens`` commands."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from o2c import auth
from o2c.application import O2C
from o2c.auth import TokenStore, create_token, lookup_token
from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings
from o2c.persistence.tokens import TABLE

TOKEN = re.compile(r"o2c_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def _rows(app: O2C) -> list[tuple[str, ...]]:
    with app.db.transaction(write=False) as cur:
        return [tuple(map(str, row)) for row in cur.execute(
            f"SELECT token_id, salt, token_hash, role, name FROM {app.db.table(TABLE)}"
        ).fetchall()]


@pytest.fixture
def second(settings: Settings) -> Iterator[O2C]:
    """Another process's application on the same database (its own connections)."""
    other = build_app(settings)
    try:
        yield other
    finally:
        other.close()


def test_tokens_are_stored_as_salted_hashes_found_by_id(app: O2C) -> None:
    token = create_token(app.db, "finance", "Fran")
    other = create_token(app.db, "finance", "Fran")
    assert token != other
    parts, other_parts = TOKEN.fullmatch(token), TOKEN.fullmatch(other)
    assert parts is not None
    assert other_parts is not None
    info = lookup_token(app.db, token)
    assert info is not None
    assert (info.role, info.name, info.token_id) == ("finance", "Fran", parts[1])
    # The actor names the random id: nothing in it is derived from the secret.
    assert info.actor == f"finance:Fran#{parts[1]}"
    other_info = lookup_token(app.db, other)
    assert other_info is not None
    assert other_info.actor != info.actor
    rows = {row[0]: row for row in _rows(app)}
    assert set(rows) == {parts[1], other_parts[1]}
    for found, secret in ((parts, parts[2]), (other_parts, other_parts[2])):
        token_id, salt, stored, _, _ = rows[found[1]]
        assert len(bytes.fromhex(salt)) == 16
        assert stored == hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()
        assert stored not in (hashlib.sha256(secret.encode()).hexdigest(),
                              hashlib.sha256(found[0].encode()).hexdigest())
        assert all(secret not in field for field in rows[token_id])
    assert rows[parts[1]][1] != rows[other_parts[1]][1]  # a salt per token


def test_a_real_id_with_a_wrong_secret_is_refused(app: O2C) -> None:
    token = create_token(app.db, "admin", "Ada")
    other = create_token(app.db, "sales", "Sam")
    token_id, secret = token[4:20], token[21:]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert lookup_token(app.db, f"o2c_{token_id}_{flipped}") is None
    assert lookup_token(app.db, f"o2c_{token_id}_{other[21:]}") is None  # another's secret
    assert lookup_token(app.db, f"o2c_{other[4:20]}_{secret}") is None
    assert lookup_token(app.db, token.upper()) is None
    assert lookup_token(app.db, token) is not None


def test_unknown_tokens_and_roles(app: O2C) -> None:
    assert lookup_token(app.db, "o2c_not-a-token") is None
    assert lookup_token(app.db, "o2c_" + "0" * 16 + "_" + "x" * 43) is None
    assert lookup_token(app.db, "") is None
    assert lookup_token(app.db, "x" * 10_000) is None
    assert lookup_token(app.db, "o2c_\x00' OR '1'='1") is None
    with pytest.raises(ValueError, match="role must be one of"):
        create_token(app.db, "janitor")
    with pytest.raises(ValueError, match="name must be"):
        create_token(app.db, "sales", "x" * 101)
    with pytest.raises(ValueError, match="name must be"):
        create_token(app.db, "sales", "bad\nname")
    unnamed = lookup_token(app.db, create_token(app.db, "auditor"))
    assert unnamed is not None
    assert (unnamed.role, unnamed.name) == ("auditor", "auditor")
    assert _rows(app)[0][3:] == ("auditor", "auditor")  # refused ones stored nothing
    assert len(_rows(app)) == 1


def test_bootstrap_token_is_admin_with_a_fixed_actor(app: O2C) -> None:
    bootstrap = "let-me-in-please-now"
    store = TokenStore(app.db, bootstrap=bootstrap)
    info = store.lookup(bootstrap)
    assert info == lookup_token(app.db, bootstrap, bootstrap)
    assert info is not None
    assert info.role == "admin"
    assert info.actor == auth.BOOTSTRAP_ACTOR == "admin:bootstrap"
    digest = hashlib.sha256(bootstrap.encode()).hexdigest()
    assert all(digest[i:i + 6] not in info.actor for i in range(0, 58))
    assert lookup_token(app.db, bootstrap) is None  # not configured there
    assert store.lookup(bootstrap[:-1]) is None
    assert store.lookup(bootstrap + "x") is None
    assert not auth.has_tokens(app.db)  # the bootstrap token is not stored


def test_revocation_is_at_once_on_every_process(app: O2C, second: O2C) -> None:
    here, there = TokenStore(app.db, None), TokenStore(second.db, None)
    token = create_token(app.db, "warehouse", "Wes")
    info = there.lookup(token)  # made by one process, known to another
    assert info is not None
    assert here.lookup(token) == info
    assert info.token_id is not None
    revoked = auth.revoke_token(second.db, info.token_id)
    assert revoked.state() == "revoked"
    assert revoked.revoked_at is not None
    assert here.lookup(token) is None
    assert there.lookup(token) is None
    again = auth.revoke_token(app.db, info.token_id)  # revoking twice keeps the first time
    assert again.revoked_at == revoked.revoked_at
    with pytest.raises(auth.UnknownTokenError, match="no token has the id"):
        auth.revoke_token(app.db, "0123456789abcdef")


def test_expiry(app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="not in the future"):
        create_token(app.db, "sales", expires_at=now - timedelta(seconds=1))
    with pytest.raises(ValueError, match="time zone"):
        create_token(app.db, "sales", expires_at=datetime(2999, 1, 1))
    assert auth.list_tokens(app.db) == []  # refused: nothing stored
    token = create_token(app.db, "sales", "Sue", expires_at=now + timedelta(hours=1))
    assert lookup_token(app.db, token) is not None
    assert auth.has_tokens(app.db)
    [record] = auth.list_tokens(app.db)
    assert record.expires_at is not None
    assert abs(record.expires_at - (now + timedelta(hours=1))) < timedelta(seconds=1)
    later = now + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(auth, "_now", lambda: later)
    assert lookup_token(app.db, token) is None
    assert TokenStore(app.db, None).lookup(token) is None
    assert not auth.has_tokens(app.db)
    assert auth.list_tokens(app.db)[0].state() == "expired"


def test_has_tokens(app: O2C) -> None:
    assert not auth.has_tokens(app.db)
    token = create_token(app.db, "auditor")
    assert auth.has_tokens(app.db)
    info = lookup_token(app.db, token)
    assert info is not None
    assert info.token_id is not None
    auth.revoke_token(app.db, info.token_id)
    assert not auth.has_tokens(app.db)


def test_reading_creates_no_table(app: O2C) -> None:
    """Listing tokens, or asking whether any exists, on a store that never had one
    creates nothing (so it works on a read-only store)."""
    assert auth.list_tokens(app.db) == []
    assert not auth.has_tokens(app.db)
    with pytest.raises(Exception, match=TABLE), app.db.transaction(write=False) as cur:
        cur.execute(f"SELECT 1 FROM {app.db.table(TABLE)}")  # no such table


def _old_table(database_url: str) -> tuple[str, str]:
    """Creates the token table in its first shape with one token, as o2c stored it
    before ids and salts (the unsalted SHA-256 of the whole token as the key); returns
    that token and its hash."""
    old = "o2c_" + "Kq3" * 14 + "x"  # o2c_ and 43 URL-safe characters, like secrets made
    digest = hashlib.sha256(old.encode()).hexdigest()
    ddl = (f"CREATE TABLE {TABLE} (token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, "
           "name TEXT NOT NULL, created_at TEXT NOT NULL)")
    insert = f"INSERT INTO {TABLE} VALUES ('{digest}', 'finance', 'Fran', " \
             "'2026-01-02T03:04:05.000000Z')"
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            conn.execute(ddl)
            conn.execute(insert)
        conn.close()
    else:
        base, schema = database_url.split("?schema=")
        with psycopg.connect(base, autocommit=True) as pg:
            pg.execute(f'SET search_path TO "{schema}"')
            pg.execute(ddl)
            pg.execute(insert)
    return old, digest


def test_the_table_migrates_in_place_and_old_tokens_keep_working(
        database_url: str, settings: Settings) -> None:
    old, digest = _old_table(database_url)
    app = build_app(settings)
    try:
        store = TokenStore(app.db, None)
        info = store.lookup(old)
        assert info is not None
        assert (info.role, info.name) == ("finance", "Fran")
        # It got a random id: nothing derived from its hash, which only the row keeps.
        assert info.token_id is not None
        assert re.fullmatch(r"[0-9a-f]{16}", info.token_id)
        assert info.token_id not in digest
        [record] = auth.list_tokens(app.db)
        assert (record.token_id, record.unsalted, record.state()) == (
            info.token_id, True, "active")
        assert record.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        new = create_token(app.db, "sales")  # new tokens beside it are salted
        assert [r.unsalted for r in auth.list_tokens(app.db)] == [True, False]
        assert lookup_token(app.db, new) is not None
        again = build_app(settings)  # another process: the id is kept, not made again
        try:
            assert lookup_token(again.db, old) == info
        finally:
            again.close()
        auth.revoke_token(app.db, info.token_id)
        assert store.lookup(old) is None
    finally:
        app.close()


@pytest.fixture
def cli_store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("O2C_DATABASE_URL", database_url)
    return database_url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tokens_commands(cli_store: str, settings: Settings) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["tokens", "create", "--role", "sales", "--name", "Dana",
                               "--expires-in", "30"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert made.stdout == token + "\n"
    assert TOKEN.fullmatch(token)
    forever = runner.invoke(cli, ["tokens", "create", "--role", "auditor"]).stdout.strip()
    dated = runner.invoke(cli, ["tokens", "create", "--role", "finance", "--name",
                                "[bold]Fin[/bold]", "--expires-at", "2999-01-01"])
    assert dated.exit_code == 0, dated.output
    for bad in (["--role", "janitor"], ["--role", "sales", "--expires-in", "0"],
                ["--role", "sales", "--expires-in", "x"],
                ["--role", "sales", "--expires-at", "2000-01-01"],
                ["--role", "sales", "--expires-at", "soon"],
                ["--role", "sales", "--expires-in", "1", "--expires-at", "2999-01-01"]):
        refused = runner.invoke(cli, ["tokens", "create", *bad])
        assert refused.exit_code == 2, bad
        assert refused.stdout == "", bad
    listed = runner.invoke(cli, ["tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["role"], r["name"], r["state"], r["revoked"]) for r in rows] == [
        ("sales", "Dana", "active", None), ("auditor", "auditor", "active", None),
        ("finance", "[bold]Fin[/bold]", "active", None)]
    assert rows[1]["expires"] is None
    assert rows[2]["expires"] == "2999-01-01T00:00:00+00:00"
    expires = datetime.fromisoformat(rows[0]["expires"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < expires <= timedelta(days=30)
    table = runner.invoke(cli, ["tokens", "list"])
    assert table.exit_code == 0
    assert "[bold]Fin[/bold]" in table.stdout  # a name is shown as written, not as markup
    for secret in (token, forever):
        assert secret[21:] not in listed.stdout + table.stdout
        assert secret[4:20] in listed.stdout
        assert secret[4:20] in table.stdout
    revoked = runner.invoke(cli, ["tokens", "revoke", token[4:20]])
    assert revoked.exit_code == 0, revoked.output
    assert token[4:20] in revoked.stdout
    app = build_app(settings)
    try:
        assert lookup_token(app.db, token) is None
        assert lookup_token(app.db, forever) is not None
    finally:
        app.close()
    states = [r["state"] for r in json.loads(
        runner.invoke(cli, ["tokens", "list", "--json"]).stdout)]
    assert states == ["revoked", "active", "active"]
    unknown = runner.invoke(cli, ["tokens", "revoke", "feedfacefeedface"])
    assert unknown.exit_code == 2
    assert "no token has the id" in unknown.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_listing_creates_nothing(cli_store: str, settings: Settings) -> None:
    runner = CliRunner()
    path = cli_store.removeprefix("sqlite:///")
    missing = runner.invoke(cli, ["tokens", "list"])
    assert missing.exit_code == 2
    assert not Path(path).exists()  # no store was made to list it
    build_app(settings).close()  # a store that never had a token
    listed = runner.invoke(cli, ["tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert TABLE not in tables
