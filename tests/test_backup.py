"""Back up and restore, as docs/operations.md tells an operator to: a store with real
orders is backed up while its application is open (``pg_dump`` of its schema; the
SQLite online backup API), restored into a fresh database or file, and the copy
passes ``o2c audit verify`` with the same count, head position and head hash, and
shows the same reports after its read models are rebuilt from its log alone. The
copy then takes new commands, its chain going on from the restored head.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest
from typer.testing import CliRunner

from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings
from support import sqlite_url

CTX = Context(actor="test")
REPORTS = ("trial-balance", "inventory", "ar-aging")
runner = CliRunner()


def _record_books(app: O2C) -> None:
    """Real business: stock at two costs, orders confirmed, shipped, invoiced, part paid,
    one cancelled, a manual journal entry."""
    app.register_stock_item(CTX, "BK-SENSOR", "Sensor")
    app.register_stock_item(CTX, "BK-GATEWAY", "Gateway")
    app.receive_stock(CTX, "BK-SENSOR", "100", "42.00")
    app.receive_stock(CTX, "BK-SENSOR", "50", "45.50")
    app.receive_stock(CTX, "BK-GATEWAY", "20", "310.00")
    customer = app.register_customer(CTX, "Apex Farms", "ap@apex.test",
                                     credit_limit="1000000.00").id
    for n in range(4):
        order = app.place_sales_order(CTX, customer, [
            {"sku": "BK-SENSOR", "quantity": str(10 + n * 15), "unit_price": "60.00"},
            {"sku": "BK-GATEWAY", "quantity": "1", "unit_price": "450.00"}]).id
        app.confirm_order(CTX, order)
        if n == 3:
            app.cancel_order(CTX, order, "postponed")
            continue
        app.ship_order(CTX, order, [{"sku": "BK-SENSOR", "quantity": str(10 + n * 15)},
                                    {"sku": "BK-GATEWAY", "quantity": "1"}])
        total = Decimal(app.invoice_order(CTX, order).extra["total"])
        if n:
            app.pay_order(CTX, order, str(total / n if n > 1 else total), f"ACH {n}")
    app.post_journal_entry(CTX, "Owner's capital", [{"account": "1000", "debit": "5000.00"},
                                                   {"account": "3000", "credit": "5000.00"}])


def _o2c(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("O2C_DATABASE_URL", url)
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, (args, result.output)
    return str(result.stdout)


def _reports(url: str, monkeypatch: pytest.MonkeyPatch, today: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in REPORTS:
        dated = ("--as-of", today) if name == "ar-aging" else ()
        found[name] = json.loads(_o2c(url, monkeypatch, "report", name, *dated,
                                      "--format", "json"))
    return found


@contextmanager
def _restored_postgres(url: str, folder: Path) -> Iterator[str]:
    """``pg_dump`` of the store's schema, ``pg_restore`` into a new database (dropped
    afterwards); the restored store's URL."""
    base, schema = url.split("?", maxsplit=1)[0], parse_qs(urlparse(url).query)["schema"][0]
    dump = folder / "o2c.dump"
    subprocess.run([shutil.which("pg_dump") or "pg_dump", "--format=custom",
                    f"--schema={schema}", f"--file={dump}", base],
                   check=True, capture_output=True, timeout=120)
    fresh = "o2c_restore_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{fresh}"')
    target = base.rsplit("/", 1)[0] + "/" + fresh
    try:
        subprocess.run([shutil.which("pg_restore") or "pg_restore", "--exit-on-error",
                        "--no-owner", f"--dbname={target}", str(dump)],
                       check=True, capture_output=True, timeout=120)
        yield f"{target}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


@contextmanager
def _restored_sqlite(url: str, folder: Path) -> Iterator[str]:
    """The SQLite online backup API (``Connection.backup``) into a new file, which is
    the restored store (a SQLite backup is a whole database)."""
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    copy_folder = folder / "restored"
    copy_folder.mkdir()
    copy = sqlite3.connect(copy_folder / "o2c.sqlite3")
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    yield sqlite_url(copy_folder)


def _verdict(text: str) -> tuple[int, int, str]:
    """(events, head position, head hash) from ``o2c audit verify``'s line."""
    found = re.fullmatch(r"OK (\d+) events, head position (\d+), head hash ([0-9a-f]{64})\n",
                         text)
    assert found, text
    return int(found[1]), int(found[2]), found[3]


def test_a_backup_restores_the_same_log_and_the_same_books(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = build_app(Settings(database_url=database_url))
    restore = _restored_postgres if app.db.postgres else _restored_sqlite
    if app.db.postgres:
        assert shutil.which("pg_dump"), "pg_dump is needed to back up PostgreSQL"
    today = datetime.now(UTC).date().isoformat()
    open_app = True
    try:
        _record_books(app)
        head = app.db.head()
        # Online: the application is still open (and its pool connected) meanwhile.
        with restore(database_url, tmp_path) as restored:
            app.close()
            open_app = False
            verdict = _o2c(database_url, monkeypatch, "audit", "verify")
            assert _verdict(verdict)[1] == head
            books = _reports(database_url, monkeypatch, today)
            assert Decimal(books["trial-balance"]["totals"]["debit"]) > 0  # type: ignore[index]

            assert _o2c(restored, monkeypatch, "audit", "verify") == verdict
            _o2c(restored, monkeypatch, "projections", "rebuild")
            assert _reports(restored, monkeypatch, today) == books

            # The copy goes on: a new command extends the restored chain.
            copy = build_app(Settings(database_url=restored))
            try:
                position = copy.receive_stock(CTX, "BK-GATEWAY", "1", "310.00").position
            finally:
                copy.close()
            assert position > head
            events, last, _ = _verdict(_o2c(restored, monkeypatch, "audit", "verify"))
            assert (events, last) == (_verdict(verdict)[0] + 2, position)  # item + its entry
    finally:
        if open_app:
            app.close()
